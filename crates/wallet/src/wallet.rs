//! The wallet: an [`Identity`] plus its records, kept in one encrypted file.

use headcount_credentials::{
    Attributes, BlindSignature, IssuanceRequest, IssuanceState, NymSecret, RegistrarPublicKey,
    finish_credential, request_credential,
};
use rand_core::{OsRng, RngCore};
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::format::{self, Contents, Header, MAX_FILE_LEN, PAD_BLOCK, VERSION_1};
use crate::kdf::{Identity, Params, SALT_LEN};
use crate::records::{PendingEntry, PendingIssuance, Receipt, StoredCredential};
use crate::slots::{self, DEFAULT_SLOT_LEN, Layout, MAX_SLOT_LEN, SLOTS, SlotKey};
use crate::{Error, Passphrase};
use headcount_core::Period;

/// An open wallet: one identity, in one slot of the wallet file. Changes stay in memory until
/// [`Wallet::save`]. Zeroized on drop (every secret field is); `Debug` prints nothing.
pub struct Wallet {
    path: PathBuf,
    params: Params,
    salt: [u8; SALT_LEN],
    identity: Identity,
    contents: Contents,
    /// This identity's slot in the file.
    slot: usize,
    /// The plaintext length of every slot of the file.
    slot_len: usize,
    /// Opened from a version 1 file: the first save writes a version 2 file.
    from_v1: bool,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wallet(<redacted>)")
    }
}

impl Wallet {
    /// Creates a new identity (fresh random salt) and writes a wallet file at `path` that
    /// holds it in a random slot, the other slot random bytes. Fails with
    /// [`Error::AlreadyExists`] if `path` exists: an identity is never overwritten.
    pub fn create(path: &Path, passphrase: &Passphrase, params: Params) -> Result<Self, Error> {
        let mut ws = Self::create_slots(path, &[passphrase], params)?;
        Ok(ws.remove(0))
    }

    /// Creates a wallet file with two identities, each opened by its own passphrase: the
    /// main one and an innocent decoy to open under coercion. The file has the same size and
    /// structure as one made by [`Wallet::create`], and neither passphrase reveals the other
    /// identity (see the crate README). Returns `(main, decoy)`. The passphrases must differ
    /// ([`Error::PassphraseInUse`]).
    pub fn create_with_decoy(
        path: &Path,
        passphrase: &Passphrase,
        decoy: &Passphrase,
        params: Params,
    ) -> Result<(Self, Self), Error> {
        use subtle::ConstantTimeEq;
        if bool::from(passphrase.expose_bytes().ct_eq(decoy.expose_bytes())) {
            return Err(Error::PassphraseInUse);
        }
        let mut ws = Self::create_slots(path, &[passphrase, decoy], params)?;
        let decoy = ws.remove(1);
        Ok((ws.remove(0), decoy))
    }

    /// One identity per passphrase, in distinct random slots; the remaining slots random.
    fn create_slots(
        path: &Path,
        passphrases: &[&Passphrase],
        params: Params,
    ) -> Result<Vec<Self>, Error> {
        params.validate()?;
        if path.symlink_metadata().is_ok() {
            return Err(Error::AlreadyExists);
        }
        let layout = Layout {
            params,
            slot_len: DEFAULT_SLOT_LEN,
        };
        let order = random_order();
        let mut parts: Vec<Vec<u8>> = (0..SLOTS).map(|_| slots::random_slot(&layout)).collect();
        let mut wallets = Vec::with_capacity(passphrases.len());
        for (p, slot) in passphrases.iter().zip(order) {
            let (salt, identity) = new_identity(p, &params)?;
            let w = Self {
                path: path.to_path_buf(),
                params,
                salt,
                identity,
                contents: Contents::default(),
                slot,
                slot_len: layout.slot_len,
                from_v1: false,
            };
            parts[slot] = w.seal_own(&layout)?;
            wallets.push(w);
        }
        write_atomic(path, &slots::assemble(&layout, &parts), true)?;
        Ok(wallets)
    }

