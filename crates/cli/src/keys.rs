//! Key files. Secrets are written owner-readable only and never printed.
//!
//! * operator (log) and witness keys: C2SP signed-note key text
//!   (`PRIVATE+KEY+<name>+<id>+<base64>` / `<name>+<id>+<base64>`);
//! * organiser and registrar keys: a small JSON document of hex keys.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Writes a secret file with mode 0600; refuses to overwrite.
pub fn write_secret(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

/// Writes a public file; refuses to overwrite.
pub fn write_public(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

/// Writes a signed-note key pair as `DIR/NAME.skey` (secret) and
/// `DIR/NAME.vkey`; returns the secret file's path.
pub fn write_note_key_pair(
    dir: &Path,
    name: &str,
    skey: String,
    vkey: &str,
) -> Result<std::path::PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.skey"));
    write_secret(&path, Zeroizing::new(skey).as_bytes())?;
    write_public(&path.with_extension("vkey"), vkey.as_bytes())?;
    Ok(path)
}

/// Reads a secret file into zeroizing memory.
pub fn read_secret(path: &Path) -> Result<Zeroizing<String>> {
    let s =
        fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?;
    Ok(Zeroizing::new(s))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganiserKeyFile {
    kind: String,
    ed25519_seed: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrarKeyFile {
    kind: String,
    ed25519_seed: String,
    /// BBS secret key (32 bytes, hex); empty for a registrar that only vouches.
    bbs_secret: String,
}

/// Public half of a registrar's keys.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct RegistrarPublic {
    pub kind: String,
    pub ed25519: String,
    pub bbs: String,
}

fn seed_from_hex(s: &str) -> Result<SigningKey> {
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(s.trim(), seed.as_mut()).context("a key seed is 64 hex digits")?;
    Ok(SigningKey::from_bytes(&seed))
}

/// An organiser's key.
pub fn new_organiser(dir: &Path, name: &str) -> Result<(SigningKey, std::path::PathBuf)> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let mut seed = hex::encode(key.to_bytes());
    let body = serde_json::to_string_pretty(&OrganiserKeyFile {
        kind: "organiser".into(),
        ed25519_seed: seed.clone(),
    })?;
    seed.zeroize();
    let path = dir.join(format!("{name}.key"));
    write_secret(&path, Zeroizing::new(body).as_bytes())?;
    let public = serde_json::json!({"kind": "organiser", "ed25519": hex::encode(key.verifying_key().to_bytes())});
    write_public(
        &dir.join(format!("{name}.pub")),
        serde_json::to_string_pretty(&public)?.as_bytes(),
    )?;
    Ok((key, path))
}

/// Loads an organiser key file.
pub fn load_organiser(path: &Path) -> Result<SigningKey> {
    let text = read_secret(path)?;
    let f: OrganiserKeyFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if f.kind != "organiser" {
        bail!(
            "{} is a {} key, not an organiser key",
            path.display(),
            f.kind
        );
    }
    let mut seed = f.ed25519_seed;
    let k = seed_from_hex(&seed);
    seed.zeroize();
    k
}

/// A registrar's keys: Ed25519 for signing entries, BBS for credentials.
pub struct RegistrarKeys {
    pub signing: SigningKey,
    /// The BBS secret key bytes (zeroized), if this registrar issues credentials.
    pub bbs_secret: Option<Zeroizing<[u8; 32]>>,
    pub bbs_public: [u8; 96],
}

/// Creates a registrar's key files. `bbs` is a freshly generated (secret, public) pair.
pub fn new_registrar(
    dir: &Path,
    name: &str,
    bbs: Option<(Zeroizing<[u8; 32]>, [u8; 96])>,
) -> Result<RegistrarKeys> {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let (bbs_secret, bbs_public) = match bbs {
        Some((s, p)) => (Some(s), p),
        None => (None, [0u8; 96]),
    };
    let file = RegistrarKeyFile {
        kind: "registrar".into(),
        ed25519_seed: hex::encode(signing.to_bytes()),
        bbs_secret: bbs_secret
            .as_ref()
            .map(|s| hex::encode(s.as_ref()))
            .unwrap_or_default(),
    };
    let body = Zeroizing::new(serde_json::to_string_pretty(&file)?);
    let RegistrarKeyFile {
        mut ed25519_seed,
        bbs_secret: mut b,
        ..
    } = file;
    ed25519_seed.zeroize();
    b.zeroize();
    write_secret(&dir.join(format!("{name}.key")), body.as_bytes())?;
    let public = RegistrarPublic {
        kind: "registrar".into(),
        ed25519: hex::encode(signing.verifying_key().to_bytes()),
        bbs: hex::encode(bbs_public),
    };
    write_public(
        &dir.join(format!("{name}.pub")),
        serde_json::to_string_pretty(&public)?.as_bytes(),
    )?;
    Ok(RegistrarKeys {
        signing,
        bbs_secret,
        bbs_public,
    })
}

/// Loads a registrar key file; `bbs_public` derives the BBS public key from the secret.
pub fn load_registrar(
    path: &Path,
    bbs_public: impl Fn(&[u8; 32]) -> Result<[u8; 96]>,
) -> Result<RegistrarKeys> {
    let text = read_secret(path)?;
    let mut f: RegistrarKeyFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if f.kind != "registrar" {
        bail!(
            "{} is a {} key, not a registrar key",
            path.display(),
            f.kind
        );
    }
    let signing = seed_from_hex(&f.ed25519_seed)?;
    f.ed25519_seed.zeroize();
    let (bbs_secret, public) = if f.bbs_secret.is_empty() {
        (None, [0u8; 96])
    } else {
        let mut s = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(f.bbs_secret.trim(), s.as_mut())
            .context("the BBS secret is 64 hex digits")?;
        f.bbs_secret.zeroize();
        let p = bbs_public(&s)?;
        (Some(s), p)
    };
    Ok(RegistrarKeys {
        signing,
        bbs_secret,
        bbs_public: public,
    })
}
