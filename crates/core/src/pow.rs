//! Proof of work for unverified declarations.
//!
//! The server keeps no IP addresses, so it cannot rate-limit by address; an
//! unverified declaration instead carries work. The puzzle: SHA-256 of the
//! whole encoded entry (which ends in the 8-byte `nonce`) must start with at
//! least `difficulty` zero bits, where the campaign sets `difficulty`
//! (0 disables unverified declarations). Expected cost: 2^difficulty hashes.

use sha2::{Digest, Sha256};

use crate::entry::{Entry, UnverifiedDeclaration};

/// Number of leading zero bits of a hash.
pub fn leading_zero_bits(hash: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for b in hash {
        if *b == 0 {
            bits += 8;
        } else {
            bits += b.leading_zeros();
            break;
        }
    }
    bits
}

/// The work an unverified declaration carries, in bits.
pub fn work_bits(decl: &UnverifiedDeclaration) -> u32 {
    let bytes = Entry::UnverifiedDeclaration(decl.clone()).encode();
    leading_zero_bits(&Sha256::digest(bytes).into())
}

/// Searches nonces from `decl.nonce` upwards until the work reaches `difficulty`.
pub fn solve(mut decl: UnverifiedDeclaration, difficulty: u8) -> UnverifiedDeclaration {
    let mut bytes = Entry::UnverifiedDeclaration(decl.clone()).encode();
    let at = bytes.len() - 8;
    loop {
        bytes[at..].copy_from_slice(&decl.nonce.to_be_bytes());
        if leading_zero_bits(&Sha256::digest(&bytes).into()) >= u32::from(difficulty) {
            return decl;
        }
        decl.nonce = decl.nonce.wrapping_add(1);
    }
}
