//! The eight entry types of a headcount log and their canonical encoding.
//!
//! The byte-by-byte layout is documented in `docs/wire-format.md`; this module
//! is its reference implementation. An entry is
//!
//! ```text
//! version (u8 = 1) || type (u8) || body
//! ```
//!
//! and decoding is strict: exactly one encoding is accepted for each entry, so
//! `decode(b).encode() == b` for every `b` that decodes.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::ids::{CampaignId, EntryHash, Pseudonym, RegistrarId, VouchReference};
use crate::period::Period;
use crate::text::TextKind;

/// The only entry encoding version this software reads and writes.
pub const ENTRY_VERSION: u8 = 2;
/// A leaf (9-byte header + entry) must fit a tlog-tiles entry bundle slot (2-byte length prefix).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize - crate::leaf::LEAF_HEADER_LEN;

/// Limits on variable-length fields, in bytes (UTF-8 bytes for text).
pub mod limits {
    /// Registrar display name.
    pub const REGISTRAR_NAME: usize = 128;
    /// Registrar policy: how it checks that an applicant is a real, distinct person.
    pub const REGISTRAR_POLICY: usize = 8192;
    /// Registrar contact (an address, a URL, an onion service).
    pub const REGISTRAR_CONTACT: usize = 256;
    /// BCP 47 language tag of a campaign text.
    pub const LANG: usize = 35;
    /// Campaign title, per language.
    pub const TITLE: usize = 256;
    /// Campaign statement, per language.
    pub const STATEMENT: usize = 16384;
    /// One addressee ("United Nations High Commissioner for Refugees").
    pub const ADDRESSEE: usize = 256;
    /// Number of language versions of a campaign.
    pub const TEXTS: usize = 8;
    /// Number of addressees of a campaign.
    pub const ADDRESSEES: usize = 32;
    /// Number of registrars a campaign accepts.
    pub const REGISTRARS: usize = 64;
    /// The public alias ("pseudo name") of a declaration.
    pub const ALIAS: usize = 128;
    /// The optional message of a declaration.
    pub const MESSAGE: usize = 2048;
    /// A credential proof.
    pub const PROOF: usize = 4096;
    /// The maximum proof-of-work difficulty a campaign may require, in bits.
    pub const MAX_DIFFICULTY: u8 = 40;
    /// The reason a registrar gives for retiring its keys.
    pub const RETIREMENT_REASON: usize = 1024;
    /// The smallest anonymity set a campaign may accept: a credentialed
    /// declaration's issuance period must have been logged with at least
    /// this many credentials (a campaign may require more).
    pub const MIN_ANONYMITY: u32 = 100;
}

/// Entry type codes (the second byte of every entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EntryType {
    Registrar = 1,
    IssuancePeriod = 2,
    Campaign = 3,
    Declaration = 4,
    Withdrawal = 5,
    VouchedDeclaration = 6,
    UnverifiedDeclaration = 7,
    RegistrarRetirement = 8,
}

impl EntryType {
    /// Parses a type code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => EntryType::Registrar,
            2 => EntryType::IssuancePeriod,
            3 => EntryType::Campaign,
            4 => EntryType::Declaration,
            5 => EntryType::Withdrawal,
            6 => EntryType::VouchedDeclaration,
            7 => EntryType::UnverifiedDeclaration,
            8 => EntryType::RegistrarRetirement,
            _ => return None,
        })
    }

    /// The kebab-case name used in the API and the docs.
    pub fn name(self) -> &'static str {
        match self {
            EntryType::Registrar => "registrar",
            EntryType::IssuancePeriod => "issuance-period",
            EntryType::Campaign => "campaign",
            EntryType::Declaration => "declaration",
            EntryType::Withdrawal => "withdrawal",
            EntryType::VouchedDeclaration => "vouched-declaration",
            EntryType::UnverifiedDeclaration => "unverified-declaration",
            EntryType::RegistrarRetirement => "registrar-retirement",
        }
    }
}

