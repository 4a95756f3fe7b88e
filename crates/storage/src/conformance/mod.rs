//! The conformance suite: the same checks for every storage backend
//! (Tessera's way). Each backend's tests call these functions on a fresh
//! store of their own; a failed check panics with what differed.
//!
//! * [`derived_state`]: the derived-state writer and the read model agree,
//!   query by query, on a small log that has every entry type;
//! * [`checkpoint_cas`]: the commit point refuses a stale or missing
//!   predecessor and changes nothing when it does, and publishing makes a
//!   round's tiles readable;
//! * [`lease`]: one holder at a time, growing fencing tokens, a released or
//!   superseded token refused.

mod checkpoint;
mod derived;
mod fixture;
mod lease;

pub use checkpoint::checkpoint_cas;
pub use derived::derived_state;
pub use lease::lease;