    /// Opens the identity `passphrase` unlocks in the wallet at `path`. Every open costs the
    /// same (one Argon2id run and one trial decryption per slot), whichever slot the
    /// passphrase opens, or none. A wrong passphrase and a damaged file are the same error,
    /// [`Error::WrongPassphraseOrCorrupt`], by design. A version 1 file opens too, and is
    /// rewritten as version 2 on the next save.
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<Self, Error> {
        let file = read_bounded(path)?;
        match version_of(&file)? {
            VERSION_1 => Self::open_v1(path, &file, passphrase),
            slots::VERSION => {
                let layout = Layout::decode(&file)?;
                let opened =
                    slots::open_slots(&layout, &file, passphrase, &mut slots::Work::default())?
                        .ok_or(Error::WrongPassphraseOrCorrupt)?;
                let contents = Contents::decode(&opened.plaintext)?;
                Ok(Self {
                    path: path.to_path_buf(),
                    params: layout.params,
                    salt: opened.salt,
                    identity: opened.identity,
                    contents,
                    slot: opened.index,
                    slot_len: layout.slot_len,
                    from_v1: false,
                })
            }
            v => Err(Error::UnsupportedVersion(v)),
        }
    }

    fn open_v1(path: &Path, file: &[u8], passphrase: &Passphrase) -> Result<Self, Error> {
        let header = Header::decode(file)?;
        let identity = Identity::derive(passphrase, &header.salt, &header.params)?;
        let plain = format::open_v1(&identity, &header, file)?;
        let contents = Contents::decode(&plain)?;
        let slot_len = contents
            .encoded_len()
            .div_ceil(PAD_BLOCK)
            .saturating_mul(PAD_BLOCK)
            .max(DEFAULT_SLOT_LEN);
        if slot_len > MAX_SLOT_LEN {
            return Err(Error::TooLarge);
        }
        Ok(Self {
            path: path.to_path_buf(),
            params: header.params,
            salt: header.salt,
            identity,
            contents,
            slot: random_order()[0],
            slot_len,
            from_v1: true,
        })
    }

    /// Re-seals this identity's slot under a fresh random nonce and replaces the file
    /// atomically (temporary file in the same folder, fsync, rename, fsync of the folder),
    /// with every other slot copied byte for byte from the file on disk: whether another slot
    /// holds an identity or random bytes, saving this one leaves it exactly as it was. The
    /// plaintext never touches the disk. [`Error::WalletFull`] if the contents outgrow the
    /// slot; [`Error::FileChanged`] if the file on disk is no longer one this wallet is in.
    pub fn save(&self) -> Result<(), Error> {
        self.save_over(&self.salt)
    }