/// Prefix of every Ed25519-signed message: domain separation from any other
/// use of the same key. The message is this prefix followed by the entry's
/// encoding up to (not including) the signature.
pub const SIGNATURE_CONTEXT: &[u8] = b"headcount entry signature v1\n";
/// Prefix of the BBS presentation header preimage of declarations and withdrawals.
pub const PRESENTATION_HEADER_CONTEXT: &[u8] = b"headcount presentation header v2\n";

/// `registrar` — a registrar's keys, name, policy and contact; self-signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registrar {
    /// Ed25519 key that signs this entry, issuance periods, vouched declarations
    /// and the registrar's retirement.
    pub signing_key: [u8; 32],
    /// BBS (BLS12-381 G2) public key that verifies its credentials.
    pub bbs_key: [u8; 96],
    pub name: String,
    pub policy: String,
    pub contact: String,
    pub signature: [u8; 64],
}

/// `issuance-period` — how many credentials a registrar issued in one
/// calendar month. Logged once the month is over, once per month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuancePeriod {
    pub registrar: RegistrarId,
    pub period: Period,
    /// Number of credentials issued in the month (its anonymity set). At least 1.
    pub size: u32,
    pub signature: [u8; 64],
}

/// `registrar-retirement` — a registrar retires its keys (e.g. after a
/// compromise). Afterwards no issuance period or vouched declaration of the
/// registrar is valid, and no new campaign may accept it; declarations under
/// its periods logged before the retirement still count, within their bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrarRetirement {
    pub registrar: RegistrarId,
    /// Why, in words (may be empty).
    pub reason: String,
    pub signature: [u8; 64],
}

/// One language version of a campaign's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignText {
    /// BCP 47 tag: ASCII letters, digits and `-`, e.g. `en`, `zh-Hant`.
    pub lang: String,
    pub title: String,
    pub statement: String,
}

/// `campaign` — an organiser's statement and rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    /// Ed25519 key of the organiser.
    pub organiser_key: [u8; 32],
    /// 1 to 8 language versions, distinct `lang` tags; the first is the original.
    pub texts: Vec<CampaignText>,
    /// Up to 32 addressees.
    pub addressees: Vec<String>,
    /// Registrars whose credentials and vouches count, strictly ascending.
    pub registrars: Vec<RegistrarId>,
    /// Unix seconds; declarations are accepted while `opens_at <= t < closes_at`
    /// where `t` is the sequencer's leaf timestamp.
    pub opens_at: u64,
    pub closes_at: u64,
    /// Leading zero bits an unverified declaration's hash must have; 0 means
    /// the campaign accepts no unverified declarations.
    pub unverified_difficulty: u8,
    /// The smallest issuance period (anonymity set) a credentialed declaration
    /// may disclose: at least [`limits::MIN_ANONYMITY`].
    pub min_anonymity: u32,
    pub signature: [u8; 64],
}

/// `declaration` — a credentialed, pseudonymous declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    pub campaign: CampaignId,
    pub pseudonym: Pseudonym,
    /// Disclosed credential attributes: the issuing registrar and the month of issuance.
    pub registrar: RegistrarId,
    pub period: Period,
    /// Entry hash of this pseudonym's previous entry in this campaign, or
    /// [`EntryHash::NONE`] (all zeros) for its first.
    pub predecessor: EntryHash,
    pub alias: String,
    pub message: String,
    /// BBS pseudonym proof; its presentation header is [`Declaration::presentation_header`].
    pub proof: Vec<u8>,
}

/// `withdrawal` — removes a pseudonym's declaration from the count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub campaign: CampaignId,
    pub pseudonym: Pseudonym,
    pub registrar: RegistrarId,
    pub period: Period,
    /// Entry hash of the declaration being withdrawn (the pseudonym's latest entry).
    pub predecessor: EntryHash,
    pub proof: Vec<u8>,
}

