use std::collections::BTreeMap;

use headcount_cosignature::{CosignatureSigner, LogVerifier};

use crate::Error;

/// What a witness needs to run: its cosigning key (whose name is the witness name) and the
/// logs it witnesses, each identified by its checkpoint origin line with the verifier keys
/// whose signatures it trusts for that origin.
#[derive(Debug, Clone)]
pub struct WitnessConfig {
    pub(crate) signer: CosignatureSigner,
    pub(crate) logs: BTreeMap<String, Vec<LogVerifier>>,
}

impl WitnessConfig {
    /// A configuration with no logs yet.
    pub fn new(signer: CosignatureSigner) -> Self {
        Self {
            signer,
            logs: BTreeMap::new(),
        }
    }

    /// A configuration from the witness's `skey` (cosignature/v1, type 0x04).
    pub fn from_skey(skey: &str) -> Result<Self, Error> {
        Ok(Self::new(CosignatureSigner::from_skey(skey)?))
    }

    /// Trusts `vkey` (signed-note form, type 0x01 Ed25519 or 0x04) for checkpoints with
    /// origin line `origin`. May be called several times per origin (key rotation).
    pub fn add_log(&mut self, origin: &str, vkey: &str) -> Result<&mut Self, Error> {
        if origin.is_empty() || origin.contains('\n') {
            return Err(Error::Config(format!("invalid log origin {origin:?}")));
        }
        let v = LogVerifier::from_vkey(vkey)?;
        let keys = self.logs.entry(origin.to_owned()).or_default();
        if !keys.contains(&v) {
            keys.push(v);
        }
        Ok(self)
    }

    /// Builder form of [`WitnessConfig::add_log`].
    pub fn with_log(mut self, origin: &str, vkey: &str) -> Result<Self, Error> {
        self.add_log(origin, vkey)?;
        Ok(self)
    }

    /// The witness's name (its key name).
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The witness's verifier key, for the logs' and clients' policies.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// The known log origins.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }
}
