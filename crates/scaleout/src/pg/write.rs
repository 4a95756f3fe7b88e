//! The derived state's writer on PostgreSQL. Every transaction first checks
//! the writer's fencing token against the lease row.

use headcount_core::EntryHash;
use headcount_core::entry::Entry;
use headcount_storage::{AppliedLeaf, DerivedWriter, FencingToken, SignedTally, StorageError};
use tokio_postgres::types::ToSql;

use super::{PgStore, check_fence, pg_err};

/// Writes the derived state; see [`DerivedWriter`].
pub struct PgWriter {
    store: PgStore,
    token: FencingToken,
}

impl PgWriter {
    pub(super) fn new(store: PgStore, token: FencingToken) -> Self {
        PgWriter { store, token }
    }
}

/// One row of `declarations`, owned.
struct DeclRow<'a> {
    index: i64,
    campaign: &'a [u8],
    kind: &'a str,
    ts: i64,
    registrar: Option<&'a [u8]>,
    period: Option<i64>,
    pseudonym: Option<&'a [u8]>,
    alias: Option<&'a str>,
    message: Option<&'a str>,
    reference: Option<&'a [u8]>,
}

fn declaration_row<'a>(l: &'a AppliedLeaf<'a>) -> Option<DeclRow<'a>> {
    let index = l.index as i64;
    let ts = l.leaf.timestamp.0 as i64;
    let kind = l.entry.entry_type().name();
    let row = |campaign: &'a [u8]| DeclRow {
        index,
        campaign,
        kind,
        ts,
        registrar: None,
        period: None,
        pseudonym: None,
        alias: None,
        message: None,
        reference: None,
    };
    Some(match l.entry {
        Entry::Declaration(d) => DeclRow {
            registrar: Some(&d.registrar.0[..]),
            period: Some(d.period.0 as i64),
            pseudonym: Some(&d.pseudonym.0[..]),
            alias: Some(&d.alias),
            message: Some(&d.message),
            ..row(&d.campaign.0[..])
        },
        Entry::Withdrawal(d) => DeclRow {
            registrar: Some(&d.registrar.0[..]),
            period: Some(d.period.0 as i64),
            pseudonym: Some(&d.pseudonym.0[..]),
            ..row(&d.campaign.0[..])
        },
        Entry::VouchedDeclaration(d) => DeclRow {
            registrar: Some(&d.registrar.0[..]),
            alias: Some(&d.alias),
            message: Some(&d.message),
            reference: Some(&d.reference.0[..]),
            ..row(&d.campaign.0[..])
        },
        Entry::UnverifiedDeclaration(d) => DeclRow {
            alias: Some(&d.alias),
            message: Some(&d.message),
            ..row(&d.campaign.0[..])
        },
        _ => return None,
    })
}

impl DerivedWriter for PgWriter {
    fn applied_size(&self) -> Result<u64, StorageError> {
        self.store.block(async {
            let c = self.store.pool().get().await.map_err(pg_err)?;
            let row = c
                .query_opt("SELECT value FROM meta WHERE key = 'applied_size'", &[])
                .await
                .map_err(pg_err)?;
            Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
        })
    }