/// `vouched-declaration` — a registrar declares on behalf of a person it checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VouchedDeclaration {
    pub campaign: CampaignId,
    pub registrar: RegistrarId,
    /// Opaque, chosen by the registrar, one per person per campaign.
    pub reference: VouchReference,
    pub alias: String,
    pub message: String,
    pub signature: [u8; 64],
}

/// `unverified-declaration` — anyone, with a proof of work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnverifiedDeclaration {
    pub campaign: CampaignId,
    pub alias: String,
    pub message: String,
    /// Chosen so that SHA-256 of the whole entry has enough leading zero bits.
    pub nonce: u64,
}

/// A decoded log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Registrar(Registrar),
    IssuancePeriod(IssuancePeriod),
    Campaign(Campaign),
    Declaration(Declaration),
    Withdrawal(Withdrawal),
    VouchedDeclaration(VouchedDeclaration),
    UnverifiedDeclaration(UnverifiedDeclaration),
    RegistrarRetirement(RegistrarRetirement),
}

fn header(w: &mut Writer, t: EntryType) {
    w.u8(ENTRY_VERSION);
    w.u8(t as u8);
}

impl Registrar {
    fn write_unsigned(&self, w: &mut Writer) {
        header(w, EntryType::Registrar);
        w.fixed(&self.signing_key);
        w.fixed(&self.bbs_key);
        w.text(&self.name);
        w.text(&self.policy);
        w.text(&self.contact);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Registrar {
            signing_key: r.array("signing_key")?,
            bbs_key: r.array("bbs_key")?,
            name: r.text("name", TextKind::SingleLine, limits::REGISTRAR_NAME)?,
            policy: r.text("policy", TextKind::MultiLine, limits::REGISTRAR_POLICY)?,
            contact: r.text(
                "contact",
                TextKind::SingleLineOptional,
                limits::REGISTRAR_CONTACT,
            )?,
            signature: r.array("signature")?,
        })
    }
    /// The registrar's id.
    pub fn id(&self) -> RegistrarId {
        RegistrarId(Sha256::digest(unsigned(|w| self.write_unsigned(w))).into())
    }
}

impl IssuancePeriod {
    fn write_unsigned(&self, w: &mut Writer) {
        header(w, EntryType::IssuancePeriod);
        w.fixed(&self.registrar.0);
        w.u32(self.period.0);
        w.u32(self.size);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let b = IssuancePeriod {
            registrar: RegistrarId(r.array("registrar")?),
            period: Period(r.u32("period")?),
            size: r.u32("size")?,
            signature: r.array("signature")?,
        };
        if b.size == 0 {
            return Err(DecodeError::InvalidField {
                field: "size",
                reason: "a period has at least one credential",
            });
        }
        Ok(b)
    }
}

impl RegistrarRetirement {
    fn write_unsigned(&self, w: &mut Writer) {
        header(w, EntryType::RegistrarRetirement);
        w.fixed(&self.registrar.0);
        w.text(&self.reason);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RegistrarRetirement {
            registrar: RegistrarId(r.array("registrar")?),
            reason: r.text(
                "reason",
                TextKind::MultiLineOptional,
                limits::RETIREMENT_REASON,
            )?,
            signature: r.array("signature")?,
        })
    }
}

