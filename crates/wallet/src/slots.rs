//! The wallet file, version 2: a clear header and [`SLOTS`] fixed-size encrypted slots, each
//! opened by its own passphrase (see the crate README for the normative description).
//!
//! ```text
//! offset            len       field
//!      0            8         magic "HCWALLET"
//!      8            1         version = 0x02
//!      9            4+4+4     Argon2id m_cost_kib, t_cost, p_cost (u32 big-endian), all slots
//!     21            4         slot_len: plaintext length of every slot (u32 big-endian)
//!     25 + i·S      S = 16 + 24 + slot_len + 16, for slot i in 0..SLOTS:
//!                     salt (16) ‖ nonce (24) ‖ XChaCha20-Poly1305 ciphertext (slot_len) ‖ tag (16)
//!                     under the key from Argon2id(passphrase, salt), aad = bytes 0..25 ‖ i
//! ```
//!
//! A slot that holds no identity is random bytes of the same length, written once when the
//! file is created and never touched again. Without a passphrase, an identity's slot and a
//! random one cannot be told apart (XChaCha20-Poly1305 ciphertexts and tags, random salts and
//! nonces are all uniformly random to anyone without the key).
//!
//! Opening runs Argon2id once per slot and a full trial decryption of every slot, whatever
//! the passphrase and whichever slot it opens: the time taken does not say which slot, if
//! any, it opened. Saving one identity re-seals its own slot and copies the other slots byte
//! for byte from the file on disk.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use crate::format::{MAGIC, NONCE_LEN, PAD_BLOCK, TAG_LEN};
use crate::kdf::{Identity, Params, SALT_LEN};
use crate::{Error, Passphrase};

/// The file format version written.
pub const VERSION: u8 = 2;
/// Number of slots in every file, with one identity or two.
pub const SLOTS: usize = 2;
/// Length of the clear header (the associated data of every slot, with the slot index).
pub const HEADER_LEN: usize = 8 + 1 + 12 + 4;
/// Bytes a slot adds to its plaintext: salt, nonce and tag.
pub const SLOT_OVERHEAD: usize = SALT_LEN + NONCE_LEN + TAG_LEN;
/// The plaintext length of each slot in a new file: 1 MiB (some 400 receipts).
pub const DEFAULT_SLOT_LEN: usize = 16 * PAD_BLOCK;
/// The largest slot accepted (so that a file stays under [`crate::format::MAX_FILE_LEN`]).
pub const MAX_SLOT_LEN: usize = 256 * PAD_BLOCK;

/// The clear header of a version 2 file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Layout {
    pub params: Params,
    pub slot_len: usize,
}

impl Layout {
    /// The length of one slot on disk.
    pub fn slot_size(&self) -> usize {
        SLOT_OVERHEAD + self.slot_len
    }

    /// The length of the whole file.
    pub fn file_len(&self) -> usize {
        HEADER_LEN + SLOTS * self.slot_size()
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(MAGIC);
        h[8] = VERSION;
        h[9..13].copy_from_slice(&self.params.m_cost_kib.to_be_bytes());
        h[13..17].copy_from_slice(&self.params.t_cost.to_be_bytes());
        h[17..21].copy_from_slice(&self.params.p_cost.to_be_bytes());
        // slot_len ≤ MAX_SLOT_LEN fits a u32 (checked by `valid`).
        h[21..25].copy_from_slice(&(self.slot_len as u32).to_be_bytes());
        h
    }

    /// Parses the header of a file whose magic and version the caller checked, and checks
    /// that the file has exactly the length it implies.
    pub fn decode(file: &[u8]) -> Result<Self, Error> {
        if file.len() < HEADER_LEN {
            return Err(Error::WrongPassphraseOrCorrupt);
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([file[i], file[i + 1], file[i + 2], file[i + 3]]);
        let l = Self {
            params: Params {
                m_cost_kib: u32_at(9),
                t_cost: u32_at(13),
                p_cost: u32_at(17),
            },
            slot_len: u32_at(21) as usize,
        };
        if !l.valid() || file.len() != l.file_len() {
            return Err(Error::WrongPassphraseOrCorrupt);
        }
        Ok(l)
    }

    fn valid(&self) -> bool {
        self.params.validate().is_ok()
            && self.slot_len >= PAD_BLOCK
            && self.slot_len <= MAX_SLOT_LEN
            && self.slot_len.is_multiple_of(PAD_BLOCK)
    }

    fn slot_range(&self, i: usize) -> std::ops::Range<usize> {
        let start = HEADER_LEN + i * self.slot_size();
        start..start + self.slot_size()
    }

    fn aad(&self, i: usize) -> [u8; HEADER_LEN + 1] {
        let mut a = [0u8; HEADER_LEN + 1];
        a[..HEADER_LEN].copy_from_slice(&self.encode());
        // i < SLOTS ≤ 255.
        a[HEADER_LEN] = i as u8;
        a
    }
}

/// What one identity needs to seal its slot.
pub(crate) struct SlotKey<'a> {
    pub identity: &'a Identity,
    pub salt: [u8; SALT_LEN],
}