    fn reset(&mut self) -> Result<(), StorageError> {
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            check_fence(&tx, self.token).await?;
            tx.batch_execute(
                "TRUNCATE meta, entries, checkpoints, registrars, periods, retirements, campaigns,
                 declarations, tallies",
            )
            .await
            .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)
        })
    }

    fn apply(
        &mut self,
        leaves: &[AppliedLeaf<'_>],
        tree_size: u64,
        checkpoint: Option<&[u8]>,
        tallies: &[SignedTally],
    ) -> Result<(), StorageError> {
        let size = tree_size as i64;
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            check_fence(&tx, self.token).await?;
            let ins_entry = tx
                .prepare_cached(
                    "INSERT INTO entries (hash, leaf_index, timestamp, receipt_size)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
                )
                .await
                .map_err(pg_err)?;
            let ins_decl = tx
                .prepare_cached(
                    "INSERT INTO declarations (leaf_index, campaign, kind, timestamp, registrar,
                       period, pseudonym, alias, message, reference)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (leaf_index) DO UPDATE SET campaign = EXCLUDED.campaign,
                       kind = EXCLUDED.kind, timestamp = EXCLUDED.timestamp,
                       registrar = EXCLUDED.registrar, period = EXCLUDED.period,
                       pseudonym = EXCLUDED.pseudonym, alias = EXCLUDED.alias,
                       message = EXCLUDED.message, reference = EXCLUDED.reference",
                )
                .await
                .map_err(pg_err)?;
            for l in leaves {
                let hash = l.leaf.entry_hash();
                let index = l.index as i64;
                let ts = l.leaf.timestamp.0 as i64;
                tx.execute(&ins_entry, &[&&hash.0[..], &index, &ts, &size])
                    .await
                    .map_err(pg_err)?;
                match l.entry {
                    Entry::Registrar(_) | Entry::Campaign(_) => {
                        // One row per registrar or campaign, keyed by its id.
                        let (table, id) = match &l.entry {
                            Entry::Registrar(r) => ("registrars", r.id().0),
                            Entry::Campaign(c) => ("campaigns", c.id().0),
                            _ => unreachable!("matched above"),
                        };
                        tx.execute(
                            &format!(
                                "INSERT INTO {table} (id, leaf_index, timestamp, entry)
                                 VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET
                                 leaf_index = EXCLUDED.leaf_index, timestamp = EXCLUDED.timestamp,
                                 entry = EXCLUDED.entry"
                            ),
                            &[&&id[..], &index, &ts, &l.leaf.entry],
                        )
                        .await
                        .map_err(pg_err)?;
                    }
                    Entry::IssuancePeriod(b) => {
                        tx.execute(
                            "INSERT INTO periods (registrar, period, size, leaf_index, entry_hash)
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (registrar, period) DO UPDATE
                             SET size = EXCLUDED.size, leaf_index = EXCLUDED.leaf_index,
                             entry_hash = EXCLUDED.entry_hash",
                            &[
                                &&b.registrar.0[..],
                                &(b.period.0 as i64),
                                &(b.size as i64),
                                &index,
                                &&hash.0[..],
                            ],
                        )
                        .await
                        .map_err(pg_err)?;
                    }
                    Entry::RegistrarRetirement(r) => {
                        tx.execute(
                            "INSERT INTO retirements (registrar, leaf_index, timestamp, reason)
                             VALUES ($1, $2, $3, $4) ON CONFLICT (registrar) DO UPDATE SET
                             leaf_index = EXCLUDED.leaf_index, timestamp = EXCLUDED.timestamp,
                             reason = EXCLUDED.reason",
                            &[&&r.registrar.0[..], &index, &ts, &r.reason],
                        )
                        .await
                        .map_err(pg_err)?;
                    }
                    _ => {}
                }
                if let Some(d) = declaration_row(l) {
                    let params: [&(dyn ToSql + Sync); 10] = [
                        &d.index,
                        &d.campaign,
                        &d.kind,
                        &d.ts,
                        &d.registrar,
                        &d.period,
                        &d.pseudonym,
                        &d.alias,
                        &d.message,
                        &d.reference,
                    ];
                    tx.execute(&ins_decl, &params).await.map_err(pg_err)?;
                }
            }
            if let Some(note) = checkpoint {
                tx.execute(
                    "INSERT INTO checkpoints (size, note) VALUES ($1, $2)
                     ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
                    &[&size, &note],
                )
                .await
                .map_err(pg_err)?;
            }
            for (t, note) in tallies {
                let json = serde_json::to_string(t)?;
                let counts =
                    [t.credible, t.credentialed, t.vouched, t.unverified].map(|v| v as i64);
                tx.execute(
                    "INSERT INTO tallies (campaign, tree_size, json, credible, credentialed,
                       vouched, unverified, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (campaign, tree_size) DO UPDATE SET json = EXCLUDED.json,
                       credible = EXCLUDED.credible, credentialed = EXCLUDED.credentialed,
                       vouched = EXCLUDED.vouched, unverified = EXCLUDED.unverified,
                       note = EXCLUDED.note",
                    &[
                        &&t.campaign.0[..],
                        &(t.tree_size as i64),
                        &json,
                        &counts[0],
                        &counts[1],
                        &counts[2],
                        &counts[3],
                        note,
                    ],
                )
                .await
                .map_err(pg_err)?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('applied_size', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&size],
            )
            .await
            .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)
        })
    }

    fn set_cosigned(
        &mut self,
        size: u64,
        note: &[u8],
        entries: &[EntryHash],
    ) -> Result<(), StorageError> {
        let size = size as i64;
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            check_fence(&tx, self.token).await?;
            tx.execute(
                "INSERT INTO checkpoints (size, note) VALUES ($1, $2)
                 ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
                &[&size, &note],
            )
            .await
            .map_err(pg_err)?;
            let hashes: Vec<&[u8]> = entries.iter().map(|h| &h.0[..]).collect();
            tx.execute(
                "UPDATE entries SET receipt_size = $1 WHERE hash = ANY($2)",
                &[&size, &hashes],
            )
            .await
            .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)
        })
    }

    fn add_attestation(
        &mut self,
        auditor: &str,
        tree_size: u64,
        verdict: &str,
        received: u64,
        note: &[u8],
    ) -> Result<(), StorageError> {
        self.store.block(async {
            let mut c = self.store.pool().get().await.map_err(pg_err)?;
            let tx = c.transaction().await.map_err(pg_err)?;
            check_fence(&tx, self.token).await?;
            tx.execute(
                "INSERT INTO attestations (auditor, tree_size, verdict, received, note)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (auditor, tree_size) DO UPDATE SET
                 verdict = EXCLUDED.verdict, received = EXCLUDED.received, note = EXCLUDED.note",
                &[
                    &auditor,
                    &(tree_size as i64),
                    &verdict,
                    &(received as i64),
                    &note,
                ],
            )
            .await
            .map_err(pg_err)?;
            tx.commit().await.map_err(pg_err)
        })
    }
}