impl Campaign {
    fn write_unsigned(&self, w: &mut Writer) {
        header(w, EntryType::Campaign);
        w.fixed(&self.organiser_key);
        w.u8(count8(self.texts.len()));
        for t in &self.texts {
            w.text(&t.lang);
            w.text(&t.title);
            w.text(&t.statement);
        }
        w.u8(count8(self.addressees.len()));
        for a in &self.addressees {
            w.text(a);
        }
        w.u8(count8(self.registrars.len()));
        for r in &self.registrars {
            w.fixed(&r.0);
        }
        w.u64(self.opens_at);
        w.u64(self.closes_at);
        w.u8(self.unverified_difficulty);
        w.u32(self.min_anonymity);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let organiser_key = r.array("organiser_key")?;
        let n = r.u8("texts")? as usize;
        if n == 0 {
            return Err(DecodeError::EmptyField { field: "texts" });
        }
        if n > limits::TEXTS {
            return Err(DecodeError::FieldTooLong {
                field: "texts",
                max: limits::TEXTS,
            });
        }
        let mut texts: Vec<CampaignText> = Vec::with_capacity(n);
        for _ in 0..n {
            let lang = r.text("lang", TextKind::SingleLine, limits::LANG)?;
            if !lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(DecodeError::InvalidField {
                    field: "lang",
                    reason: "not a BCP 47 tag",
                });
            }
            if texts.iter().any(|t| t.lang == lang) {
                return Err(DecodeError::InvalidField {
                    field: "lang",
                    reason: "two texts in one language",
                });
            }
            texts.push(CampaignText {
                lang,
                title: r.text("title", TextKind::SingleLine, limits::TITLE)?,
                statement: r.text("statement", TextKind::MultiLine, limits::STATEMENT)?,
            });
        }
        let n = r.u8("addressees")? as usize;
        if n > limits::ADDRESSEES {
            return Err(DecodeError::FieldTooLong {
                field: "addressees",
                max: limits::ADDRESSEES,
            });
        }
        let mut addressees = Vec::with_capacity(n);
        for _ in 0..n {
            addressees.push(r.text("addressee", TextKind::SingleLine, limits::ADDRESSEE)?);
        }
        let n = r.u8("registrars")? as usize;
        if n > limits::REGISTRARS {
            return Err(DecodeError::FieldTooLong {
                field: "registrars",
                max: limits::REGISTRARS,
            });
        }
        let mut registrars: Vec<RegistrarId> = Vec::with_capacity(n);
        for _ in 0..n {
            let id = RegistrarId(r.array("registrar")?);
            if registrars.last().is_some_and(|last| *last >= id) {
                return Err(DecodeError::InvalidField {
                    field: "registrars",
                    reason: "registrar ids must be strictly ascending",
                });
            }
            registrars.push(id);
        }
        let opens_at = r.u64("opens_at")?;
        let closes_at = r.u64("closes_at")?;
        if closes_at <= opens_at {
            return Err(DecodeError::InvalidField {
                field: "closes_at",
                reason: "the campaign closes before it opens",
            });
        }
        let unverified_difficulty = r.u8("unverified_difficulty")?;
        if unverified_difficulty > limits::MAX_DIFFICULTY {
            return Err(DecodeError::InvalidField {
                field: "unverified_difficulty",
                reason: "above 40 bits",
            });
        }
        let min_anonymity = r.u32("min_anonymity")?;
        if min_anonymity < limits::MIN_ANONYMITY {
            return Err(DecodeError::InvalidField {
                field: "min_anonymity",
                reason: "below the protocol minimum of 100",
            });
        }
        Ok(Campaign {
            organiser_key,
            texts,
            addressees,
            registrars,
            opens_at,
            closes_at,
            unverified_difficulty,
            min_anonymity,
            signature: r.array("signature")?,
        })
    }
    /// The campaign's id.
    pub fn id(&self) -> CampaignId {
        CampaignId(Sha256::digest(unsigned(|w| self.write_unsigned(w))).into())
    }
    /// The text in `lang`, or the original (first) text.
    pub fn text(&self, lang: &str) -> &CampaignText {
        self.texts
            .iter()
            .find(|t| t.lang == lang)
            .unwrap_or(&self.texts[0])
    }
}

