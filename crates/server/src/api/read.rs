//! The JSON read API: log, campaigns, registrars, tallies, proofs, receipts.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use headcount_core::entry::{Campaign, Entry, Registrar};
use headcount_core::{CampaignId, CampaignTally, EntryHash, RegistrarId};
use headcount_tlog::{LeafIndex, TreeSize, consistency_proof, inclusion_proof, tree_root};
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::derived::DeclarationRow;
use crate::log::{Log, Receipt};

#[derive(Serialize)]
pub struct LogInfo {
    origin: String,
    vkey: String,
    tree_size: u64,
    root: String,
    checkpoint: String,
    /// Where the witness policy is served (`/policy`), when the log has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    witness_policy: Option<&'static str>,
    /// The operator's admission policy: what a publisher must do to be accepted.
    admission: crate::admission::AdmissionView,
}

pub async fn log_info(State(log): State<Arc<Log>>) -> Json<LogInfo> {
    let c = log.committed();
    Json(LogInfo {
        origin: log.origin().to_owned(),
        vkey: log.vkey(),
        tree_size: c.size,
        root: B64.encode(c.root.0),
        checkpoint: String::from_utf8_lossy(&c.note).into_owned(),
        witness_policy: log.witness_policy().map(|_| "/policy"),
        admission: log.admission().view(),
    })
}

/// `GET /policy`: the log's witness policy (C2SP tlog-policy), which
/// `--policy FILE` on the declarant and auditor commands pins.
pub async fn witness_policy(
    State(log): State<Arc<Log>>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let text = log
        .witness_policy()
        .ok_or_else(|| ApiError::not_found("this log has no witness policy"))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text.to_string(),
    )
        .into_response())
}

#[derive(Serialize)]
pub struct TextView {
    lang: String,
    title: String,
    statement: String,
}

#[derive(Serialize)]
pub struct CampaignView {
    id: CampaignId,
    /// Hash of the campaign entry: `GET /v1/entries/{entry_hash}` returns it with its receipt.
    entry_hash: EntryHash,
    leaf_index: u64,
    timestamp: u64,
    organiser_key: String,
    texts: Vec<TextView>,
    addressees: Vec<String>,
    registrars: Vec<RegistrarId>,
    opens_at: u64,
    closes_at: u64,
    unverified_difficulty: u8,
    /// The smallest issuance month (anonymity set) a credentialed declaration may disclose.
    min_anonymity: u32,
    /// The work an unverified declaration needs on this log: the campaign's
    /// difficulty, raised to the operator's minimum (0: not accepted).
    unverified_difficulty_required: u8,
    tally: Option<CampaignTally>,
}

fn campaign_view(
    log: &Log,
    leaf_index: u64,
    timestamp: u64,
    c: Campaign,
) -> Result<CampaignView, ApiError> {
    let id = c.id();
    let entry_hash = Entry::Campaign(c.clone()).hash();
    let size = log.committed().size;
    let tally = log
        .read_blocking(|db| db.tally_at(&id, size))
        .map_err(ApiError::internal)?;
    Ok(CampaignView {
        id,
        entry_hash,
        leaf_index,
        timestamp,
        organiser_key: hex::encode(c.organiser_key),
        texts: c
            .texts
            .into_iter()
            .map(|t| TextView {
                lang: t.lang,
                title: t.title,
                statement: t.statement,
            })
            .collect(),
        addressees: c.addressees,
        registrars: c.registrars,
        opens_at: c.opens_at,
        closes_at: c.closes_at,
        unverified_difficulty: c.unverified_difficulty,
        min_anonymity: c.min_anonymity,
        unverified_difficulty_required: match c.unverified_difficulty {
            0 => 0,
            d => d.max(log.admission().min_unverified_difficulty),
        },
        tally,
    })
}

fn decode_campaign(bytes: &[u8]) -> Result<Campaign, ApiError> {
    match Entry::decode(bytes) {
        Ok(Entry::Campaign(c)) => Ok(c),
        _ => Err(ApiError::internal("stored campaign entry does not decode")),
    }
}

/// Runs a handler's reads (SQLite, tiles) on a blocking thread, off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

fn bad_query(e: QueryRejection) -> ApiError {
    ApiError::bad_request("bad_query", e.body_text())
}

/// 404 unless the campaign is in the log.
fn known_campaign(log: &Log, id: &CampaignId) -> Result<(), ApiError> {
    if log.with_state(|s| s.campaign(id).is_some()) {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_campaign",
            "no campaign with this id",
        ))
    }
}

fn parse_campaign_id(s: &str) -> Result<CampaignId, ApiError> {
    CampaignId::from_hex(s)
        .ok_or_else(|| ApiError::bad_request("bad_id", "a campaign id is 64 hex digits"))
}

