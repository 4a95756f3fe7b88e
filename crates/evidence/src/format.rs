//! The packet container: a ZIP archive (stored, no compression) with a fixed
//! set of file names, the first of which, `mimetype`, names the format as in
//! EPUB and OpenDocument. `docs/evidence-packet.md` describes it byte by byte.
//!
//! Reading is strict: every name must be one this version defines, each at
//! most once, each under its size limit, and the archive as a whole under
//! [`MAX_PACKET`]; anything else is refused before a byte is interpreted.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use headcount_tlog::TileId;
use serde::{Deserialize, Serialize};

use crate::claims::Claims;
use crate::error::PacketError;

/// The `mimetype` file's exact contents (the archive's first entry, stored).
pub const MIMETYPE: &str = "application/vnd.headcount.evidence+zip";
/// `packet.json`'s `format` field.
pub const FORMAT: &str = "headcount-evidence";
/// The version this code writes and reads.
pub const VERSION: u32 = 1;

/// Largest packet read (a full packet of a log of about 20 million entries).
pub const MAX_PACKET: u64 = 16 << 30;
/// Largest `packet.json`.
pub const MAX_MANIFEST: u64 = 64 << 20;
/// Largest `entries.bin` (compact mode).
pub const MAX_ENTRIES_FILE: u64 = 8 << 30;
/// Largest report (HTML or PDF).
pub const MAX_REPORT: u64 = 64 << 20;
/// Largest checkpoint, policy, attestation or text file.
pub const MAX_SMALL: u64 = 1 << 20;
/// Largest entry bundle (256 entries of at most 64 KiB, with their length prefixes).
pub const MAX_BUNDLE: u64 = 256 * (64 * 1024 + 2);

/// Full (the whole log prefix: the count is recomputed exactly) or compact
/// (the campaign's entries with inclusion proofs: a lower bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Full,
    Compact,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Compact => "compact",
        }
    }
}

/// An auditor's attestation as the packet carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationRef {
    /// The auditor's signed-note verifier key (`name+hash+base64`).
    pub auditor_vkey: String,
    /// The note's file in the archive: `attestations/<n>.note`.
    pub file: String,
    /// The attested tree size (also inside the signed note).
    pub tree_size: u64,
    /// RFC 6962 consistency proof from the attested tree to the checkpoint's,
    /// standard base64 hashes (empty when the sizes are equal).
    pub consistency: Vec<String>,
}

/// `packet.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for this code.
    pub version: u32,
    pub mode: Mode,
    /// What wrote the packet (informational).
    pub generator: String,
    /// When it was written, Unix seconds (informational: nothing is proven by it).
    pub created: u64,
    /// The log's signed-note verifier key.
    pub log_key: String,
    /// Tree size of the checkpoint in `checkpoint` (also inside it).
    pub tree_size: u64,
    /// Whether `policy.txt` (a C2SP tlog-policy) is present.
    pub witness_policy: bool,
    pub attestations: Vec<AttestationRef>,
    /// Whether `report.pdf` is present.
    pub pdf: bool,
    /// What the packet states about the campaign: recomputed by `verify`.
    pub claims: Claims,
}

/// Names a packet may hold, besides tiles (full) and attestations.
pub const MANIFEST: &str = "packet.json";
pub const CHECKPOINT: &str = "checkpoint";
pub const POLICY: &str = "policy.txt";
pub const README: &str = "README.txt";
pub const REPORT_HTML: &str = "report.html";
pub const REPORT_PDF: &str = "report.pdf";
pub const ENTRIES: &str = "entries.bin";

/// A packet in memory: the manifest and every other file by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub manifest: Manifest,
    /// Every file but `mimetype` and `packet.json`, by archive path.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The size limit of a file name this version defines; `None` for names it does not.
fn limit(name: &str) -> Option<u64> {
    match name {
        "mimetype" => Some(MIMETYPE.len() as u64),
        MANIFEST => Some(MAX_MANIFEST),
        CHECKPOINT | POLICY | README => Some(MAX_SMALL),
        REPORT_HTML | REPORT_PDF => Some(MAX_REPORT),
        ENTRIES => Some(MAX_ENTRIES_FILE),
        _ => {
            if let Some(n) = name.strip_prefix("attestations/")
                && let Some(n) = n.strip_suffix(".note")
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
            {
                return Some(MAX_SMALL);
            }
            let id = TileId::parse_path(name).ok()?;
            // Only canonical paths: the name must be what the id prints.
            if id.path() != name {
                return None;
            }
            Some(if id.level.is_none() {
                MAX_BUNDLE
            } else {
                256 * 32
            })
        }
    }
}

