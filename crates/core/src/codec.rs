//! Strict big-endian primitives for the canonical entry encoding.
//!
//! Every read is bounds-checked; nothing here allocates more than the input it
//! was given, so a hostile length prefix cannot make the decoder reserve memory.

use crate::error::DecodeError;
use crate::text::{TextKind, check_text};

/// Appends canonical encodings to a buffer.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn fixed(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// A u16 length prefix and the bytes. A field longer than 65535 bytes is
    /// written with the prefix 65535 and all its bytes, which no decoder
    /// accepts: `Entry::build` then reports it instead of panicking.
    pub(crate) fn var16(&mut self, v: &[u8]) {
        let len = u16::try_from(v.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(v);
    }
    pub(crate) fn text(&mut self, v: &str) {
        self.var16(v.as_bytes());
    }
}

/// Reads canonical encodings from a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(DecodeError::Truncated { field })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let b = self.array::<4>(field)?;
        Ok(u32::from_be_bytes(b))
    }
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let b = self.array::<8>(field)?;
        Ok(u64::from_be_bytes(b))
    }
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }
    pub(crate) fn var16(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let len = u16::from_be_bytes(self.array::<2>(field)?) as usize;
        if len > max {
            return Err(DecodeError::FieldTooLong { field, max });
        }
        self.take(len, field)
    }
    pub(crate) fn text(
        &mut self,
        field: &'static str,
        kind: TextKind,
        max: usize,
    ) -> Result<String, DecodeError> {
        let raw = self.var16(field, max)?;
        let s = std::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8 { field })?;
        check_text(field, s, kind, max)?;
        Ok(s.to_owned())
    }
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.buf.len() - self.pos,
            })
        }
    }
}