/// `?after=<leaf index>&limit=<n>`: a page of the campaign list.
#[derive(Deserialize)]
pub struct ListPage {
    after: Option<u64>,
    limit: Option<u32>,
}

/// Most campaigns in one page of `GET /v1/campaigns`.
pub const CAMPAIGN_PAGE: u32 = 1000;

pub async fn campaigns(
    State(log): State<Arc<Log>>,
    p: Result<Query<ListPage>, QueryRejection>,
) -> Result<Json<Vec<CampaignView>>, ApiError> {
    let Query(p) = p.map_err(bad_query)?;
    let limit = p.limit.unwrap_or(CAMPAIGN_PAGE).clamp(1, CAMPAIGN_PAGE);
    blocking(move || {
        let rows = log
            .read_blocking(|db| db.campaigns_page(p.after, limit))
            .map_err(ApiError::internal)?;
        let mut out = Vec::with_capacity(rows.len());
        for headcount_storage::EntityRow {
            leaf_index: i,
            timestamp: t,
            entry: bytes,
        } in rows
        {
            out.push(campaign_view(&log, i, t, decode_campaign(&bytes)?)?);
        }
        Ok(Json(out))
    })
    .await
}

pub async fn campaign(
    State(log): State<Arc<Log>>,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let id = parse_campaign_id(&id)?;
    blocking(move || {
        let row = log
            .read_blocking(|db| db.campaign(&id))
            .map_err(ApiError::internal)?;
        match row {
            Some(r) => Ok(Json(campaign_view(
                &log,
                r.leaf_index,
                r.timestamp,
                decode_campaign(&r.entry)?,
            )?)),
            None => Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_campaign",
                "no campaign with this id",
            )),
        }
    })
    .await
}

/// `GET /v1/campaigns/{id}/tally-note?tree_size=N`: the operator's signed
/// tally note for the campaign that holds at N (default: the latest size):
/// the one signed when the campaign last changed at or before N.
pub async fn tally_note(
    State(log): State<Arc<Log>>,
    Path(id): Path<String>,
    q: Result<Query<AtSize>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let Query(q) = q.map_err(bad_query)?;
    let id = parse_campaign_id(&id)?;
    let at = checked_size(&log, q.tree_size)?;
    let found = blocking(move || {
        log.read_blocking(|db| db.tally_note_at(&id, at))
            .map_err(ApiError::internal)
    })
    .await?;
    match found {
        Some((_, Some(note))) => Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            note,
        )
            .into_response()),
        Some((_, None)) => Err(ApiError::not_found(
            "no signed tally note for this campaign at this tree size",
        )),
        None => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_campaign",
            "no such campaign at this tree size",
        )),
    }
}

#[derive(Deserialize)]
pub struct AtSize {
    tree_size: Option<u64>,
}

pub async fn tally(
    State(log): State<Arc<Log>>,
    Path(id): Path<String>,
    q: Result<Query<AtSize>, QueryRejection>,
) -> Result<Json<CampaignTally>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    let id = parse_campaign_id(&id)?;
    let size = log.committed().size;
    let at = q.tree_size.unwrap_or(size);
    if at > size {
        return Err(ApiError::bad_request(
            "tree_size_ahead",
            format!("the log has {size} entries"),
        ));
    }
    blocking(move || {
        log.read_blocking(|db| db.tally_at(&id, at))
            .map_err(ApiError::internal)
    })
    .await?
    .map(Json)
    .ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "unknown_campaign",
            "no such campaign at this tree size",
        )
    })
}

