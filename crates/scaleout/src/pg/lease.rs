//! The sequencer lease on PostgreSQL: one row, whose token grows with every
//! takeover. A holder renews it well within its time to live; a standby
//! takes it only once it has expired. Every write of the derived state and
//! every checkpoint swap checks the token in its own transaction
//! (`super::check_fence`), so a holder that stalled past its lease (a long
//! pause, a partition) cannot write after a standby took over.

use std::time::Duration;

use headcount_storage::{FencingToken, SequencerLease, StorageError};

use super::{PgStore, pg_err};

/// The lease row; see [`SequencerLease`].
pub struct PgLease {
    store: PgStore,
}

impl PgLease {
    pub(super) fn new(store: PgStore) -> Self {
        PgLease { store }
    }
}

impl SequencerLease for PgLease {
    fn try_acquire(&self, holder: &str, ttl: Duration) -> Result<FencingToken, StorageError> {
        let ttl = ttl.as_secs_f64();
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            let row = tx
                .query_opt(
                    "SELECT holder, expires > clock_timestamp() FROM lease WHERE id = 1 FOR UPDATE",
                    &[],
                )
                .await
                .map_err(pg_err)?;
            let token = match row {
                Some(r) if r.get::<_, bool>(1) => {
                    return Err(StorageError::LeaseHeld { holder: r.get(0) });
                }
                Some(_) => tx
                    .query_one(
                        "UPDATE lease SET token = token + 1, holder = $1,
                           expires = clock_timestamp() + make_interval(secs => $2)
                         WHERE id = 1 RETURNING token",
                        &[&holder, &ttl],
                    )
                    .await
                    .map_err(pg_err)?
                    .get::<_, i64>(0),
                None => {
                    let inserted = tx
                        .query_opt(
                            "INSERT INTO lease (id, token, holder, expires)
                             VALUES (1, 1, $1, clock_timestamp() + make_interval(secs => $2))
                             ON CONFLICT (id) DO NOTHING RETURNING token",
                            &[&holder, &ttl],
                        )
                        .await
                        .map_err(pg_err)?;
                    match inserted {
                        Some(r) => r.get::<_, i64>(0),
                        None => {
                            return Err(StorageError::LeaseHeld {
                                holder: "another sequencer (starting)".into(),
                            });
                        }
                    }
                }
            };
            tx.commit().await.map_err(pg_err)?;
            Ok(FencingToken(token as u64))
        })
    }

    fn renew(&self, token: FencingToken, ttl: Duration) -> Result<(), StorageError> {
        let ttl = ttl.as_secs_f64();
        self.store.block(async {
            let c = self.store.pool().get().await.map_err(pg_err)?;
            let n = c
                .execute(
                    "UPDATE lease SET expires = clock_timestamp() + make_interval(secs => $2)
                     WHERE id = 1 AND token = $1 AND expires > clock_timestamp()",
                    &[&(token.0 as i64), &ttl],
                )
                .await
                .map_err(pg_err)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StorageError::LeaseLost { token: token.0 })
            }
        })
    }

    fn release(&self, token: FencingToken) -> Result<(), StorageError> {
        self.store.block(async {
            let c = self.store.pool().get().await.map_err(pg_err)?;
            c.execute(
                "UPDATE lease SET expires = clock_timestamp() WHERE id = 1 AND token = $1",
                &[&(token.0 as i64)],
            )
            .await
            .map_err(pg_err)?;
            Ok(())
        })
    }
}