impl Declaration {
    fn write_unproven(&self, w: &mut Writer) {
        header(w, EntryType::Declaration);
        w.fixed(&self.campaign.0);
        w.fixed(&self.pseudonym.0);
        w.fixed(&self.registrar.0);
        w.u32(self.period.0);
        w.fixed(&self.predecessor.0);
        w.text(&self.alias);
        w.text(&self.message);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Declaration {
            campaign: CampaignId(r.array("campaign")?),
            pseudonym: Pseudonym(r.array("pseudonym")?),
            registrar: RegistrarId(r.array("registrar")?),
            period: Period(r.u32("period")?),
            predecessor: EntryHash(r.array("predecessor")?),
            alias: r.text("alias", TextKind::SingleLine, limits::ALIAS)?,
            message: r.text("message", TextKind::MultiLineOptional, limits::MESSAGE)?,
            proof: read_proof(r)?,
        })
    }
    /// The BBS presentation header: SHA-256 of the context string and the
    /// entry's encoding up to (not including) the proof, with the pseudonym
    /// field left out. It binds the proof to the campaign, the disclosed
    /// attributes, the predecessor, the alias and the message. The pseudonym is bound by the
    /// proof itself (its challenge hashes the pseudonym and the scope), and is
    /// only known once the proof is made, so the header cannot include it.
    pub fn presentation_header(&self) -> [u8; 32] {
        presentation_header(unsigned(|w| {
            header(w, EntryType::Declaration);
            w.fixed(&self.campaign.0);
            w.fixed(&self.registrar.0);
            w.u32(self.period.0);
            w.fixed(&self.predecessor.0);
            w.text(&self.alias);
            w.text(&self.message);
        }))
    }
}

impl Withdrawal {
    fn write_unproven(&self, w: &mut Writer) {
        header(w, EntryType::Withdrawal);
        w.fixed(&self.campaign.0);
        w.fixed(&self.pseudonym.0);
        w.fixed(&self.registrar.0);
        w.u32(self.period.0);
        w.fixed(&self.predecessor.0);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Withdrawal {
            campaign: CampaignId(r.array("campaign")?),
            pseudonym: Pseudonym(r.array("pseudonym")?),
            registrar: RegistrarId(r.array("registrar")?),
            period: Period(r.u32("period")?),
            predecessor: EntryHash(r.array("predecessor")?),
            proof: read_proof(r)?,
        })
    }
    /// The BBS presentation header (see [`Declaration::presentation_header`]):
    /// the context and version, type, campaign, registrar, period and predecessor.
    pub fn presentation_header(&self) -> [u8; 32] {
        presentation_header(unsigned(|w| {
            header(w, EntryType::Withdrawal);
            w.fixed(&self.campaign.0);
            w.fixed(&self.registrar.0);
            w.u32(self.period.0);
            w.fixed(&self.predecessor.0);
        }))
    }
}

impl VouchedDeclaration {
    fn write_unsigned(&self, w: &mut Writer) {
        header(w, EntryType::VouchedDeclaration);
        w.fixed(&self.campaign.0);
        w.fixed(&self.registrar.0);
        w.fixed(&self.reference.0);
        w.text(&self.alias);
        w.text(&self.message);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(VouchedDeclaration {
            campaign: CampaignId(r.array("campaign")?),
            registrar: RegistrarId(r.array("registrar")?),
            reference: VouchReference(r.array("reference")?),
            alias: r.text("alias", TextKind::SingleLine, limits::ALIAS)?,
            message: r.text("message", TextKind::MultiLineOptional, limits::MESSAGE)?,
            signature: r.array("signature")?,
        })
    }
}

impl UnverifiedDeclaration {
    fn write(&self, w: &mut Writer) {
        header(w, EntryType::UnverifiedDeclaration);
        w.fixed(&self.campaign.0);
        w.text(&self.alias);
        w.text(&self.message);
        w.u64(self.nonce);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(UnverifiedDeclaration {
            campaign: CampaignId(r.array("campaign")?),
            alias: r.text("alias", TextKind::SingleLine, limits::ALIAS)?,
            message: r.text("message", TextKind::MultiLineOptional, limits::MESSAGE)?,
            nonce: r.u64("nonce")?,
        })
    }
}