pub async fn tally_history(
    State(log): State<Arc<Log>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<CampaignTally>>, ApiError> {
    let id = parse_campaign_id(&id)?;
    known_campaign(&log, &id)?;
    blocking(move || {
        log.read_blocking(|db| db.tally_history(&id))
            .map(Json)
            .map_err(ApiError::internal)
    })
    .await
}

#[derive(Deserialize)]
pub struct Page {
    before: Option<u64>,
    limit: Option<u32>,
}

pub async fn declarations(
    State(log): State<Arc<Log>>,
    Path(id): Path<String>,
    p: Result<Query<Page>, QueryRejection>,
) -> Result<Json<Vec<DeclarationView>>, ApiError> {
    let Query(p) = p.map_err(bad_query)?;
    let id = parse_campaign_id(&id)?;
    known_campaign(&log, &id)?;
    let limit = p.limit.unwrap_or(50).min(500);
    blocking(move || {
        log.read_blocking(|db| db.declarations(&id, p.before, limit))
            .map(|rows| Json(rows.into_iter().map(DeclarationView::from).collect()))
            .map_err(ApiError::internal)
    })
    .await
}

/// A row of `GET /v1/campaigns/{id}/declarations`.
#[derive(Serialize)]
pub struct DeclarationView {
    leaf_index: u64,
    kind: String,
    timestamp: u64,
    /// Hex.
    registrar: Option<String>,
    /// The issuance month a credentialed entry discloses.
    period: Option<headcount_core::Period>,
    /// Hex.
    pseudonym: Option<String>,
    alias: Option<String>,
    message: Option<String>,
}

impl From<DeclarationRow> for DeclarationView {
    fn from(d: DeclarationRow) -> Self {
        DeclarationView {
            leaf_index: d.leaf_index,
            kind: d.kind,
            timestamp: d.timestamp,
            registrar: d.registrar.map(|r| hex::encode(r.0)),
            period: d.period,
            pseudonym: d.pseudonym.map(hex::encode),
            alias: d.alias,
            message: d.message,
        }
    }
}

#[derive(Serialize)]
pub struct RegistrarView {
    id: RegistrarId,
    /// Hash of the registrar entry: `GET /v1/entries/{entry_hash}` returns it with its receipt.
    entry_hash: EntryHash,
    leaf_index: u64,
    timestamp: u64,
    name: String,
    policy: String,
    contact: String,
    signing_key: String,
    bbs_key: String,
    /// Logged issuance months: each is the anonymity set of the credentials issued in it.
    periods: Vec<crate::derived::PeriodRow>,
    /// Set once the registrar retired its keys: nothing of it is valid after this leaf.
    retired: Option<crate::derived::RetirementRow>,
}

fn registrar_view(
    log: &Log,
    leaf_index: u64,
    timestamp: u64,
    r: Registrar,
) -> Result<RegistrarView, ApiError> {
    let id = r.id();
    let entry_hash = Entry::Registrar(r.clone()).hash();
    let (periods, retired) = log
        .read_blocking(|db| {
            Ok::<_, headcount_storage::StorageError>((db.periods(&id)?, db.retirement(&id)?))
        })
        .map_err(ApiError::internal)?;
    Ok(RegistrarView {
        id,
        entry_hash,
        leaf_index,
        timestamp,
        name: r.name,
        policy: r.policy,
        contact: r.contact,
        signing_key: hex::encode(r.signing_key),
        bbs_key: hex::encode(r.bbs_key),
        periods,
        retired,
    })
}

fn decode_registrar(b: &[u8]) -> Result<Registrar, ApiError> {
    match Entry::decode(b) {
        Ok(Entry::Registrar(r)) => Ok(r),
        _ => Err(ApiError::internal("stored registrar entry does not decode")),
    }
}

pub async fn registrars(State(log): State<Arc<Log>>) -> Result<Json<Vec<RegistrarView>>, ApiError> {
    blocking(move || {
        let rows = log
            .read_blocking(|db| db.registrars())
            .map_err(ApiError::internal)?;
        let mut out = Vec::with_capacity(rows.len());
        for headcount_storage::EntityRow {
            leaf_index: i,
            timestamp: t,
            entry: b,
        } in rows
        {
            out.push(registrar_view(&log, i, t, decode_registrar(&b)?)?);
        }
        Ok(Json(out))
    })
    .await
}

pub async fn registrar(
    State(log): State<Arc<Log>>,
    Path(id): Path<String>,
) -> Result<Json<RegistrarView>, ApiError> {
    let id = RegistrarId::from_hex(&id)
        .ok_or_else(|| ApiError::bad_request("bad_id", "a registrar id is 64 hex digits"))?;
    blocking(move || {
        let row = log
            .read_blocking(|db| db.registrar(&id))
            .map_err(ApiError::internal)?;
        match row {
            Some(r) => Ok(Json(registrar_view(
                &log,
                r.leaf_index,
                r.timestamp,
                decode_registrar(&r.entry)?,
            )?)),
            None => Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_registrar",
                "no registrar with this id",
            )),
        }
    })
    .await
}

/// `GET /v1/entries/{hash}`: 200 with the receipt; 202 while an entry
/// accepted asynchronously waits for its round; 422 with the rejection code
/// if its round refused it; 404 if the log does not know it.
pub async fn entry_receipt(
    State(log): State<Arc<Log>>,
    Path(hash): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let hash = EntryHash::from_hex(&hash)
        .ok_or_else(|| ApiError::bad_request("bad_id", "an entry hash is 64 hex digits"))?;
    blocking(move || entry_receipt_blocking(&log, hash)).await
}