    /// [`Wallet::save`], where this identity's slot on disk starts with `disk_salt` (the salt
    /// before a passphrase change): a file whose slot does not is not ours to overwrite.
    fn save_over(&self, disk_salt: &[u8; SALT_LEN]) -> Result<(), Error> {
        let layout = self.layout();
        let own = self.seal_own(&layout)?;
        let current = match read_bounded(&self.path) {
            Ok(f) => Some(f),
            Err(Error::Io(e)) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let ours = |f: &[u8]| {
            version_of(f).ok() == Some(slots::VERSION)
                && Layout::decode(f).ok() == Some(layout)
                && slots::slot_bytes(&layout, f, self.slot)[..SALT_LEN] == disk_salt[..]
        };
        let parts: Vec<Vec<u8>> = match current {
            Some(f) if ours(&f) => (0..SLOTS)
                .map(|i| {
                    if i == self.slot {
                        own.clone()
                    } else {
                        slots::slot_bytes(&layout, &f, i).to_vec()
                    }
                })
                .collect(),
            // Upgrading a version 1 file (which holds only this identity), or the file is
            // gone: the other slots are random, as in a new file.
            Some(f) if self.from_v1 && Header::decode(&f).is_ok_and(|h| h.salt == *disk_salt) => {
                self.parts_with_random_others(&layout, own)
            }
            None => self.parts_with_random_others(&layout, own),
            Some(_) => return Err(Error::FileChanged),
        };
        write_atomic(&self.path, &slots::assemble(&layout, &parts), false)
    }

    fn parts_with_random_others(&self, layout: &Layout, own: Vec<u8>) -> Vec<Vec<u8>> {
        let mut own = Some(own);
        (0..SLOTS)
            .map(|i| {
                if i == self.slot {
                    own.take().unwrap_or_default()
                } else {
                    slots::random_slot(layout)
                }
            })
            .collect()
    }

    fn layout(&self) -> Layout {
        Layout {
            params: self.params,
            slot_len: self.slot_len,
        }
    }

    fn seal_own(&self, layout: &Layout) -> Result<Vec<u8>, Error> {
        let key = SlotKey {
            identity: &self.identity,
            salt: self.salt,
        };
        slots::seal_slot(
            layout,
            self.slot,
            &key,
            self.contents.encode(layout.slot_len)?,
        )
    }

    /// Changes this identity's passphrase, with a new salt, and saves. This is a **new
    /// identity** (new nym secret) for future credential requests; credentials already held
    /// keep working (each carries its own nym secret). Refused while an issuance is pending,
    /// since finishing it needs the old nym secret; refused with [`Error::ParamsFixed`] if
    /// `params` differ from the file's (every slot of a file uses the same Argon2id cost, and
    /// this identity cannot re-key the others: make a new wallet for a higher cost); refused
    /// with [`Error::PassphraseInUse`] if the new passphrase opens another slot.
    pub fn change_passphrase(
        &mut self,
        passphrase: &Passphrase,
        params: Params,
    ) -> Result<(), Error> {
        params.validate()?;
        if params != self.params {
            return Err(Error::ParamsFixed);
        }
        if !self.contents.pending.is_empty() {
            return Err(Error::IssuancePending);
        }
        let layout = self.layout();
        if let Ok(f) = read_bounded(&self.path)
            && Layout::decode(&f).ok() == Some(layout)
        {
            let opened = slots::open_slots(&layout, &f, passphrase, &mut slots::Work::default())?;
            if opened.is_some_and(|o| o.index != self.slot) {
                return Err(Error::PassphraseInUse);
            }
        }
        let (salt, identity) = new_identity(passphrase, &params)?;
        let old_salt = self.salt;
        let old_identity = std::mem::replace(&mut self.identity, identity);
        self.salt = salt;
        if let Err(e) = self.save_over(&old_salt) {
            self.identity = old_identity;
            self.salt = old_salt;
            return Err(e);
        }
        Ok(())
    }

    /// The wallet file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The Argon2id parameters of this identity (also in the clear header).
    pub fn params(&self) -> Params {
        self.params
    }

    /// The identity's salt (also in the clear header). With the passphrase and [`Wallet::params`]
    /// it re-derives the same nym secret via [`Identity::derive`]; it does not restore
    /// credentials (see the README, "What to back up").
    pub fn salt(&self) -> [u8; SALT_LEN] {
        self.salt
    }

    /// The derived identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The nym secret used to request credentials.
    pub fn nym_secret(&self) -> &NymSecret {
        self.identity.nym_secret()
    }

    // ----- credentials -----

    /// The credentials held.
    pub fn credentials(&self) -> &[StoredCredential] {
        &self.contents.credentials
    }

    /// Adds a credential.
    pub fn add_credential(&mut self, credential: StoredCredential) {
        self.contents.credentials.push(credential);
    }

    /// Removes and returns the credential at `index`.
    pub fn remove_credential(&mut self, index: usize) -> Option<StoredCredential> {
        (index < self.contents.credentials.len()).then(|| self.contents.credentials.remove(index))
    }

    // ----- issuance -----

    /// The issuance requests awaiting the registrar's answer.
    pub fn pending_issuances(&self) -> &[PendingIssuance] {
        &self.contents.pending
    }

    /// Step 1 of the offline flow: makes a credential request for `registrar_id` with a fresh,
    /// random prover secret (kept, encrypted, in this wallet: every credential has its own, so
    /// nothing a registrar stores relates two credentials of one wallet) and records its secret
    /// state (call [`Wallet::save`] before sending the request). Returns the request to send;
    /// its id is [`PendingIssuance::request_id_of`].
    pub fn start_issuance(
        &mut self,
        registrar_id: [u8; 32],
        period: Option<Period>,
    ) -> Result<IssuanceRequest, Error> {
        let (prover_key_material, nym) = loop {
            let mut km = [0u8; 32];
            OsRng.fill_bytes(&mut km);
            if let Ok(nym) = NymSecret::from_key_material(&km) {
                break (km, nym);
            }
        };
        let (request, state) = request_credential(&nym, &mut OsRng)?;
        self.contents.pending.push(PendingIssuance {
            request_id: PendingIssuance::request_id_of(&request),
            registrar_id,
            period,
            prover_key_material,
            request: request.clone(),
            state,
        });
        Ok(request)
    }

    /// Adds a pending issuance made elsewhere.
    pub fn add_pending(&mut self, pending: PendingIssuance) {
        self.contents.pending.push(pending);
    }

    /// Removes and returns the pending issuance with this request id.
    pub fn take_pending(&mut self, request_id: &[u8; 32]) -> Option<PendingIssuance> {
        let i = self
            .contents
            .pending
            .iter()
            .position(|p| &p.request_id == request_id)?;
        Some(self.contents.pending.remove(i))
    }

    /// Step 3 of the offline flow: verifies the registrar's blind signature, turns the pending
    /// request into a credential and stores it (call [`Wallet::save`] afterwards). On any error
    /// the pending request is kept.
    ///
    /// The credential's issuance period must be the current calendar month at `now` (Unix
    /// seconds; a few minutes of clock difference at a month's edge are allowed): a registrar
    /// that signs a past or future month — to put this person in a small set of their own, or
    /// into a month it has already logged — is refused with [`Error::WrongPeriod`].
    pub fn finish_issuance(
        &mut self,
        request_id: &[u8; 32],
        registrar_public_key: &RegistrarPublicKey,
        signature: &BlindSignature,
        attributes: &Attributes,
        now: u64,
    ) -> Result<&StoredCredential, Error> {
        let p = self
            .contents
            .pending
            .iter()
            .find(|p| &p.request_id == request_id)
            .ok_or(Error::UnknownRequest)?;
        let period = Period(attributes.period);
        if p.registrar_id != attributes.registrar_id || p.period.is_some_and(|x| x != period) {
            return Err(Error::IssuanceMismatch);
        }
        if !is_current_period(period, now) {
            return Err(Error::WrongPeriod {
                credential: period,
                current: Period::containing(now),
            });
        }
        let state = IssuanceState::from_bytes(p.state.to_bytes().as_ref())?;
        let nym = NymSecret::from_key_material(&p.prover_key_material)?;
        let credential =
            finish_credential(registrar_public_key, signature, state, &nym, attributes)?;
        drop(self.take_pending(request_id));
        self.contents
            .credentials
            .push(StoredCredential::new(*registrar_public_key, credential));
        Ok(self.contents.credentials.last().expect("just pushed"))
    }

    // ----- receipts -----

    /// All receipts.
    pub fn receipts(&self) -> &[Receipt] {
        &self.contents.receipts
    }

    /// The receipts for one campaign, in the order they were added.
    pub fn receipts_for_campaign<'a>(
        &'a self,
        campaign_id: &'a [u8; 32],
    ) -> impl Iterator<Item = &'a Receipt> + 'a {
        self.contents
            .receipts
            .iter()
            .filter(move |r| &r.campaign_id == campaign_id)
    }

