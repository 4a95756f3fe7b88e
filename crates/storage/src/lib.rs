//! The log's storage, as narrow interfaces with no I/O in them.
//!
//! One trait per storage role, the way Tessera and Sunlight split it:
//!
//! * [`TileStore`]: the C2SP static tree's tiles and entry bundles (what a
//!   static file server or a CDN serves to the public);
//! * [`CheckpointStore`]: the checkpoint of record, replaced only by
//!   compare-and-swap — **the commit point** of a sequencing round — and then
//!   published after the round's tiles;
//! * [`DerivedWriter`]: the derived state's writer (apply a round, reset,
//!   rebuild from the log), and [`ReadModel`]: everything the HTTP API and the
//!   dashboard read from it, with one set of queries and one set of row types
//!   ([`rows`]);
//! * [`SequencerLease`]: at most one sequencer at a time, with a fencing token.
//!
//! The backends live beside their I/O: the file system + SQLite in
//! `headcount-server` (the default), PostgreSQL + S3-compatible object
//! storage in `headcount-scaleout`. Every backend passes the same
//! [`conformance`] suite. [`durable`] holds the fsync-correct file helpers
//! every crate that writes files uses.
//!
//! The traits are blocking: call them from a blocking thread (the sequencer's,
//! or `tokio::task::spawn_blocking`), as the SQLite backend always required.

#![forbid(unsafe_code)]

pub mod checkpoint;
#[doc(hidden)]
pub mod conformance;
pub mod derived;
pub mod durable;
pub mod error;
pub mod lease;
pub mod read;
pub mod rows;
pub mod tiles;

pub use checkpoint::CheckpointStore;
pub use derived::{AppliedLeaf, DerivedWriter, SignedTally};
pub use error::StorageError;
pub use lease::{FencingToken, SequencerLease};
pub use read::ReadModel;
pub use rows::*;
pub use tiles::{Tidied, TileStore};