fn entry_receipt_blocking(
    log: &Log,
    hash: EntryHash,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let at = match log.status(&hash).map_err(ApiError::internal)? {
        crate::log::EntryStatus::Logged(at) => at,
        crate::log::EntryStatus::Pending => {
            return Ok((
                axum::http::StatusCode::ACCEPTED,
                Json(super::submit::Pending {
                    entry_hash: hash,
                    status: "pending",
                }),
            )
                .into_response());
        }
        crate::log::EntryStatus::Refused(r) => return Err(r.into()),
        crate::log::EntryStatus::Unknown => return Err(ApiError::not_found("no such entry")),
    };
    let (proof, size) = log.tlog_proof(at).map_err(ApiError::internal)?;
    // The entry itself, to name its type and compute the leaf hash.
    let bundle_entry = read_entry(log, at.index, log.committed().size)?;
    let entry = Entry::decode(&bundle_entry).map_err(ApiError::internal)?;
    let leaf = headcount_core::Leaf {
        timestamp: headcount_core::Timestamp(at.timestamp),
        entry: bundle_entry,
    };
    Ok(Json(Receipt {
        leaf_index: at.index,
        tree_size: size,
        timestamp: at.timestamp,
        entry_type: entry.entry_type().name(),
        entry_hash: hash,
        leaf_hash: hex::encode(headcount_tlog::leaf_hash(&leaf.encode()).0),
        proof: proof.to_text(),
        entry: Some(hex::encode(&leaf.entry)),
    })
    .into_response())
}

/// The entry bytes of leaf `index` in a tree of `size`.
fn read_entry(log: &Log, index: u64, size: u64) -> Result<Vec<u8>, ApiError> {
    use headcount_tlog::{TileId, decode_bundle};
    let n = index / 256;
    let width = (size - n * 256).min(256) as u16;
    let bundle = log
        .tiles()
        .read_tile(TileId {
            level: None,
            index: n,
            width,
        })
        .map_err(ApiError::internal)?;
    let leaves = decode_bundle(&bundle).map_err(ApiError::internal)?;
    let raw = leaves
        .get((index % 256) as usize)
        .ok_or_else(|| ApiError::internal("leaf missing from bundle"))?;
    let leaf = headcount_core::Leaf::decode(raw).map_err(ApiError::internal)?;
    Ok(leaf.entry)
}

#[derive(Deserialize)]
pub struct InclusionQuery {
    index: u64,
    tree_size: Option<u64>,
}

#[derive(Serialize)]
pub struct ProofView {
    tree_size: u64,
    root: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_size: Option<u64>,
    proof: Vec<String>,
}

fn checked_size(log: &Log, requested: Option<u64>) -> Result<u64, ApiError> {
    let size = log.committed().size;
    let at = requested.unwrap_or(size);
    if at > size {
        return Err(ApiError::bad_request(
            "tree_size_ahead",
            format!("the log has {size} entries"),
        ));
    }
    Ok(at)
}

pub async fn inclusion(
    State(log): State<Arc<Log>>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<ProofView>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    blocking(move || inclusion_blocking(&log, q)).await
}

fn inclusion_blocking(log: &Log, q: InclusionQuery) -> Result<Json<ProofView>, ApiError> {
    let size = checked_size(log, q.tree_size)?;
    if q.index >= size {
        return Err(ApiError::bad_request(
            "index_out_of_range",
            "the index is not below the tree size",
        ));
    }
    let root = tree_root(log.tiles(), TreeSize(size))
        .map_err(|_| ApiError::not_found("the log published no checkpoint at this tree size"))?;
    let proof = inclusion_proof(log.tiles(), TreeSize(size), root, LeafIndex(q.index))
        .map_err(ApiError::internal)?;
    Ok(Json(ProofView {
        tree_size: size,
        root: B64.encode(root.0),
        index: Some(q.index),
        old_size: None,
        proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
    }))
}

#[derive(Deserialize)]
pub struct ConsistencyQuery {
    old_size: u64,
    tree_size: Option<u64>,
}

pub async fn consistency(
    State(log): State<Arc<Log>>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ProofView>, ApiError> {
    let Query(q) = q.map_err(bad_query)?;
    blocking(move || consistency_blocking(&log, q)).await
}

fn consistency_blocking(log: &Log, q: ConsistencyQuery) -> Result<Json<ProofView>, ApiError> {
    let size = checked_size(log, q.tree_size)?;
    if q.old_size > size {
        return Err(ApiError::bad_request(
            "tree_size_ahead",
            "old_size is above tree_size",
        ));
    }
    let root = tree_root(log.tiles(), TreeSize(size))
        .map_err(|_| ApiError::not_found("the log published no checkpoint at this tree size"))?;
    let proof = consistency_proof(log.tiles(), TreeSize(q.old_size), TreeSize(size), root)
        .map_err(ApiError::internal)?;
    Ok(Json(ProofView {
        tree_size: size,
        root: B64.encode(root.0),
        index: None,
        old_size: Some(q.old_size),
        proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
    }))
}
