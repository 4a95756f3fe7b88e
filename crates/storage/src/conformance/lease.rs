//! The sequencer lease: one holder, growing fencing tokens.

use std::time::Duration;

use crate::{SequencerLease, StorageError};

const TTL: Duration = Duration::from_secs(60);

/// Runs every check on a lease no one holds: `a` and `b` are two handles
/// on the same lease, as two sequencer processes would have.
pub fn lease(a: &dyn SequencerLease, b: &dyn SequencerLease) {
    let t1 = a.try_acquire("sequencer-a", TTL).unwrap();
    match b.try_acquire("sequencer-b", TTL) {
        Err(StorageError::LeaseHeld { .. }) => {}
        other => panic!("a second holder: {other:?}"),
    }
    a.renew(t1, TTL).unwrap();
    a.release(t1).unwrap();
    let t2 = b.try_acquire("sequencer-b", TTL).unwrap();
    assert!(t2 > t1, "fencing tokens grow: {t1:?} then {t2:?}");
    match a.renew(t1, TTL) {
        Err(StorageError::LeaseLost { token }) => assert_eq!(token, t1.0),
        other => panic!("renewing a superseded lease: {other:?}"),
    }
    match a.try_acquire("sequencer-a", TTL) {
        Err(StorageError::LeaseHeld { .. }) => {}
        other => panic!("taking a held lease: {other:?}"),
    }
    b.renew(t2, TTL).unwrap();
    b.release(t2).unwrap();
    let t3 = a.try_acquire("sequencer-a", TTL).unwrap();
    assert!(t3 > t2);
    a.release(t3).unwrap();
}