/// Seals `plaintext` (exactly `layout.slot_len` bytes, consumed) as slot `i`.
pub(crate) fn seal_slot(
    layout: &Layout,
    i: usize,
    key: &SlotKey<'_>,
    mut plaintext: Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, Error> {
    if plaintext.len() != layout.slot_len {
        return Err(Error::WalletFull);
    }
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(<&Key>::from(key.identity.file_key()));
    let tag = cipher
        .encrypt_in_place_detached(<&XNonce>::from(&nonce), &layout.aad(i), &mut plaintext)
        .map_err(|_| Error::TooLarge)?;
    let mut out = Vec::with_capacity(layout.slot_size());
    out.extend_from_slice(&key.salt);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&plaintext);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// A slot that holds no identity: random bytes.
pub(crate) fn random_slot(layout: &Layout) -> Vec<u8> {
    let mut s = vec![0u8; layout.slot_size()];
    OsRng.fill_bytes(&mut s);
    s
}

/// Assembles a file from its header and one sealed (or random) slot per index.
pub(crate) fn assemble(layout: &Layout, slots: &[Vec<u8>]) -> Vec<u8> {
    debug_assert_eq!(slots.len(), SLOTS);
    let mut f = Vec::with_capacity(layout.file_len());
    f.extend_from_slice(&layout.encode());
    for s in slots {
        debug_assert_eq!(s.len(), layout.slot_size());
        f.extend_from_slice(s);
    }
    f
}

/// The bytes of slot `i` of a file whose layout is `layout`.
pub(crate) fn slot_bytes<'a>(layout: &Layout, file: &'a [u8], i: usize) -> &'a [u8] {
    &file[layout.slot_range(i)]
}

/// The work an open did, counted where it is done (tests check that it never depends on the
/// passphrase).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Work {
    /// Argon2id runs.
    pub kdf_runs: usize,
    /// Bytes run through XChaCha20 (keystream) and through Poly1305.
    pub keystream_bytes: usize,
    pub mac_bytes: usize,
}

/// An opened slot.
pub(crate) struct Opened {
    pub index: usize,
    pub identity: Identity,
    pub salt: [u8; SALT_LEN],
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// Tries `passphrase` on every slot, doing the same work for each whether it opens or not,
/// and returns the first slot it opens (a passphrase never opens two: creation and
/// passphrase changes refuse a passphrase that opens another slot).
pub(crate) fn open_slots(
    layout: &Layout,
    file: &[u8],
    passphrase: &Passphrase,
    work: &mut Work,
) -> Result<Option<Opened>, Error> {
    let mut found = None;
    for i in 0..SLOTS {
        let slot = slot_bytes(layout, file, i);
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&slot[..SALT_LEN]);
        let nonce = &slot[SALT_LEN..SALT_LEN + NONCE_LEN];
        let (ct, tag) = slot[SALT_LEN + NONCE_LEN..].split_at(layout.slot_len);
        work.kdf_runs += 1;
        // `Err(Credential)`: key material that maps to the zero scalar (probability 2^-255):
        // treated as a slot this passphrase does not open, with a throwaway key so that the
        // work stays the same.
        let identity = match Identity::derive(passphrase, &salt, &layout.params) {
            Ok(id) => Some(id),
            Err(Error::Credential(_)) => None,
            Err(e) => return Err(e),
        };
        let mut throwaway = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(throwaway.as_mut());
        let key = identity.as_ref().map_or(&*throwaway, |id| id.file_key());
        let plain = trial_decrypt(key, nonce, &layout.aad(i), ct, tag, work);
        if let (Some(plaintext), Some(identity), None) = (plain, identity, &found) {
            found = Some(Opened {
                index: i,
                identity,
                salt,
                plaintext,
            });
        }
    }
    Ok(found)
}