    /// Adds a receipt; one with the same entry hash is replaced (resubmission is idempotent).
    pub fn add_receipt(&mut self, receipt: Receipt) {
        match self
            .contents
            .receipts
            .iter_mut()
            .find(|r| r.entry_hash == receipt.entry_hash)
        {
            Some(r) => *r = receipt,
            None => self.contents.receipts.push(receipt),
        }
    }

    /// The entry hash of this wallet's latest logged entry in a campaign (by leaf index), or
    /// `None`: what its next declaration or withdrawal there must name as its predecessor.
    pub fn latest_entry(&self, campaign_id: &[u8; 32]) -> Option<[u8; 32]> {
        self.receipts_for_campaign(campaign_id)
            .max_by_key(|r| r.leaf_index)
            .map(|r| r.entry_hash)
    }

    // ----- entries made but not yet acknowledged -----

    /// Entries stored before sending and not yet acknowledged or refused.
    pub fn pending_entries(&self) -> &[PendingEntry] {
        &self.contents.pending_entries
    }

    /// Records an entry before it is sent (call [`Wallet::save`] before sending it).
    pub fn add_pending_entry(&mut self, entry: PendingEntry) {
        if !self
            .contents
            .pending_entries
            .iter()
            .any(|e| e.entry == entry.entry)
        {
            self.contents.pending_entries.push(entry);
        }
    }

