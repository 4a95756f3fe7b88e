//! The validity function and the state it runs against.
//!
//! [`LogState`] is everything the rules need to know about the log before an
//! entry: registrars and their keys, logged issuance periods, campaigns, and per
//! campaign who is counted. [`LogState::validate`] is *the* validity function:
//! `(state before, leaf) → Change | Rejection`, pure and deterministic; the
//! server runs it before accepting, the auditor when re-checking, so both agree
//! by construction. [`LogState::apply`] folds an accepted change in.
//!
//! Cryptographic checks are split out ([`LogState::verify_crypto`]) so callers
//! can run them in parallel: keys are bound to ids by hashing and ids never
//! change, so an entry whose signature verified against an earlier state
//! verifies against every later one. A [`CryptoVerified`] token carries that
//! result into `validate`.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::entry::{Campaign, Entry, verify_ed25519};
use crate::error::Rejection;
use crate::ids::{CampaignId, EntryHash, Pseudonym, RegistrarId, Timestamp, VouchReference};
use crate::leaf::Leaf;
use crate::period::Period;
use crate::pow::leading_zero_bits;

/// A registrar as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrarInfo {
    pub id: RegistrarId,
    pub signing_key: [u8; 32],
    pub bbs_key: [u8; 96],
    /// Whether the registrar has retired its keys (`registrar-retirement`).
    pub retired: bool,
}

/// A campaign's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignRules {
    pub id: CampaignId,
    pub registrars: Vec<RegistrarId>,
    pub opens_at: u64,
    pub closes_at: u64,
    pub unverified_difficulty: u8,
    pub min_anonymity: u32,
}

impl CampaignRules {
    fn from_entry(c: &Campaign) -> Self {
        CampaignRules {
            id: c.id(),
            registrars: c.registrars.clone(),
            opens_at: c.opens_at,
            closes_at: c.closes_at,
            unverified_difficulty: c.unverified_difficulty,
            min_anonymity: c.min_anonymity,
        }
    }
    fn accepts(&self, r: &RegistrarId) -> bool {
        self.registrars.binary_search(r).is_ok()
    }
    fn check_open(&self, t: Timestamp) -> Result<(), Rejection> {
        if t.0 < self.opens_at {
            Err(Rejection::CampaignNotOpen)
        } else if t.0 >= self.closes_at {
            Err(Rejection::CampaignClosed)
        } else {
            Ok(())
        }
    }
}

/// Who is counted in one campaign.
#[derive(Clone, Debug, Default)]
pub struct CampaignCounts {
    /// Pseudonym → disclosed (registrar, period) of its current declaration.
    pub(crate) declared: HashMap<Pseudonym, (RegistrarId, Period)>,
    /// Pseudonym → hash of its latest entry in the campaign (declaration or
    /// withdrawal): what its next entry must name as its predecessor.
    pub(crate) latest: HashMap<Pseudonym, EntryHash>,
    /// Current credentialed declarations per (registrar, period).
    pub(crate) groups: BTreeMap<(RegistrarId, Period), u64>,
    /// (registrar, reference) pairs vouched for.
    pub(crate) vouched: HashSet<(RegistrarId, VouchReference)>,
    pub(crate) vouched_by_registrar: BTreeMap<RegistrarId, u64>,
    /// Unverified declarations.
    pub(crate) unverified: u64,
    pub(crate) withdrawals: u64,
}

/// The campaign's rules and counts.
#[derive(Clone, Debug)]
pub struct CampaignState {
    pub rules: CampaignRules,
    pub counts: CampaignCounts,
}

/// Proof that an entry's signatures or credential proof verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CryptoVerified(EntryHash);

/// What an accepted entry changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    AddRegistrar(RegistrarInfo),
    AddPeriod {
        registrar: RegistrarId,
        period: Period,
        size: u32,
    },
    Retire {
        registrar: RegistrarId,
    },
    AddCampaign(CampaignRules),
    Declare {
        campaign: CampaignId,
        pseudonym: Pseudonym,
        registrar: RegistrarId,
        period: Period,
        hash: EntryHash,
    },
    Withdraw {
        campaign: CampaignId,
        pseudonym: Pseudonym,
        hash: EntryHash,
    },
    Vouch {
        campaign: CampaignId,
        registrar: RegistrarId,
        reference: VouchReference,
        hash: EntryHash,
    },
    Unverified {
        campaign: CampaignId,
        hash: EntryHash,
    },
}

