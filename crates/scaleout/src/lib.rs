//! Scale-out storage for the headcount log (issue 14).
//!
//! * [`pg`]: PostgreSQL behind the `headcount_storage` traits: the derived
//!   state's writer and read model, the sequencer lease (a lease row with a
//!   fencing token that every write checks), and the commit point (the
//!   checkpoint of record with the round's staged tiles, compare-and-swapped
//!   in one transaction, then published to any [`headcount_storage::TileStore`]).
//! * [`s3`]: tiles, bundles and the public checkpoint in S3-compatible object
//!   storage (`object_store`), tiles create-only;
//! * [`log_storage::postgres`]: a log's [`headcount_server::Storage`] on it;
//! * [`cluster`]: a throw-away PostgreSQL cluster (`initdb` + `pg_ctl`) for
//!   tests and benchmarks.

#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod cluster;
pub mod log_storage;
pub mod pg;
pub mod s3;
