//! # headcount-tlog
//!
//! The pure transparency-log layer of headcount: no I/O except through the [`TileReader`] trait.
//!
//! - [RFC 6962] Merkle tree hashing ([`leaf_hash`], [`node_hash`]).
//! - [C2SP tlog-tiles] tile and entry-bundle coordinates and paths ([`TileId`],
//!   [`tiles_for_size`]), bundle encoding ([`encode_bundle`], [`decode_bundle`]).
//! - The right edge of the tree ([`Appender`]): append entries, get back every changed tile.
//! - Inclusion and consistency proofs over stored tiles, and their verification
//!   ([`inclusion_proof`], [`consistency_proof`], [`verify_inclusion`], [`verify_consistency`]).
//! - [C2SP tlog-checkpoint] checkpoints signed as [C2SP signed-note]s with Ed25519
//!   ([`Checkpoint`], [`LogSigner`], [`LogVerifier`]).
//! - [C2SP tlog-proof] offline proofs ([`TlogProof`]).
//!
//! The Merkle algorithms come from Cloudflare's `tlog_tiles` (a port of Go's `sumdb/tlog`); the
//! tests check them against an independent recursive RFC 6962 implementation.
//!
//! ```
//! use headcount_tlog::*;
//!
//! # fn main() -> Result<(), Error> {
//! let (signer, _skey, vkey) = LogSigner::generate("example.com/log")?;
//! let mut edge = Appender::empty();
//! let mut store = MemoryTiles::default(); // the server writes these files instead
//! let out = edge.append(&[b"hello".to_vec(), b"world".to_vec()])?;
//! store.store(&out);
//! let cp = Checkpoint { origin: "example.com/log".into(), size: out.size, root: out.root, extensions: vec![] };
//! let note = signer.sign(&cp)?; // written after the tiles: the commit point
//!
//! let index = LeafIndex(1);
//! let proof = inclusion_proof(&store, out.size, out.root, index)?;
//! let receipt = TlogProof { extra: None, index, proof, checkpoint: note };
//! let text = receipt.to_text();
//!
//! let log = LogVerifier::from_vkey(&vkey)?;
//! let checked = TlogProof::parse(text.as_bytes())?.verify(leaf_hash(b"world"), &log)?;
//! assert_eq!(checked.size, TreeSize(2));
//! # Ok(()) }
//! ```
//!
//! [RFC 6962]: https://www.rfc-editor.org/rfc/rfc6962.html
//! [C2SP tlog-tiles]: https://c2sp.org/tlog-tiles
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP signed-note]: https://c2sp.org/signed-note
//! [C2SP tlog-proof]: https://c2sp.org/tlog-proof
#![forbid(unsafe_code)]

mod checkpoint;
mod error;
mod proof;
mod tile;
mod tree;

pub use checkpoint::{Checkpoint, LogSigner, LogVerifier};
pub use error::Error;
pub use proof::TlogProof;
pub use tile::{
    MAX_ENTRY_SIZE, TileId, check_bundle, decode_bundle, encode_bundle, tile_hash, tile_prefix,
    tiles_for_size,
};
pub use tlog_tiles::Hash;
pub use tree::{
    AppendOutput, Appender, MemoryTiles, TileReader, consistency_proof, inclusion_proof, tree_root,
    verify_consistency, verify_inclusion, verify_tiles,
};

/// Width of a full tile (hashes per tile, entries per bundle); tile height 8.
pub const TILE_WIDTH: u64 = 256;

/// Size in bytes of one hash in a tile.
pub const HASH_SIZE: usize = 32;

/// RFC 6962 hash of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = tlog_tiles::EMPTY_HASH;

/// Zero-based index of an entry in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafIndex(pub u64);

/// Number of entries in a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TreeSize(pub u64);

impl std::fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TreeSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// RFC 6962 leaf hash: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    tlog_tiles::record_hash(entry)
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: Hash, right: Hash) -> Hash {
    tlog_tiles::node_hash(left, right)
}
