use headcount_cosignature::{CosignatureSigner, Policy};
use headcount_tlog::LogVerifier;

use crate::Error;

/// What a mirror needs: its cosigning key (whose name is the mirror's name), the one log it
/// mirrors (key and URL prefix), and optionally a witness policy the log's checkpoints must
/// satisfy before the mirror takes them.
#[derive(Debug, Clone)]
pub struct MirrorConfig {
    pub(crate) signer: CosignatureSigner,
    pub(crate) log: LogVerifier,
    pub(crate) log_vkey: String,
    pub(crate) log_url: String,
    pub(crate) policy: Option<Policy>,
}

impl MirrorConfig {
    /// `skey`: the mirror's cosignature/v1 secret key; `log_vkey`: the log's checkpoint key
    /// (its name is the origin); `log_url`: the log's tlog-tiles URL prefix (`http(s)://…`).
    pub fn new(skey: &str, log_vkey: &str, log_url: &str) -> Result<Self, Error> {
        let signer = CosignatureSigner::from_skey(skey.trim())
            .map_err(|e| Error::Config(format!("the mirror key: {e}")))?;
        let log = LogVerifier::from_vkey(log_vkey.trim())
            .map_err(|e| Error::Config(format!("the log key: {e}")))?;
        if !(log_url.starts_with("http://") || log_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "the log URL {log_url:?} is not http:// or https://"
            )));
        }
        Ok(Self {
            signer,
            log,
            log_vkey: log_vkey.trim().to_owned(),
            log_url: log_url.trim_end_matches('/').to_owned(),
            policy: None,
        })
    }

    /// Requires every checkpoint mirrored to satisfy `policy` (C2SP tlog-policy): the log's
    /// signature and the witnesses' quorum.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The mirror's name (its key name).
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// The mirror's verifier key, for clients' witness policies.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// The mirrored log's origin.
    pub fn origin(&self) -> &str {
        self.log.origin()
    }
}