    /// Removes and returns the pending entry with this entry hash (acknowledged or refused).
    pub fn remove_pending_entry(&mut self, entry_hash: &[u8; 32]) -> Option<PendingEntry> {
        let i = self
            .contents
            .pending_entries
            .iter()
            .position(|e| &e.entry_hash() == entry_hash)?;
        Some(self.contents.pending_entries.remove(i))
    }

    // ----- public documents kept for offline use -----

    /// Public documents kept in the wallet (encrypted like everything else, because which
    /// campaigns they concern is private): campaign packets for offline declarations. Opaque
    /// bytes to this crate.
    pub fn documents(&self) -> impl Iterator<Item = &[u8]> {
        self.contents.documents.iter().map(|d| d.as_slice())
    }

    /// Keeps a document; an identical one is not stored twice. Returns whether it was new.
    pub fn add_document(&mut self, document: &[u8]) -> bool {
        if self
            .contents
            .documents
            .iter()
            .any(|d| d.as_slice() == document)
        {
            return false;
        }
        self.contents
            .documents
            .push(zeroize::Zeroizing::new(document.to_vec()));
        true
    }

    /// Removes every document for which `drop` is true; returns how many.
    pub fn remove_documents(&mut self, mut drop: impl FnMut(&[u8]) -> bool) -> usize {
        let before = self.contents.documents.len();
        self.contents.documents.retain(|d| !drop(d));
        before - self.contents.documents.len()
    }

    /// Removes and returns the receipt with this entry hash.
    pub fn remove_receipt(&mut self, entry_hash: &[u8; 32]) -> Option<Receipt> {
        let i = self
            .contents
            .receipts
            .iter()
            .position(|r| &r.entry_hash == entry_hash)?;
        Some(self.contents.receipts.remove(i))
    }
}

/// Clock difference tolerated at the edge of a month between the registrar and the wallet.
const PERIOD_EDGE_TOLERANCE: u64 = 15 * 60;

/// Whether `period` is the calendar month at `now`, allowing [`PERIOD_EDGE_TOLERANCE`] either
/// side of a month's edge.
pub fn is_current_period(period: Period, now: u64) -> bool {
    [
        now,
        now.saturating_sub(PERIOD_EDGE_TOLERANCE),
        now.saturating_add(PERIOD_EDGE_TOLERANCE),
    ]
    .iter()
    .any(|t| Period::containing(*t) == period)
}