/// Proofs are opaque to the decoder (up to their length limit): whether
/// they are well formed is the verifier's call, which rejects every
/// malformed one, the empty one included, as `invalid_proof`.
fn read_proof(r: &mut Reader<'_>) -> Result<Vec<u8>, DecodeError> {
    Ok(r.var16("proof", limits::PROOF)?.to_vec())
}

fn count8(n: usize) -> u8 {
    // Lists longer than 255 encode as 255 items' worth of prefix and then fail
    // to decode (trailing bytes), so `Entry::build` rejects them.
    u8::try_from(n).unwrap_or(u8::MAX)
}

fn unsigned(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::default();
    f(&mut w);
    w.buf
}

fn presentation_header(unproven: Vec<u8>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(PRESENTATION_HEADER_CONTEXT);
    h.update(unproven);
    h.finalize().into()
}

/// The message an Ed25519 signature covers: the context and the unsigned encoding.
fn signing_message(unsigned: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_CONTEXT.len() + unsigned.len());
    m.extend_from_slice(SIGNATURE_CONTEXT);
    m.extend_from_slice(unsigned);
    m
}

/// Verifies an Ed25519 signature strictly (no small-order keys, canonical S).
pub(crate) fn verify_ed25519(key: &[u8; 32], unsigned: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(key) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(signature);
    vk.verify_strict(&signing_message(unsigned), &sig).is_ok()
}

/// What a credentialed entry (declaration or withdrawal) presents to the
/// verifier of its pseudonym proof.
pub struct Presentation<'a> {
    pub registrar: &'a RegistrarId,
    pub campaign: &'a CampaignId,
    pub period: Period,
    pub pseudonym: &'a Pseudonym,
    pub proof: &'a [u8],
    /// The presentation header the proof must be bound to.
    pub header: [u8; 32],
}

