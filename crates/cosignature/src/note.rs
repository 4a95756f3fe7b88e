//! A signed note split into its text and signature lines.

use signed_note::Signature;

use crate::Error;

/// A signed note: the text (ending in a newline) and its signature lines, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitNote<'a> {
    /// The note text, including its final newline, excluding the blank separator line.
    pub text: &'a [u8],
    /// The signature lines, parsed but not verified.
    pub sigs: Vec<Signature>,
}

/// Splits a signed note (per c2sp.org/signed-note, as checked by `signed_note::Note`) into its
/// text and signature lines. Nothing is verified.
pub fn split_note(note: &[u8]) -> Result<SplitNote<'_>, Error> {
    // signed_note enforces the size limit, UTF-8, no control characters, at least one
    // well-formed signature line and at most 100.
    signed_note::Note::from_bytes(note).map_err(|_| Error::MalformedNote)?;
    let split = note
        .windows(2)
        .rposition(|w| w == b"\n\n")
        .ok_or(Error::MalformedNote)?;
    let text = &note[..=split];
    let sig_block = &note[split + 2..];
    let sig_block = sig_block.strip_suffix(b"\n").ok_or(Error::MalformedNote)?;
    let sigs = sig_block
        .split(|&b| b == b'\n')
        .map(|line| Signature::from_bytes(line).map_err(|_| Error::MalformedNote))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SplitNote { text, sigs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_last_blank_line() {
        let n = b"a\n\nb\n\n\xe2\x80\x94 k AAAAAQE=\n";
        let s = split_note(n).expect("valid");
        assert_eq!(s.text, b"a\n\nb\n");
        assert_eq!(s.sigs.len(), 1);
        assert_eq!(s.sigs[0].name(), "k");
        assert_eq!(s.sigs[0].id(), 1);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"a\n"[..],
            b"a\n\n",
            b"a\n\n\xe2\x80\x94 k AAAAAQE=",
            b"a\n\n\xe2\x80\x94 k AAAAAQE=\n\n",
            b"a\r\n\n\xe2\x80\x94 k AAAAAQE=\n",
            b"a\n\n- k AAAAAQE=\n",
        ] {
            assert!(split_note(bad).is_err(), "{bad:?}");
        }
    }
}
