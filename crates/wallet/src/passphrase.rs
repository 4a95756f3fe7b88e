//! Passphrases: from a string, a file (`--passphrase-file`) or the terminal without echo.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::Error;

/// Least zxcvbn score (0–4) a new passphrase needs: 3, "safely unguessable: moderate
/// protection from offline slow-hash scenario" (about 10^10 guesses), which Argon2id
/// makes far slower still.
pub const MIN_STRENGTH_SCORE: u8 = 3;

/// Largest passphrase file read (bytes); only its first line is used.
pub const MAX_PASSPHRASE_FILE: u64 = 64 * 1024;

/// A passphrase, normalised to Unicode NFC (so that the same words typed on two keyboards or
/// systems give the same key) and never empty. Zeroized on drop; `Debug` prints nothing.
///
/// Copies made by the caller, by the terminal or by the normaliser's own growth are outside its
/// control: zeroization is best effort.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// From a string: NFC-normalised; empty is refused.
    pub fn new(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        // NFC output is at most 3× the input (UAX #15); reserve so that it never reallocates.
        let mut out = Zeroizing::new(String::with_capacity(s.len() * 3 + 4));
        out.extend(s.nfc());
        Ok(Self(out))
    }

    /// The first line of a file, without its line ending (`\n` or `\r\n`). The file must be
    /// UTF-8; at most [`MAX_PASSPHRASE_FILE`] bytes are read.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE_FILE as usize + 1));
        File::open(path)
            .and_then(|f| f.take(MAX_PASSPHRASE_FILE).read_to_end(&mut buf))
            .map_err(Error::PassphraseFile)?;
        let line = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => &buf[..i],
            None => &buf[..],
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let s = std::str::from_utf8(line).map_err(|_| Error::PassphraseNotUtf8)?;
        Self::new(s)
    }

    /// Reads a passphrase from the terminal without echo (`rpassword`).
    pub fn prompt(prompt: &str) -> Result<Self, Error> {
        let s = Zeroizing::new(rpassword::prompt_password(prompt).map_err(Error::Terminal)?);
        Self::new(&s)
    }

    /// Reads a new passphrase twice from the terminal without echo; they must match.
    pub fn prompt_new(prompt: &str, confirm: &str) -> Result<Self, Error> {
        let a = Self::prompt(prompt)?;
        let b = Self::prompt(confirm)?;
        if a.expose_bytes() != b.expose_bytes() {
            return Err(Error::PassphraseMismatch);
        }
        Ok(a)
    }

    /// Refuses a passphrase that the zxcvbn strength estimator scores below
    /// [`MIN_STRENGTH_SCORE`] (of 4), with its warning when it has one. For new passphrases:
    /// an existing wallet still opens whatever its passphrase. `context` are words an attacker
    /// would try first (the wallet's file name, the user's name).
    pub fn check_strength(&self, context: &[&str]) -> Result<(), Error> {
        let estimate = zxcvbn::zxcvbn(&self.0, context);
        if (estimate.score() as u8) >= MIN_STRENGTH_SCORE {
            return Ok(());
        }
        let warning = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        Err(Error::WeakPassphrase(warning))
    }

    /// The UTF-8 bytes fed to Argon2id.
    pub(crate) fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}