impl Packet {
    /// The archive's bytes. Entries are stored (not compressed: hashes and
    /// signatures do not compress), in a fixed order with a fixed timestamp,
    /// so the same packet always gives the same bytes.
    pub fn to_zip(&self) -> Result<Vec<u8>, PacketError> {
        let manifest = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| PacketError::Write(e.to_string()))?;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(zip::DateTime::default())
            .large_file(false)
            .unix_permissions(0o644);
        let big = opts.large_file(true);
        let mut put = |name: &str, data: &[u8]| -> Result<(), PacketError> {
            let o = if data.len() as u64 >= u32::MAX as u64 {
                big
            } else {
                opts
            };
            w.start_file(name, o)
                .map_err(|e| PacketError::Write(e.to_string()))?;
            w.write_all(data)
                .map_err(|e| PacketError::Write(e.to_string()))
        };
        put("mimetype", MIMETYPE.as_bytes())?;
        put(MANIFEST, &manifest)?;
        for (name, data) in &self.files {
            if limit(name).is_none() || name == "mimetype" || name == MANIFEST {
                return Err(PacketError::Write(format!("no such packet file: {name}")));
            }
            put(name, data)?;
        }
        let out = w.finish().map_err(|e| PacketError::Write(e.to_string()))?;
        Ok(out.into_inner())
    }

    /// Reads an archive, strictly (see the module docs).
    pub fn from_zip(bytes: &[u8]) -> Result<Packet, PacketError> {
        if bytes.len() as u64 > MAX_PACKET {
            return Err(PacketError::Format(format!(
                "{} bytes: larger than the {} GiB a packet may have",
                bytes.len(),
                MAX_PACKET >> 30
            )));
        }
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| PacketError::Format(format!("not a ZIP archive: {e}")))?;
        let mut files = BTreeMap::new();
        let mut mimetype = None;
        let mut manifest = None;
        for i in 0..archive.len() {
            let mut f = archive
                .by_index(i)
                .map_err(|e| PacketError::Format(format!("archive entry {i}: {e}")))?;
            let name = f.name().to_owned();
            if f.is_dir() {
                continue;
            }
            let max = limit(&name)
                .ok_or_else(|| PacketError::Format(format!("unexpected file {name:?}")))?;
            if f.size() > max {
                return Err(PacketError::Format(format!(
                    "{name}: {} bytes, more than the {max} allowed",
                    f.size()
                )));
            }
            let mut data = Vec::with_capacity(f.size() as usize);
            (&mut f)
                .take(max + 1)
                .read_to_end(&mut data)
                .map_err(|e| PacketError::Format(format!("{name}: {e}")))?;
            if data.len() as u64 > max {
                return Err(PacketError::Format(format!("{name}: larger than allowed")));
            }
            let slot = match name.as_str() {
                "mimetype" => &mut mimetype,
                MANIFEST => &mut manifest,
                _ => {
                    if files.insert(name.clone(), data).is_some() {
                        return Err(PacketError::Format(format!("{name} appears twice")));
                    }
                    continue;
                }
            };
            if slot.replace(data).is_some() {
                return Err(PacketError::Format(format!("{name} appears twice")));
            }
        }
        if mimetype.as_deref() != Some(MIMETYPE.as_bytes()) {
            return Err(PacketError::Format(format!(
                "not a headcount evidence packet (no mimetype {MIMETYPE:?})"
            )));
        }
        let manifest =
            manifest.ok_or_else(|| PacketError::Format(format!("{MANIFEST} is missing")))?;
        let head: serde_json::Value = serde_json::from_slice(&manifest)
            .map_err(|e| PacketError::Format(format!("{MANIFEST}: {e}")))?;
        if head["format"] != FORMAT {
            return Err(PacketError::Format(format!(
                "{MANIFEST}: format is not {FORMAT:?}"
            )));
        }
        if head["version"] != VERSION {
            return Err(PacketError::Version(head["version"].to_string()));
        }
        let manifest: Manifest = serde_json::from_value(head)
            .map_err(|e| PacketError::Format(format!("{MANIFEST}: {e}")))?;
        Ok(Packet { manifest, files })
    }

    /// A file's bytes, or why not.
    pub fn file(&self, name: &str) -> Result<&[u8], PacketError> {
        self.files
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| PacketError::Format(format!("{name} is missing")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive with exactly these members, stored.
    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in members {
            w.start_file(*name, o).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn err(bytes: &[u8]) -> String {
        Packet::from_zip(bytes).unwrap_err().to_string()
    }

    #[test]
    fn names_types_versions_and_sizes_are_checked_before_anything_else() {
        let mt = MIMETYPE.as_bytes();
        let head = br#"{"format":"headcount-evidence","version":1}"#;
        assert!(err(b"not a zip").contains("not a ZIP archive"));
        assert!(err(&zip_of(&[("packet.json", head)])).contains("no mimetype"));
        assert!(
            err(&zip_of(&[
                ("mimetype", b"application/zip"),
                ("packet.json", head)
            ]))
            .contains("no mimetype")
        );
        assert!(err(&zip_of(&[("mimetype", mt)])).contains("packet.json is missing"));
        assert!(
            err(&zip_of(&[
                ("mimetype", mt),
                ("packet.json", head),
                ("evil.sh", b"x")
            ]))
            .contains("unexpected file \"evil.sh\"")
        );
        // Tile paths must be canonical; a path that climbs out is no tile.
        assert!(
            err(&zip_of(&[
                ("mimetype", mt),
                ("packet.json", head),
                ("tile/0/0", b"x")
            ]))
            .contains("unexpected file")
        );
        assert!(
            err(&zip_of(&[
                ("mimetype", mt),
                ("packet.json", head),
                ("../tile/0/000", b"x")
            ]))
            .contains("unexpected file")
        );
        assert!(
            err(&zip_of(&[
                ("mimetype", mt),
                ("packet.json", head),
                ("attestations/x.note", b"x")
            ]))
            .contains("unexpected file")
        );
        // Over a member's limit.
        let big = vec![b'a'; (MAX_SMALL + 1) as usize];
        assert!(
            err(&zip_of(&[
                ("mimetype", mt),
                ("packet.json", head),
                ("checkpoint", &big)
            ]))
            .contains("more than the")
        );
        // Another version or format is refused by name.
        let v2 = br#"{"format":"headcount-evidence","version":2}"#;
        assert_eq!(
            Packet::from_zip(&zip_of(&[("mimetype", mt), ("packet.json", v2)])),
            Err(PacketError::Version("2".into()))
        );
        let other = br#"{"format":"something-else","version":1}"#;
        assert!(
            err(&zip_of(&[("mimetype", mt), ("packet.json", other)])).contains("format is not")
        );
        // Well-formed header, but the manifest is incomplete.
        assert!(err(&zip_of(&[("mimetype", mt), ("packet.json", head)])).contains("missing field"));
    }
}
