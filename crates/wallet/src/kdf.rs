//! Argon2id parameters and the key schedule: passphrase → (nym key material, file key).

use argon2::{Algorithm, Argon2, Version};
use headcount_credentials::NymSecret;
use hkdf::Hkdf;
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

use crate::{Error, Passphrase};

/// Length of the random Argon2id salt, in bytes.
pub const SALT_LEN: usize = 16;

/// HKDF-SHA256 `info` for the 32 octets given to [`NymSecret::from_key_material`].
pub const INFO_NYM: &[u8] = b"headcount/wallet/v1/nym-key-material";
/// HKDF-SHA256 `info` for the XChaCha20-Poly1305 file key.
pub const INFO_FILE_KEY: &[u8] = b"headcount/wallet/v1/file-key";

/// Largest accepted memory cost: 1 GiB (in KiB), 16× the recommended setting. Bounds what a
/// damaged or tampered header can make us allocate before the passphrase is even checked.
pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
/// Largest accepted number of passes.
pub const MAX_T_COST: u32 = 16;
/// Largest accepted memory × passes (KiB × passes): 4 GiB-passes, about 20× the recommended
/// 64 MiB × 3, so a tampered header cannot make unlocking stall for minutes.
pub const MAX_WORK_KIB_PASSES: u64 = 4 * 1024 * 1024;
/// Largest accepted number of lanes.
pub const MAX_P_COST: u32 = 16;

/// Argon2id (version 0x13) cost parameters. Stored in the wallet header, so that a wallet made
/// with other parameters still opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Params {
    /// Memory, in KiB (`m`).
    pub m_cost_kib: u32,
    /// Passes over memory (`t`).
    pub t_cost: u32,
    /// Lanes (`p`). The `argon2` crate computes lanes one after the other, so `p` does not
    /// change the wall-clock time here, only the memory layout.
    pub p_cost: u32,
}

impl Params {
    /// The default: RFC 9106 §4, second recommended option ("uniformly safe" when much less
    /// memory is available than the first option's 2 GiB): Argon2id, `t = 3`, `p = 4`,
    /// `m = 2^16` KiB (64 MiB).
    pub const fn recommended() -> Self {
        Self {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 4,
        }
    }

    /// **Insecure**: `m = 64` KiB, `t = 1`, `p = 1`, a fraction of a millisecond per guess.
    /// Only for tests and the demo, which must say that it uses it.
    pub const fn insecure_for_tests() -> Self {
        Self {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    /// Whether any cost is below [`Params::recommended`] (a front end should warn).
    pub fn is_below_recommended(&self) -> bool {
        let r = Self::recommended();
        self.m_cost_kib < r.m_cost_kib || self.t_cost < r.t_cost
    }

    /// Checks the bounds this crate accepts (also applied to headers read from disk).
    pub fn validate(&self) -> Result<(), Error> {
        if self.p_cost == 0
            || self.p_cost > MAX_P_COST
            || self.t_cost == 0
            || self.t_cost > MAX_T_COST
            || self.m_cost_kib < 8 * self.p_cost
            || self.m_cost_kib > MAX_M_COST_KIB
            || u64::from(self.m_cost_kib) * u64::from(self.t_cost) > MAX_WORK_KIB_PASSES
        {
            return Err(Error::InvalidParams);
        }
        Ok(())
    }

    fn argon2(&self) -> Result<Argon2<'static>, Error> {
        self.validate()?;
        let p = argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|_| Error::InvalidParams)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
    }
}

impl Default for Params {
    fn default() -> Self {
        Self::recommended()
    }
}

/// `Argon2id(passphrase, salt, params)`, 32 octets.
fn argon2id(
    passphrase: &Passphrase,
    salt: &[u8; SALT_LEN],
    params: &Params,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let mut out = Zeroizing::new([0u8; 32]);
    params
        .argon2()?
        .hash_password_into(passphrase.expose_bytes(), salt, out.as_mut())
        .map_err(|_| Error::InvalidParams)?;
    Ok(out)
}

/// The declarant's identity: everything derived from passphrase + salt + params.
///
/// ```text
/// ikm            = Argon2id-v0x13(P = UTF-8(NFC(passphrase)), S = salt (16), m, t, p, T = 32)
/// nym_km         = HKDF-SHA256(salt = "", IKM = ikm, info = INFO_NYM,      L = 32)
/// file_key       = HKDF-SHA256(salt = "", IKM = ikm, info = INFO_FILE_KEY, L = 32)
/// nym_secret     = NymSecret::from_key_material(nym_km)
/// ```
///
/// Zeroized on drop; `Debug` prints nothing secret.
pub struct Identity {
    nym: NymSecret,
    file_key: Zeroizing<[u8; 32]>,
}

impl Identity {
    /// Derives the identity. Deterministic: the same passphrase, salt and parameters always
    /// give the same nym secret and file key.
    pub fn derive(
        passphrase: &Passphrase,
        salt: &[u8; SALT_LEN],
        params: &Params,
    ) -> Result<Self, Error> {
        let ikm = argon2id(passphrase, salt, params)?;
        let hk = Hkdf::<Sha256>::new(None, ikm.as_ref());
        let mut nym_km = Zeroizing::new([0u8; 32]);
        let mut file_key = Zeroizing::new([0u8; 32]);
        // 32 ≤ 255 × 32: expand cannot fail.
        hk.expand(INFO_NYM, nym_km.as_mut())
            .map_err(|_| Error::InvalidParams)?;
        hk.expand(INFO_FILE_KEY, file_key.as_mut())
            .map_err(|_| Error::InvalidParams)?;
        let nym = NymSecret::from_key_material(&nym_km)?;
        Ok(Self { nym, file_key })
    }

    /// The nym secret (`prover_nym`) used to request credentials.
    pub fn nym_secret(&self) -> &NymSecret {
        &self.nym
    }

    pub(crate) fn file_key(&self) -> &[u8; 32] {
        &self.file_key
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity(<redacted>)")
    }
}
