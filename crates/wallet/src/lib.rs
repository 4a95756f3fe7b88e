//! The declarant's identity and wallet file for headcount.
//!
//! * [`Identity`]: `Argon2id(passphrase, salt, params)` → HKDF-SHA256 → two independent keys:
//!   the nym key material (→ [`headcount_credentials::NymSecret::from_key_material`]) and the
//!   wallet file key.
//! * [`Wallet`]: credentials, pending issuances and receipts in one file, encrypted with
//!   XChaCha20-Poly1305 under the file key, the clear header as associated data, saved
//!   atomically. See [`format`] and the crate README for the byte layout.
//! * [`Passphrase`]: from a string, a `--passphrase-file`, or the terminal without echo.
//!
//! Guarantee: a device seized without the passphrase does not reveal which campaigns its owner
//! joined (limits in the README). Every secret is zeroized on drop and every `Debug` redacts.

pub mod format;
mod kdf;
mod passphrase;
mod records;
pub mod slots;
mod wallet;

pub use kdf::{
    INFO_FILE_KEY, INFO_NYM, Identity, MAX_M_COST_KIB, MAX_P_COST, MAX_T_COST, MAX_WORK_KIB_PASSES,
    Params, SALT_LEN,
};
pub use passphrase::{MAX_PASSPHRASE_FILE, Passphrase};
pub use records::{PendingEntry, PendingIssuance, Receipt, ReceiptKind, StoredCredential};
pub use wallet::{Wallet, is_current_period};

/// Errors. None carries secret material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the wallet file failed.
    #[error("wallet file I/O: {0}")]
    Io(#[from] std::io::Error),
    /// `create` found a file at the path: an identity is never overwritten.
    #[error("a wallet file already exists at this path")]
    AlreadyExists,
    /// The file does not start with the wallet magic.
    #[error("not a headcount wallet file")]
    NotAWallet,
    /// A wallet file format this version does not read.
    #[error("unsupported wallet file version {0}")]
    UnsupportedVersion(u8),
    /// Wrong passphrase, or the file was damaged or tampered with. Indistinguishable by design.
    #[error("wrong passphrase, or the wallet file is damaged")]
    WrongPassphraseOrCorrupt,
    /// Argon2id parameters outside the accepted bounds.
    #[error(
        "Argon2id parameters out of bounds (at most 1 GiB, 16 passes, 16 lanes and 4 GiB-passes in all)"
    )]
    InvalidParams,
    /// A new passphrase a strength estimator (zxcvbn) finds too easy to guess.
    #[error("the passphrase is too easy to guess{0}; use 5 or more random words")]
    WeakPassphrase(String),
    /// The authenticated contents could not be parsed (a newer or buggy writer).
    #[error("wallet contents malformed or from a newer version")]
    InvalidContents,
    /// The wallet or a passphrase file exceeds the size limit.
    #[error("wallet too large")]
    TooLarge,
    /// An empty passphrase.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The passphrase file could not be read.
    #[error("cannot read the passphrase file: {0}")]
    PassphraseFile(std::io::Error),
    /// The passphrase file's first line is not UTF-8.
    #[error("the passphrase file is not UTF-8")]
    PassphraseNotUtf8,
    /// Reading from the terminal failed.
    #[error("cannot read the passphrase from the terminal: {0}")]
    Terminal(std::io::Error),
    /// The two passphrases typed differ.
    #[error("the passphrases do not match")]
    PassphraseMismatch,
    /// Refused while an issuance is pending (it needs the current nym secret).
    #[error("an issuance request is pending; finish or drop it first")]
    IssuancePending,
    /// No pending issuance has this request id.
    #[error("no pending issuance request with this id")]
    UnknownRequest,
    /// The registrar's answer names another registrar or month than the request.
    #[error("the issued attributes do not match the pending request")]
    IssuanceMismatch,
    /// The registrar signed a credential for a month other than the current one.
    #[error(
        "the registrar issued this credential for {credential}, but the current month is \
         {current}: a credential must be issued in the month it is requested, so that the \
         month it discloses is shared by everyone the registrar issued to that month. Do not \
         use this registrar (it may be trying to single you out), or check your clock"
    )]
    WrongPeriod {
        /// The month in the credential.
        credential: headcount_core::Period,
        /// The current month.
        current: headcount_core::Period,
    },
    /// The contents no longer fit in the wallet's slot.
    #[error(
        "the wallet is full: its fixed-size slot cannot hold more (remove old receipts or documents)"
    )]
    WalletFull,
    /// The wallet file on disk is no longer the one this wallet was opened from.
    #[error(
        "the wallet file on disk changed since it was opened (rewritten by another program); nothing was saved"
    )]
    FileChanged,
    /// Every identity in a wallet file uses the file's Argon2id cost.
    #[error(
        "a wallet file's Argon2id cost is fixed (every identity in it uses it): create a new wallet to change it"
    )]
    ParamsFixed,
    /// A new passphrase that would open another identity in the same file.
    #[error("this passphrase is already used in this wallet file: choose another")]
    PassphraseInUse,
    /// A credential operation failed.
    #[error("credential: {0}")]
    Credential(#[from] headcount_credentials::Error),
}
