//! Text fields: UTF-8, Unicode NFC, bounded length, no control characters.
//!
//! Single-line fields (names, titles, aliases) admit no control character at
//! all. Multi-line fields (statements, messages, policies) admit U+000A LINE
//! FEED and no other control character. Every text field must already be in
//! NFC: the encoding is canonical, so the decoder never normalises, it rejects.
//! Bidirectional-override characters are *not* control characters and are
//! allowed; renderers must isolate them.

use unicode_normalization::{IsNormalized, is_nfc_quick};

use crate::error::DecodeError;

/// Which characters a text field admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// Must not be empty; no control characters.
    SingleLine,
    /// May be empty; no control characters.
    SingleLineOptional,
    /// Must not be empty; LF allowed.
    MultiLine,
    /// May be empty; LF allowed.
    MultiLineOptional,
}

/// Validates a text field. `max` is its maximum length in UTF-8 bytes.
pub fn check_text(
    field: &'static str,
    s: &str,
    kind: TextKind,
    max: usize,
) -> Result<(), DecodeError> {
    if s.len() > max {
        return Err(DecodeError::FieldTooLong { field, max });
    }
    let optional = matches!(
        kind,
        TextKind::SingleLineOptional | TextKind::MultiLineOptional
    );
    if s.is_empty() && !optional {
        return Err(DecodeError::EmptyField { field });
    }
    let multi = matches!(kind, TextKind::MultiLine | TextKind::MultiLineOptional);
    if s.chars().any(|c| c.is_control() && !(multi && c == '\n')) {
        return Err(DecodeError::InvalidText { field });
    }
    let nfc = match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => true,
        IsNormalized::No => false,
        IsNormalized::Maybe => unicode_normalization::is_nfc(s),
    };
    if !nfc {
        return Err(DecodeError::NotNfc { field });
    }
    Ok(())
}

/// Normalises user input to NFC (for tools that build entries from typed text).
pub fn to_nfc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect()
}