/// Authenticates and decrypts one slot, with the same work whether it opens or not:
/// XChaCha20-Poly1305 checks the tag (a Poly1305 pass) and only then decrypts (a keystream
/// pass), so a success adds one Poly1305-only pass (a tag check bound to fail, on a copy) and
/// a failure adds one keystream-and-Poly1305 pass (encrypting a copy). Either way: two copies,
/// two Poly1305 passes and one keystream pass over the slot.
fn trial_decrypt(
    key: &[u8; 32],
    nonce: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
    work: &mut Work,
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = XChaCha20Poly1305::new(<&Key>::from(key));
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    let nonce = <&XNonce>::from(&n);
    let mut t = [0u8; TAG_LEN];
    t.copy_from_slice(tag);
    let mut buf = Zeroizing::new(ct.to_vec());
    let mut scratch = ct.to_vec();
    work.mac_bytes += ct.len();
    let opened = cipher
        .decrypt_in_place_detached(nonce, aad, &mut buf, <&Tag>::from(&t))
        .is_ok();
    if opened {
        work.keystream_bytes += ct.len();
        // A tag that is not the slot's (the real one with its bits flipped): fails after the
        // Poly1305 pass, before any keystream.
        let mut other = [0u8; TAG_LEN];
        for (o, x) in other.iter_mut().zip(t) {
            *o = !x;
        }
        let _ = cipher.decrypt_in_place_detached(nonce, aad, &mut scratch, <&Tag>::from(&other));
        work.mac_bytes += ct.len();
        Some(buf)
    } else {
        let _ = cipher.encrypt_in_place_detached(nonce, aad, &mut scratch);
        work.keystream_bytes += ct.len();
        work.mac_bytes += ct.len();
        buf.zeroize();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Contents;

    const P: Params = Params::insecure_for_tests();

    /// A file with an identity for each passphrase in slots `order`, the rest random.
    fn file(layout: &Layout, identities: &[(&str, usize)]) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = (0..SLOTS).map(|_| random_slot(layout)).collect();
        for (p, i) in identities {
            let salt = [*i as u8 + 1; SALT_LEN];
            let id = Identity::derive(&Passphrase::new(p).unwrap(), &salt, &P).unwrap();
            let key = SlotKey {
                identity: &id,
                salt,
            };
            parts[*i] = seal_slot(
                layout,
                *i,
                &key,
                Contents::default().encode(layout.slot_len).unwrap(),
            )
            .unwrap();
        }
        assemble(layout, &parts)
    }

    fn work(layout: &Layout, f: &[u8], p: &str) -> (Option<usize>, Work) {
        let mut w = Work::default();
        let o = open_slots(layout, f, &Passphrase::new(p).unwrap(), &mut w).unwrap();
        (o.map(|o| o.index), w)
    }

    /// The work of an open, counted where it is done, is the same for the right passphrase
    /// of either slot, a wrong one, and a single-identity file: what makes the time of a
    /// wrong passphrase the same as that of a right one for the other slot.
    #[test]
    fn every_open_does_the_same_work() {
        let layout = Layout {
            params: P,
            slot_len: PAD_BLOCK,
        };
        let two = file(&layout, &[("main", 1), ("decoy", 0)]);
        let one = file(&layout, &[("alone", 0)]);
        let expect = Work {
            kdf_runs: SLOTS,
            keystream_bytes: SLOTS * layout.slot_len,
            mac_bytes: 2 * SLOTS * layout.slot_len,
        };
        assert_eq!(work(&layout, &two, "main"), (Some(1), expect));
        assert_eq!(work(&layout, &two, "decoy"), (Some(0), expect));
        assert_eq!(work(&layout, &two, "wrong"), (None, expect));
        assert_eq!(work(&layout, &one, "alone"), (Some(0), expect));
        assert_eq!(work(&layout, &one, "main"), (None, expect));
    }

    #[test]
    fn a_slot_moved_to_another_index_does_not_open() {
        let layout = Layout {
            params: P,
            slot_len: PAD_BLOCK,
        };
        let f = file(&layout, &[("main", 0)]);
        let mut swapped = f[..HEADER_LEN].to_vec();
        swapped.extend_from_slice(slot_bytes(&layout, &f, 1));
        swapped.extend_from_slice(slot_bytes(&layout, &f, 0));
        assert_eq!(work(&layout, &swapped, "main").0, None);
        assert_eq!(work(&layout, &f, "main").0, Some(0));
    }
}