/// Verifies credential proofs. The credentials crate implements it; until a
/// log enables credentials, [`NoCredentials`] rejects every credentialed entry
/// with `unsupported_entry`, so none is ever accepted unchecked.
pub trait CredentialVerifier: Sync {
    /// Verifies a BBS pseudonym proof made with `bbs_key` for `campaign`
    /// (the scope), `header` (the presentation header), disclosing
    /// `registrar` and `period`.
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        bbs_key: &[u8; 96],
        campaign: &CampaignId,
        header: &[u8; 32],
        registrar: &RegistrarId,
        period: Period,
        pseudonym: &Pseudonym,
        proof: &[u8],
    ) -> Result<(), Rejection>;

    /// Checks that a registrar's BBS public key is a valid key.
    fn check_public_key(&self, bbs_key: &[u8; 96]) -> Result<(), Rejection>;

    /// Verifies many proofs: one result per item, in order, each the one
    /// [`CredentialVerifier::verify`] gives for it. The default loops;
    /// `BbsCredentials` folds the pairing checks into one multi-pairing.
    fn verify_batch(&self, items: &[ProofToVerify<'_>]) -> Vec<Result<(), Rejection>> {
        items
            .iter()
            .map(|p| {
                self.verify(
                    p.bbs_key,
                    p.campaign,
                    p.header,
                    p.registrar,
                    p.period,
                    p.pseudonym,
                    p.proof,
                )
            })
            .collect()
    }
}

/// The arguments of one [`CredentialVerifier::verify`] call, for
/// [`CredentialVerifier::verify_batch`].
#[derive(Clone, Copy, Debug)]
pub struct ProofToVerify<'a> {
    pub bbs_key: &'a [u8; 96],
    pub campaign: &'a CampaignId,
    pub header: &'a [u8; 32],
    pub registrar: &'a RegistrarId,
    pub period: Period,
    pub pseudonym: &'a Pseudonym,
    pub proof: &'a [u8],
}

/// The verifier of a log that does not accept credentialed entries.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCredentials;

impl CredentialVerifier for NoCredentials {
    fn verify(
        &self,
        _: &[u8; 96],
        _: &CampaignId,
        _: &[u8; 32],
        _: &RegistrarId,
        _: Period,
        _: &Pseudonym,
        _: &[u8],
    ) -> Result<(), Rejection> {
        Err(Rejection::UnsupportedEntry(
            "credentialed declarations are not enabled on this log",
        ))
    }
    fn check_public_key(&self, _: &[u8; 96]) -> Result<(), Rejection> {
        Ok(())
    }
}

/// Everything the validity rules depend on.
#[derive(Clone, Debug, Default)]
pub struct LogState {
    /// Leaves folded in so far.
    pub size: u64,
    /// Timestamp of the last leaf (0 before the first).
    pub last_timestamp: Timestamp,
    pub(crate) registrars: HashMap<RegistrarId, RegistrarInfo>,
    pub(crate) periods: HashMap<(RegistrarId, Period), u32>,
    pub(crate) campaigns: HashMap<CampaignId, CampaignState>,
    /// Hashes of every declaration, withdrawal, vouched and unverified
    /// declaration in the log. An identical entry can never be logged twice:
    /// otherwise an operator could replay a declaration after its
    /// withdrawal (or a withdrawal after a re-declaration) with entries
    /// every auditor would find valid. Honest clients never repeat an entry
    /// (proofs are randomised; the server answers resubmissions with the
    /// first receipt). Memory: one 32-byte hash per such entry.
    pub(crate) seen: HashSet<EntryHash>,
}