/// A fresh salt and the identity it gives (a new salt in the negligible case that the derived
/// key material maps to the zero scalar).
fn new_identity(
    passphrase: &Passphrase,
    params: &Params,
) -> Result<([u8; SALT_LEN], Identity), Error> {
    loop {
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        match Identity::derive(passphrase, &salt, params) {
            Ok(id) => return Ok((salt, id)),
            Err(Error::Credential(_)) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The version byte of a file that starts with the wallet magic.
fn version_of(file: &[u8]) -> Result<u8, Error> {
    if file.len() < 8 || &file[..8] != format::MAGIC {
        return Err(Error::NotAWallet);
    }
    file.get(8).copied().ok_or(Error::WrongPassphraseOrCorrupt)
}

/// The slot indexes in a uniformly random order.
fn random_order() -> [usize; SLOTS] {
    let mut order: [usize; SLOTS] = std::array::from_fn(|i| i);
    // Fisher–Yates with rejection sampling (no modulo bias).
    for i in (1..SLOTS).rev() {
        let bound = (i + 1) as u32;
        let zone = u32::MAX - (u32::MAX % bound);
        let j = loop {
            let r = OsRng.next_u32();
            if r < zone {
                break (r % bound) as usize;
            }
        };
        order.swap(i, j);
    }
    order
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    let f = fs::File::open(path)?;
    let mut buf = Vec::new();
    f.take(MAX_FILE_LEN as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > MAX_FILE_LEN {
        return Err(Error::TooLarge);
    }
    Ok(buf)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder (mode 0600 on Unix),
/// fsync, then rename over `path` (or, with `no_replace`, a hard link that fails if `path`
/// exists), then fsync of the folder. The temporary file is removed on every error.
fn write_atomic(path: &Path, bytes: &[u8], no_replace: bool) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "wallet path has no file name")
    })?;
    let mut rnd = [0u8; 8];
    OsRng.fill_bytes(&mut rnd);
    let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{suffix}.tmp"));
    let tmp = dir.join(tmp_name);

    let result = (|| -> Result<(), Error> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if no_replace {
            match fs::hard_link(&tmp, path) {
                Ok(()) => fs::remove_file(&tmp)?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(Error::AlreadyExists);
                }
                // File systems without hard links: check, then rename (a small race).
                Err(_) if path.symlink_metadata().is_err() => fs::rename(&tmp, path)?,
                Err(_) => return Err(Error::AlreadyExists),
            }
        } else {
            fs::rename(&tmp, path)?;
        }
        sync_dir(dir)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{HEADER_LEN_V1, MAGIC};
    use crate::records::{Receipt, ReceiptKind};
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

    /// A version 1 file, written as the version 1 code did (the format is in the README).
    fn v1_file(passphrase: &Passphrase, contents: &Contents) -> Vec<u8> {
        let params = Params::insecure_for_tests();
        let salt = [5u8; SALT_LEN];
        let nonce = [6u8; 24];
        let id = Identity::derive(passphrase, &salt, &params).unwrap();
        let mut header = Vec::with_capacity(HEADER_LEN_V1);
        header.extend_from_slice(MAGIC);
        header.push(VERSION_1);
        for v in [params.m_cost_kib, params.t_cost, params.p_cost] {
            header.extend_from_slice(&v.to_be_bytes());
        }
        header.extend_from_slice(&salt);
        header.extend_from_slice(&nonce);
        let plain = contents.encode(PAD_BLOCK).unwrap();
        let ct = XChaCha20Poly1305::new(<&Key>::from(id.file_key()))
            .encrypt(
                <&XNonce>::from(&nonce),
                Payload {
                    msg: &plain,
                    aad: &header,
                },
            )
            .unwrap();
        [header, ct].concat()
    }

    #[test]
    fn a_version_1_wallet_opens_and_is_rewritten_as_version_2() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("old.hcw");
        let p = Passphrase::new("an old wallet passphrase").unwrap();
        let mut c = Contents::default();
        c.receipts.push(Receipt {
            campaign_id: [1; 32],
            entry_hash: [2; 32],
            leaf_index: 3,
            kind: ReceiptKind::Declaration,
            tlog_proof: "proof".into(),
            entry: vec![4; 10],
        });
        std::fs::write(&path, v1_file(&p, &c)).unwrap();
        let w = Wallet::open(&path, &p).unwrap();
        assert_eq!(w.receipts().len(), 1);
        assert!(matches!(
            Wallet::open(&path, &Passphrase::new("wrong").unwrap()),
            Err(Error::WrongPassphraseOrCorrupt)
        ));
        w.save().unwrap();
        let f = std::fs::read(&path).unwrap();
        assert_eq!(f[8], slots::VERSION);
        assert_eq!(f.len(), w.layout().file_len());
        let again = Wallet::open(&path, &p).unwrap();
        assert_eq!(again.receipts().len(), 1);
        assert_eq!(again.salt(), [5u8; SALT_LEN]);
        assert!(bool::from(subtle::ConstantTimeEq::ct_eq(
            again.nym_secret(),
            w.nym_secret()
        )));
        // Saving again keeps the other (random) slot as it is.
        again.save().unwrap();
        let g = std::fs::read(&path).unwrap();
        let other = 1 - again.slot;
        let l = again.layout();
        assert_eq!(
            slots::slot_bytes(&l, &f, other),
            slots::slot_bytes(&l, &g, other)
        );
    }
}
