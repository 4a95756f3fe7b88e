//! Reading a signed checkpoint note for display: its body, and who signed it.
//!
//! A C2SP signed note is the text, a blank line, and signature lines
//! `— <key name> <base64(key id || signature)>`. The line whose key name is
//! the log's origin is the log's own signature; every other line is a
//! cosignature (C2SP tlog-cosignature: a witness's key name, and for
//! `cosignature/v1` an 8-byte timestamp before the Ed25519 signature).
//! Nothing here verifies a signature: this is for showing, the CLI verifies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigLine {
    /// The key name.
    pub name: String,
    /// The 4-byte key id, hex.
    pub key_id: String,
    /// For a `cosignature/v1` signature (4 + 8 + 64 bytes): its timestamp.
    pub timestamp: Option<u64>,
}

/// A note split for display.
#[derive(Clone, Debug, Default)]
pub struct NoteView {
    /// The signed text (the checkpoint body).
    pub body: String,
    /// The log's own signatures (key name = origin).
    pub log_sigs: Vec<SigLine>,
    /// Everything else: witness cosignatures.
    pub cosigs: Vec<SigLine>,
}

/// Splits `note` into its body and signature lines; `origin` is the log's key name.
pub fn parse(note: &[u8], origin: &str) -> NoteView {
    let text = String::from_utf8_lossy(note);
    let (body, sigs) = match text.find("\n\n") {
        Some(i) => (&text[..i + 1], &text[i + 2..]),
        None => (&text[..], ""),
    };
    let mut v = NoteView {
        body: body.to_owned(),
        ..Default::default()
    };
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((name, sig)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(bytes) = B64.decode(sig) else { continue };
        if bytes.len() < 4 {
            continue;
        }
        let timestamp = (bytes.len() == 4 + 8 + 64).then(|| {
            let mut t = [0u8; 8];
            t.copy_from_slice(&bytes[4..12]);
            u64::from_be_bytes(t)
        });
        let s = SigLine {
            name: name.to_owned(),
            key_id: hex::encode(&bytes[..4]),
            timestamp,
        };
        if name == origin {
            v.log_sigs.push(s);
        } else {
            v.cosigs.push(s);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_log_signature_and_cosignatures() {
        let log_sig = B64.encode([1u8; 4 + 64]);
        let mut cosig = vec![9u8, 8, 7, 6];
        cosig.extend_from_slice(&1_700_000_000u64.to_be_bytes());
        cosig.extend_from_slice(&[0u8; 64]);
        let note = format!(
            "example.org/log\n12\nAAAA\n\n\u{2014} example.org/log {log_sig}\n\u{2014} witness.example {}\n",
            B64.encode(&cosig)
        );
        let v = parse(note.as_bytes(), "example.org/log");
        assert_eq!(v.body, "example.org/log\n12\nAAAA\n");
        assert_eq!(v.log_sigs.len(), 1);
        assert_eq!(v.log_sigs[0].key_id, "01010101");
        assert_eq!(v.log_sigs[0].timestamp, None);
        assert_eq!(v.cosigs.len(), 1);
        assert_eq!(v.cosigs[0].name, "witness.example");
        assert_eq!(v.cosigs[0].key_id, "09080706");
        assert_eq!(v.cosigs[0].timestamp, Some(1_700_000_000));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let v = parse(b"o\n1\nx\n\nnot a sig\n\xe2\x80\x94 k !!!\n", "o");
        assert!(v.log_sigs.is_empty() && v.cosigs.is_empty());
    }
}