impl LogState {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A state holding only keys, for checking signatures and proofs of many
    /// leaves in parallel: this state's registrars plus those of `pending`
    /// registrar entries (later leaves of the same batch). Sound even if a
    /// pending registrar entry turns out invalid: a registrar id is the hash
    /// of its keys, so an entry naming that id can only have been made with
    /// those keys, and the rules still reject it if the registrar is not in
    /// the log when it comes.
    pub fn crypto_view<'a>(
        &self,
        pending: impl IntoIterator<Item = &'a crate::entry::Registrar>,
    ) -> LogState {
        let mut view = LogState {
            registrars: self.registrars.clone(),
            ..LogState::default()
        };
        for r in pending {
            let id = r.id();
            view.registrars.entry(id).or_insert(RegistrarInfo {
                id,
                signing_key: r.signing_key,
                bbs_key: r.bbs_key,
                retired: false,
            });
        }
        view
    }

    /// Whether a declaration, withdrawal, vouched or unverified declaration
    /// with this entry hash is in the log (registrars, campaigns and periods
    /// are not tracked here: look those up by id).
    pub fn contains_entry(&self, hash: &EntryHash) -> bool {
        self.seen.contains(hash)
    }

    /// A registrar by id.
    pub fn registrar(&self, id: &RegistrarId) -> Option<&RegistrarInfo> {
        self.registrars.get(id)
    }

    /// A campaign by id.
    pub fn campaign(&self, id: &CampaignId) -> Option<&CampaignState> {
        self.campaigns.get(id)
    }

    /// Ids of all campaigns.
    pub fn campaign_ids(&self) -> impl Iterator<Item = &CampaignId> {
        self.campaigns.keys()
    }

    /// The campaigns whose tally an entry changes: its own campaign, or for a
    /// registrar's retirement every campaign that accepts the registrar (their
    /// tallies mark it retired).
    pub fn campaigns_affected(&self, entry: &Entry) -> Vec<CampaignId> {
        match entry {
            Entry::RegistrarRetirement(r) => {
                let mut ids: Vec<CampaignId> = self
                    .campaigns
                    .values()
                    .filter(|c| c.rules.accepts(&r.registrar))
                    .map(|c| c.rules.id)
                    .collect();
                ids.sort();
                ids
            }
            e => e.campaign().into_iter().collect(),
        }
    }

    /// The logged size of a registrar's issuance period.
    pub fn period_size(&self, registrar: &RegistrarId, period: Period) -> Option<u32> {
        self.periods.get(&(*registrar, period)).copied()
    }

    /// The latest entry of `pseudonym` in `campaign` (a declaration or a
    /// withdrawal): what its next entry must name as its predecessor.
    pub fn latest_entry(&self, campaign: &CampaignId, pseudonym: &Pseudonym) -> EntryHash {
        self.campaigns
            .get(campaign)
            .and_then(|c| c.counts.latest.get(pseudonym).copied())
            .unwrap_or(EntryHash::NONE)
    }

    fn registrar_key(&self, id: &RegistrarId) -> Result<&RegistrarInfo, Rejection> {
        self.registrars.get(id).ok_or(Rejection::UnknownRegistrar)
    }

    /// Verifies the entry's signature or credential proof against the keys
    /// this state knows. Read-only; safe to run for many entries in parallel.
    pub fn verify_crypto(
        &self,
        entry: &Entry,
        hash: EntryHash,
        credentials: &dyn CredentialVerifier,
    ) -> Result<CryptoVerified, Rejection> {
        let ok = match entry {
            Entry::Registrar(e) => {
                credentials.check_public_key(&e.bbs_key)?;
                verify_ed25519(&e.signing_key, &entry.unsigned_bytes(), &e.signature)
            }
            Entry::Campaign(e) => {
                verify_ed25519(&e.organiser_key, &entry.unsigned_bytes(), &e.signature)
            }
            Entry::IssuancePeriod(e) => self.registrar_signed(&e.registrar, entry, &e.signature)?,
            Entry::RegistrarRetirement(e) => {
                self.registrar_signed(&e.registrar, entry, &e.signature)?
            }
            Entry::VouchedDeclaration(e) => {
                self.registrar_signed(&e.registrar, entry, &e.signature)?
            }
            Entry::Declaration(_) | Entry::Withdrawal(_) => {
                let p = entry
                    .presentation()
                    .expect("declarations and withdrawals present a proof");
                let r = self.registrar_key(p.registrar)?;
                credentials.verify(
                    &r.bbs_key,
                    p.campaign,
                    &p.header,
                    p.registrar,
                    p.period,
                    p.pseudonym,
                    p.proof,
                )?;
                true
            }
            Entry::UnverifiedDeclaration(_) => true,
        };
        if ok {
            Ok(CryptoVerified(hash))
        } else {
            Err(Rejection::BadSignature)
        }
    }

    /// [`LogState::verify_crypto`] for many entries: the same result per
    /// entry, in order, with the pseudonym proofs of all credentialed entries
    /// verified as one batch ([`CredentialVerifier::verify_batch`]).
    pub fn verify_crypto_batch(
        &self,
        entries: &[(&Entry, EntryHash)],
        credentials: &dyn CredentialVerifier,
    ) -> Vec<Result<CryptoVerified, Rejection>> {
        let mut out: Vec<Option<Result<CryptoVerified, Rejection>>> = vec![None; entries.len()];
        let presentations: Vec<_> = entries.iter().map(|(e, _)| e.presentation()).collect();
        let mut proofs = Vec::new();
        let mut at = Vec::new();
        for (i, ((entry, hash), p)) in entries.iter().zip(&presentations).enumerate() {
            match p {
                None => out[i] = Some(self.verify_crypto(entry, *hash, credentials)),
                Some(p) => match self.registrar_key(p.registrar) {
                    Err(e) => out[i] = Some(Err(e)),
                    Ok(r) => {
                        proofs.push(ProofToVerify {
                            bbs_key: &r.bbs_key,
                            campaign: p.campaign,
                            header: &p.header,
                            registrar: p.registrar,
                            period: p.period,
                            pseudonym: p.pseudonym,
                            proof: p.proof,
                        });
                        at.push(i);
                    }
                },
            }
        }
        for (i, r) in at.into_iter().zip(credentials.verify_batch(&proofs)) {
            out[i] = Some(r.map(|()| CryptoVerified(entries[i].1)));
        }
        out.into_iter()
            .map(|r| r.unwrap_or(Err(Rejection::BadSignature)))
            .collect()
    }

    /// Whether an entry is signed by the Ed25519 key of `registrar`.
    fn registrar_signed(
        &self,
        registrar: &RegistrarId,
        entry: &Entry,
        signature: &[u8; 64],
    ) -> Result<bool, Rejection> {
        let r = self.registrar_key(registrar)?;
        Ok(verify_ed25519(
            &r.signing_key,
            &entry.unsigned_bytes(),
            signature,
        ))
    }

    /// The stateful rules, without cryptography (cheap; run them first).
    pub fn check_rules(
        &self,
        timestamp: Timestamp,
        entry: &Entry,
        hash: EntryHash,
    ) -> Result<Change, Rejection> {
        if !timestamp.is_coarse() || timestamp < self.last_timestamp {
            return Err(Rejection::BadTimestamp {
                got: timestamp.0,
                previous: self.last_timestamp.0,
            });
        }
        if entry.campaign().is_some()
            && !matches!(entry, Entry::Campaign(_))
            && self.seen.contains(&hash)
        {
            return Err(Rejection::DuplicateEntry);
        }
        match entry {
            Entry::Registrar(e) => {
                let id = e.id();
                if self.registrars.contains_key(&id) {
                    return Err(Rejection::RegistrarExists);
                }
                Ok(Change::AddRegistrar(RegistrarInfo {
                    id,
                    signing_key: e.signing_key,
                    bbs_key: e.bbs_key,
                    retired: false,
                }))
            }
            Entry::IssuancePeriod(e) => {
                self.active_registrar(&e.registrar)?;
                if self.periods.contains_key(&(e.registrar, e.period)) {
                    return Err(Rejection::PeriodExists(e.period));
                }
                if !e.period.is_over_at(timestamp.0) {
                    return Err(Rejection::PeriodNotOver(e.period));
                }
                Ok(Change::AddPeriod {
                    registrar: e.registrar,
                    period: e.period,
                    size: e.size,
                })
            }
            Entry::RegistrarRetirement(e) => {
                self.active_registrar(&e.registrar)?;
                Ok(Change::Retire {
                    registrar: e.registrar,
                })
            }
            Entry::Campaign(e) => {
                let rules = CampaignRules::from_entry(e);
                if self.campaigns.contains_key(&rules.id) {
                    return Err(Rejection::CampaignExists);
                }
                for r in &rules.registrars {
                    self.active_registrar(r)?;
                }
                Ok(Change::AddCampaign(rules))
            }
            Entry::Declaration(e) => {
                let c = self.open_campaign(&e.campaign, timestamp)?;
                self.check_credential_attrs(c, &e.registrar, e.period)?;
                check_predecessor(c, &e.pseudonym, e.predecessor)?;
                Ok(Change::Declare {
                    campaign: e.campaign,
                    pseudonym: e.pseudonym,
                    registrar: e.registrar,
                    period: e.period,
                    hash,
                })
            }
            Entry::Withdrawal(e) => {
                let c = self.open_campaign(&e.campaign, timestamp)?;
                self.check_credential_attrs(c, &e.registrar, e.period)?;
                check_predecessor(c, &e.pseudonym, e.predecessor)?;
                match c.counts.declared.get(&e.pseudonym) {
                    Some(attrs) if *attrs == (e.registrar, e.period) => {}
                    _ => return Err(Rejection::NotDeclared),
                }
                Ok(Change::Withdraw {
                    campaign: e.campaign,
                    pseudonym: e.pseudonym,
                    hash,
                })
            }
            Entry::VouchedDeclaration(e) => {
                let c = self.open_campaign(&e.campaign, timestamp)?;
                if !c.rules.accepts(&e.registrar) {
                    return Err(Rejection::RegistrarNotAccepted);
                }
                self.active_registrar(&e.registrar)?;
                Ok(Change::Vouch {
                    campaign: e.campaign,
                    registrar: e.registrar,
                    reference: e.reference,
                    hash,
                })
            }
            Entry::UnverifiedDeclaration(e) => {
                let c = self.open_campaign(&e.campaign, timestamp)?;
                let need = c.rules.unverified_difficulty;
                if need == 0 {
                    return Err(Rejection::UnverifiedNotAccepted);
                }
                let got = leading_zero_bits(&hash.0);
                if got < u32::from(need) {
                    return Err(Rejection::InsufficientWork { got, need });
                }
                Ok(Change::Unverified {
                    campaign: e.campaign,
                    hash,
                })
            }
        }
    }

    fn open_campaign(&self, id: &CampaignId, t: Timestamp) -> Result<&CampaignState, Rejection> {
        let c = self.campaigns.get(id).ok_or(Rejection::UnknownCampaign)?;
        c.rules.check_open(t)?;
        Ok(c)
    }

    /// A registered registrar that has not retired.
    fn active_registrar(&self, id: &RegistrarId) -> Result<&RegistrarInfo, Rejection> {
        let r = self.registrar_key(id)?;
        if r.retired {
            return Err(Rejection::RegistrarRetired);
        }
        Ok(r)
    }

    /// The disclosed attributes of a credentialed entry: an accepted
    /// registrar, and an issuance period it logged with at least the
    /// campaign's minimum anonymity set.
    fn check_credential_attrs(
        &self,
        c: &CampaignState,
        registrar: &RegistrarId,
        period: Period,
    ) -> Result<(), Rejection> {
        if !c.rules.accepts(registrar) {
            return Err(Rejection::RegistrarNotAccepted);
        }
        let Some(&size) = self.periods.get(&(*registrar, period)) else {
            return Err(Rejection::PeriodNotLogged(period));
        };
        if size < c.rules.min_anonymity {
            return Err(Rejection::AnonymitySetTooSmall {
                period,
                size,
                need: c.rules.min_anonymity,
            });
        }
        Ok(())
    }

    /// The validity function: the state before, a leaf's timestamp and entry
    /// → the change it makes, or why it is invalid. Rules are checked before
    /// cryptography; `verified`, if given, must be the token of this entry.
    pub fn validate(
        &self,
        timestamp: Timestamp,
        entry: &Entry,
        hash: EntryHash,
        verified: Option<CryptoVerified>,
        credentials: &dyn CredentialVerifier,
    ) -> Result<Change, Rejection> {
        let change = self.check_rules(timestamp, entry, hash)?;
        match verified {
            Some(CryptoVerified(h)) if h == hash => {}
            _ => {
                self.verify_crypto(entry, hash, credentials)?;
            }
        }
        Ok(change)
    }

    /// Decodes and validates a whole leaf.
    pub fn validate_leaf(
        &self,
        leaf: &Leaf,
        credentials: &dyn CredentialVerifier,
    ) -> Result<(Entry, Change), Rejection> {
        let entry = leaf.decode_entry()?;
        let change = self.validate(leaf.timestamp, &entry, leaf.entry_hash(), None, credentials)?;
        Ok((entry, change))
    }

    /// Folds an accepted change into the state, as leaf number `self.size`.
    pub fn apply(&mut self, timestamp: Timestamp, change: Change) {
        self.size += 1;
        self.last_timestamp = timestamp;
        match change {
            Change::AddRegistrar(info) => {
                self.registrars.insert(info.id, info);
            }
            Change::AddPeriod {
                registrar,
                period,
                size,
            } => {
                self.periods.insert((registrar, period), size);
            }
            Change::Retire { registrar } => {
                if let Some(r) = self.registrars.get_mut(&registrar) {
                    r.retired = true;
                }
            }
            Change::AddCampaign(rules) => {
                self.campaigns.insert(
                    rules.id,
                    CampaignState {
                        rules,
                        counts: CampaignCounts::default(),
                    },
                );
            }
            Change::Declare {
                campaign,
                pseudonym,
                registrar,
                period,
                hash,
            } => {
                self.seen.insert(hash);
                let counts = &mut self.counts_mut(&campaign);
                counts.latest.insert(pseudonym, hash);
                if let Some(old) = counts.declared.insert(pseudonym, (registrar, period)) {
                    dec(&mut counts.groups, old);
                }
                *counts.groups.entry((registrar, period)).or_default() += 1;
            }
            Change::Withdraw {
                campaign,
                pseudonym,
                hash,
            } => {
                self.seen.insert(hash);
                let counts = self.counts_mut(&campaign);
                counts.latest.insert(pseudonym, hash);
                if let Some(old) = counts.declared.remove(&pseudonym) {
                    dec(&mut counts.groups, old);
                }
                counts.withdrawals += 1;
            }
            Change::Vouch {
                campaign,
                registrar,
                reference,
                hash,
            } => {
                self.seen.insert(hash);
                let counts = self.counts_mut(&campaign);
                if counts.vouched.insert((registrar, reference)) {
                    *counts.vouched_by_registrar.entry(registrar).or_default() += 1;
                }
            }
            Change::Unverified { campaign, hash } => {
                self.seen.insert(hash);
                self.counts_mut(&campaign).unverified += 1;
            }
        }
    }

    fn counts_mut(&mut self, id: &CampaignId) -> &mut CampaignCounts {
        // Invariant: `Change`s come from `validate` on this state, which only
        // produces campaign changes for campaigns that exist.
        &mut self
            .campaigns
            .get_mut(id)
            .expect("validated change names a known campaign")
            .counts
    }

    /// Folds in a leaf of a log this process itself verified on the way in
    /// (its own storage, at start-up): the rules are re-checked, signatures
    /// and proofs are not. Auditors, who trust nobody's storage, use [`LogState::push`].
    pub fn replay(&mut self, leaf: &Leaf) -> Result<Entry, Rejection> {
        let entry = leaf.decode_entry()?;
        let change = self.check_rules(leaf.timestamp, &entry, leaf.entry_hash())?;
        self.apply(leaf.timestamp, change);
        Ok(entry)
    }

    /// Validates and applies one leaf: the fold step.
    pub fn push(
        &mut self,
        leaf: &Leaf,
        credentials: &dyn CredentialVerifier,
    ) -> Result<Entry, Rejection> {
        let (entry, change) = self.validate_leaf(leaf, credentials)?;
        self.apply(leaf.timestamp, change);
        Ok(entry)
    }
}

/// A declaration or withdrawal must name the pseudonym's latest entry in the
/// campaign (or none, for its first): an entry the operator held back cannot
/// be logged after a newer one of the same pseudonym, so holding and
/// releasing entries cannot undo what the declarant did since.
fn check_predecessor(
    c: &CampaignState,
    pseudonym: &Pseudonym,
    predecessor: EntryHash,
) -> Result<(), Rejection> {
    let current = c
        .counts
        .latest
        .get(pseudonym)
        .copied()
        .unwrap_or(EntryHash::NONE);
    if predecessor != current {
        return Err(Rejection::StalePredecessor {
            got: predecessor,
            current,
        });
    }
    Ok(())
}

fn dec(groups: &mut BTreeMap<(RegistrarId, Period), u64>, key: (RegistrarId, Period)) {
    if let Some(n) = groups.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            groups.remove(&key);
        }
    }
}