impl Entry {
    /// The pseudonym presentation of a declaration or withdrawal.
    pub fn presentation(&self) -> Option<Presentation<'_>> {
        match self {
            Entry::Declaration(e) => Some(Presentation {
                registrar: &e.registrar,
                campaign: &e.campaign,
                period: e.period,
                pseudonym: &e.pseudonym,
                proof: &e.proof,
                header: e.presentation_header(),
            }),
            Entry::Withdrawal(e) => Some(Presentation {
                registrar: &e.registrar,
                campaign: &e.campaign,
                period: e.period,
                pseudonym: &e.pseudonym,
                proof: &e.proof,
                header: e.presentation_header(),
            }),
            _ => None,
        }
    }

    /// The entry's type.
    pub fn entry_type(&self) -> EntryType {
        match self {
            Entry::Registrar(_) => EntryType::Registrar,
            Entry::IssuancePeriod(_) => EntryType::IssuancePeriod,
            Entry::Campaign(_) => EntryType::Campaign,
            Entry::Declaration(_) => EntryType::Declaration,
            Entry::Withdrawal(_) => EntryType::Withdrawal,
            Entry::VouchedDeclaration(_) => EntryType::VouchedDeclaration,
            Entry::UnverifiedDeclaration(_) => EntryType::UnverifiedDeclaration,
            Entry::RegistrarRetirement(_) => EntryType::RegistrarRetirement,
        }
    }

    /// The campaign an entry belongs to, for the types that belong to one.
    pub fn campaign(&self) -> Option<CampaignId> {
        match self {
            Entry::Campaign(c) => Some(c.id()),
            Entry::Declaration(d) => Some(d.campaign),
            Entry::Withdrawal(d) => Some(d.campaign),
            Entry::VouchedDeclaration(d) => Some(d.campaign),
            Entry::UnverifiedDeclaration(d) => Some(d.campaign),
            Entry::Registrar(_) | Entry::IssuancePeriod(_) | Entry::RegistrarRetirement(_) => None,
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write_unsigned(&mut w);
        match self {
            Entry::Registrar(e) => w.fixed(&e.signature),
            Entry::IssuancePeriod(e) => w.fixed(&e.signature),
            Entry::RegistrarRetirement(e) => w.fixed(&e.signature),
            Entry::Campaign(e) => w.fixed(&e.signature),
            Entry::VouchedDeclaration(e) => w.fixed(&e.signature),
            Entry::Declaration(e) => w.var16(&e.proof),
            Entry::Withdrawal(e) => w.var16(&e.proof),
            Entry::UnverifiedDeclaration(_) => {}
        }
        w.buf
    }

    /// The encoding of everything but the trailing signature or proof (for
    /// unverified declarations: the whole entry).
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        unsigned(|w| self.write_unsigned(w))
    }

    fn write_unsigned(&self, w: &mut Writer) {
        match self {
            Entry::Registrar(e) => e.write_unsigned(w),
            Entry::IssuancePeriod(e) => e.write_unsigned(w),
            Entry::RegistrarRetirement(e) => e.write_unsigned(w),
            Entry::Campaign(e) => e.write_unsigned(w),
            Entry::VouchedDeclaration(e) => e.write_unsigned(w),
            Entry::Declaration(e) => e.write_unproven(w),
            Entry::Withdrawal(e) => e.write_unproven(w),
            Entry::UnverifiedDeclaration(e) => e.write(w),
        }
    }

    /// SHA-256 of the encoding.
    pub fn hash(&self) -> EntryHash {
        EntryHash::of(&self.encode())
    }

    /// Decodes one entry, strictly.
    pub fn decode(bytes: &[u8]) -> Result<Entry, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError::Empty);
        }
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(DecodeError::FieldTooLong {
                field: "entry",
                max: MAX_ENTRY_LEN,
            });
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != ENTRY_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let code = r.u8("type")?;
        let t = EntryType::from_code(code).ok_or(DecodeError::UnknownType(code))?;
        let entry = match t {
            EntryType::Registrar => Entry::Registrar(Registrar::read(&mut r)?),
            EntryType::IssuancePeriod => Entry::IssuancePeriod(IssuancePeriod::read(&mut r)?),
            EntryType::RegistrarRetirement => {
                Entry::RegistrarRetirement(RegistrarRetirement::read(&mut r)?)
            }
            EntryType::Campaign => Entry::Campaign(Campaign::read(&mut r)?),
            EntryType::Declaration => Entry::Declaration(Declaration::read(&mut r)?),
            EntryType::Withdrawal => Entry::Withdrawal(Withdrawal::read(&mut r)?),
            EntryType::VouchedDeclaration => {
                Entry::VouchedDeclaration(VouchedDeclaration::read(&mut r)?)
            }
            EntryType::UnverifiedDeclaration => {
                Entry::UnverifiedDeclaration(UnverifiedDeclaration::read(&mut r)?)
            }
        };
        debug_assert!(r.position() <= bytes.len());
        r.finish()?;
        Ok(entry)
    }

    /// Encodes and re-decodes: the way tools build entries, so that only
    /// entries the log would accept as well-formed leave this crate.
    pub fn build(self) -> Result<(Entry, Vec<u8>), DecodeError> {
        let bytes = self.encode();
        let entry = Entry::decode(&bytes)?;
        Ok((entry, bytes))
    }

    /// Fills in the Ed25519 signature of a registrar, issuance-period, campaign,
    /// vouched-declaration or registrar-retirement entry, then builds it. Other types are built unchanged.
    pub fn sign(mut self, key: &SigningKey) -> Result<(Entry, Vec<u8>), DecodeError> {
        let sig = key
            .sign(&signing_message(&self.unsigned_bytes()))
            .to_bytes();
        match &mut self {
            Entry::Registrar(e) => e.signature = sig,
            Entry::IssuancePeriod(e) => e.signature = sig,
            Entry::RegistrarRetirement(e) => e.signature = sig,
            Entry::Campaign(e) => e.signature = sig,
            Entry::VouchedDeclaration(e) => e.signature = sig,
            _ => {}
        }
        self.build()
    }
}
