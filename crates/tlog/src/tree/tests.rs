//! Tests of the tree: `tlog_tiles`' algorithms against a plain recursive RFC 6962
//! implementation, and the Appender's tiles against a from-scratch build.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use super::*;
use crate::tiles_for_size;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::Digest;

/// RFC 6962 section 2.1, written from the RFC's definitions, over leaf hashes, with memoised MTH.
struct Rfc {
    leaves: Vec<Hash>,
    memo: HashMap<(usize, usize), Hash>,
}

impl Rfc {
    fn new(leaves: Vec<Hash>) -> Self {
        Rfc {
            leaves,
            memo: HashMap::new(),
        }
    }

    /// Largest power of two strictly below n (n > 1).
    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[lo:hi]).
    fn mth(&mut self, lo: usize, hi: usize) -> Hash {
        let n = hi - lo;
        if n == 0 {
            return Hash(sha2::Sha256::digest([]).into());
        }
        if n == 1 {
            return self.leaves[lo];
        }
        if let Some(h) = self.memo.get(&(lo, hi)) {
            return *h;
        }
        let k = Self::k(n);
        let left = self.mth(lo, lo + k);
        let right = self.mth(lo + k, hi);
        let mut hasher = sha2::Sha256::new();
        hasher.update([1u8]);
        hasher.update(left.0);
        hasher.update(right.0);
        let h = Hash(hasher.finalize().into());
        self.memo.insert((lo, hi), h);
        h
    }

    /// PATH(m, D[lo:hi]).
    fn path(&mut self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return vec![];
        }
        let k = Self::k(n);
        if m < k {
            let mut p = self.path(m, lo, lo + k);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.path(m - k, lo + k, hi);
            p.push(self.mth(lo, lo + k));
            p
        }
    }

    /// SUBPROOF(m, D[lo:hi], b).
    fn subproof(&mut self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if b { vec![] } else { vec![self.mth(lo, hi)] };
        }
        let k = Self::k(n);
        if m <= k {
            let mut p = self.subproof(m, lo, lo + k, b);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.subproof(m - k, lo + k, hi, false);
            p.push(self.mth(lo, lo + k));
            p
        }
    }
}

type MemReader = MemoryTiles;

fn entry(i: usize) -> Vec<u8> {
    format!("entry {i}").into_bytes().repeat(i % 3)
}

/// Builds a log one entry at a time up to `n`, keeping every tile ever written.
fn build_one_by_one(n: usize) -> (MemReader, Vec<Hash>, Vec<Hash>) {
    let mut reader = MemReader::default();
    let mut app = Appender::empty();
    let mut leaves = Vec::new();
    let mut roots = vec![EMPTY_ROOT];
    for i in 0..n {
        let e = entry(i);
        leaves.push(leaf_hash(&e));
        let out = app.append(&[e]).unwrap();
        assert_eq!(out.first_index, LeafIndex(i as u64));
        assert_eq!(out.size, TreeSize(i as u64 + 1));
        reader.store(&out);
        roots.push(out.root);
    }
    (reader, leaves, roots)
}

#[test]
fn empty_tree() {
    let app = Appender::empty();
    assert_eq!(app.root(), EMPTY_ROOT);
    assert_eq!(app.size(), TreeSize(0));
    let reader = MemReader::default();
    assert_eq!(tree_root(&reader, TreeSize(0)).unwrap(), EMPTY_ROOT);
    verify_tiles(&reader, TreeSize(0), EMPTY_ROOT).unwrap();
    let loaded = Appender::load(TreeSize(0), EMPTY_ROOT, &reader).unwrap();
    assert_eq!(loaded.size(), TreeSize(0));
    assert_eq!(
        consistency_proof(&reader, TreeSize(0), TreeSize(0), EMPTY_ROOT).unwrap(),
        vec![]
    );
    verify_consistency(TreeSize(0), EMPTY_ROOT, TreeSize(0), EMPTY_ROOT, &[]).unwrap();
    assert!(inclusion_proof(&reader, TreeSize(0), EMPTY_ROOT, LeafIndex(0)).is_err());
}

#[test]
fn known_rfc6962_values() {
    // Leaf and node hashes from the RFC 6962 / CT test data ("" and the empty tree).
    assert_eq!(
        leaf_hash(b"").to_string(),
        "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
    );
    assert_eq!(
        EMPTY_ROOT.to_string(),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}

#[test]
fn roots_and_inclusion_match_rfc6962_for_sizes_1_to_600() {
    let n = 600;
    let (reader, leaves, roots) = build_one_by_one(n);
    let mut rfc = Rfc::new(leaves.clone());
    let mut rng = StdRng::seed_from_u64(6962);
    for size in 1..=n {
        let root = rfc.mth(0, size);
        assert_eq!(roots[size], root, "appender root at {size}");
        let s = TreeSize(size as u64);
        assert_eq!(tree_root(&reader, s).unwrap(), root, "tree_root at {size}");
        let mut indices: Vec<usize> = (0..4).map(|_| rng.gen_range(0..size)).collect();
        indices.extend([0, size - 1]);
        if size <= 40 {
            indices.extend(0..size);
        }
        for m in indices {
            let idx = LeafIndex(m as u64);
            let proof = inclusion_proof(&reader, s, root, idx).unwrap();
            assert_eq!(proof, rfc.path(m, 0, size), "PATH({m}, D[{size}])");
            verify_inclusion(leaves[m], idx, s, root, &proof).unwrap();
            // Every single-bit flip, wrong index, wrong size or truncation fails.
            if let Some(first) = proof.first() {
                let mut bad = proof.clone();
                bad[0].0[0] = !first.0[0];
                assert!(verify_inclusion(leaves[m], idx, s, root, &bad).is_err());
                assert!(verify_inclusion(leaves[m], idx, s, root, &proof[1..]).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(leaves[m], idx, s, root, &longer).is_err());
            assert!(verify_inclusion(leaves[m], LeafIndex(size as u64), s, root, &proof).is_err());
            if size > 1 {
                let other = LeafIndex(((m + 1) % size) as u64);
                assert!(verify_inclusion(leaves[m], other, s, root, &proof).is_err());
            }
        }
        assert!(inclusion_proof(&reader, s, root, LeafIndex(size as u64)).is_err());
        let mut wrong = root;
        wrong.0[31] ^= 1;
        assert!(matches!(
            inclusion_proof(&reader, s, wrong, LeafIndex(0)),
            Err(Error::RootMismatch)
        ));
    }
}

#[test]
fn consistency_every_pair_of_small_sizes() {
    let n = 80;
    let (reader, leaves, roots) = build_one_by_one(n);
    let mut rfc = Rfc::new(leaves);
    for new in 1..=n {
        let ns = TreeSize(new as u64);
        for old in 0..=new {
            let os = TreeSize(old as u64);
            let proof = consistency_proof(&reader, os, ns, roots[new]).unwrap();
            let expect = if old == 0 {
                vec![]
            } else {
                rfc.subproof(old, 0, new, true)
            };
            assert_eq!(proof, expect, "PROOF({old}, D[{new}])");
            verify_consistency(os, roots[old], ns, roots[new], &proof).unwrap();
            if old > 0 && old < new {
                let mut wrong = roots[old];
                wrong.0[0] ^= 1;
                assert!(verify_consistency(os, wrong, ns, roots[new], &proof).is_err());
                assert!(verify_consistency(os, roots[old], ns, wrong, &proof).is_err());
                let mut bad = proof.clone();
                if let Some(last) = bad.last_mut() {
                    last.0[5] ^= 0x80;
                }
                assert!(verify_consistency(os, roots[old], ns, roots[new], &bad).is_err());
            }
        }
        // And every inclusion proof at this size.
        for m in 0..new {
            let p = inclusion_proof(&reader, ns, roots[new], LeafIndex(m as u64)).unwrap();
            assert_eq!(p, rfc.path(m, 0, new));
        }
    }
    assert!(consistency_proof(&reader, TreeSize(5), TreeSize(4), roots[4]).is_err());
}

#[test]
fn consistency_random_pairs_up_to_600() {
    let n = 600;
    let (reader, leaves, roots) = build_one_by_one(n);
    let mut rfc = Rfc::new(leaves);
    let mut rng = StdRng::seed_from_u64(9162);
    for _ in 0..400 {
        let new = rng.gen_range(1..=n);
        let old = rng.gen_range(1..=new);
        let proof = consistency_proof(
            &reader,
            TreeSize(old as u64),
            TreeSize(new as u64),
            roots[new],
        )
        .unwrap();
        assert_eq!(proof, rfc.subproof(old, 0, new, true));
        verify_consistency(
            TreeSize(old as u64),
            roots[old],
            TreeSize(new as u64),
            roots[new],
            &proof,
        )
        .unwrap();
    }
}

/// Only full tiles and the tiles of the final size: what a server keeps if it deletes partial
/// tiles once superseded. Proofs for old sizes must still work from the new tree's tiles.
#[test]
fn consistency_needs_no_old_partial_tiles() {
    let entries: Vec<Vec<u8>> = (0..1000).map(entry).collect();
    let mut app = Appender::empty();
    let out = app.append(&entries).unwrap();
    let mut reader = MemReader::default();
    reader.store(&out);
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut rfc = Rfc::new(leaves);
    for old in [1, 7, 255, 256, 257, 511, 512, 700, 999, 1000] {
        let p = consistency_proof(&reader, TreeSize(old), TreeSize(1000), out.root).unwrap();
        assert_eq!(p, rfc.subproof(old as usize, 0, 1000, true));
    }
}

fn append_in_batches(entries: &[Vec<u8>], rng: &mut StdRng, max_batch: usize) -> MemReader {
    let mut reader = MemReader::default();
    let mut app = Appender::empty();
    let mut i = 0;
    while i < entries.len() {
        let b = rng.gen_range(0..=max_batch).min(entries.len() - i);
        let out = app.append(&entries[i..i + b]).unwrap();
        assert_eq!(out.first_index, LeafIndex(i as u64));
        i += b;
        assert_eq!(out.size, TreeSize(i as u64));
        if b == 0 {
            assert!(out.tiles.is_empty());
        }
        reader.store(&out);
        // Each batch's tiles are exactly the new or changed ones.
        for (id, _) in &out.tiles {
            assert!(
                tiles_for_size(out.size).contains(id),
                "{} not in the tree",
                id.path()
            );
        }
        // Reload the edge from storage at every step, sometimes, and carry on with it.
        if rng.gen_bool(0.3) {
            app = Appender::load(out.size, out.root, &reader).unwrap();
        }
    }
    reader
}

#[test]
fn batches_match_one_big_append() {
    let mut rng = StdRng::seed_from_u64(1);
    let entries: Vec<Vec<u8>> = (0..3000).map(entry).collect();
    let mut big = Appender::empty();
    let out = big.append(&entries).unwrap();
    let size = TreeSize(3000);
    let ids: Vec<TileId> = out.tiles.iter().map(|(id, _)| *id).collect();
    let mut sorted_ids = ids.clone();
    let mut expect = tiles_for_size(size);
    sorted_ids.sort_by_key(TileId::path);
    expect.sort_by_key(TileId::path);
    assert_eq!(
        sorted_ids, expect,
        "one append from empty writes every tile once"
    );
    let mut one = MemReader::default();
    one.store(&out);
    verify_tiles(&one, size, out.root).unwrap();
    for max_batch in [1, 3, 255, 256, 257, 700] {
        let batched = append_in_batches(&entries, &mut rng, max_batch);
        for id in tiles_for_size(size) {
            assert_eq!(batched.0.get(&id), one.0.get(&id), "tile {}", id.path());
        }
        assert_eq!(tree_root(&batched, size).unwrap(), out.root);
        verify_tiles(&batched, size, out.root).unwrap();
    }
}

#[test]
fn three_levels_70000() {
    let entries: Vec<Vec<u8>> = (0..70_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let mut rng = StdRng::seed_from_u64(70_000);
    let mut app = Appender::empty();
    let mut reader = MemReader::default();
    let mut i = 0;
    while i < entries.len() {
        let b = rng.gen_range(1..=20_000).min(entries.len() - i);
        let out = app.append(&entries[i..i + b]).unwrap();
        reader.store(&out);
        i += b;
    }
    let size = TreeSize(70_000);
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut rfc = Rfc::new(leaves.clone());
    let root = rfc.mth(0, 70_000);
    assert_eq!(app.root(), root);
    assert_eq!(tree_root(&reader, size).unwrap(), root);
    verify_tiles(&reader, size, root).unwrap();
    let tile = |l: u8, index: u64, width: u16| TileId {
        level: Some(l),
        index,
        width,
    };
    assert_eq!(reader.0[&tile(2, 0, 1)].len(), 32);
    assert_eq!(reader.0[&tile(1, 1, 17)].len(), 17 * 32);
    assert_eq!(
        reader.0[&tile(2, 0, 1)],
        rfc.mth(0, 65_536).0.to_vec(),
        "level-2 hash covers 256^2 leaves"
    );
    for m in [0usize, 255, 256, 65_535, 65_536, 69_999, 12_345] {
        let p = inclusion_proof(&reader, size, root, LeafIndex(m as u64)).unwrap();
        assert_eq!(p, rfc.path(m, 0, 70_000));
    }
    for old in [1usize, 256, 65_536, 65_537, 69_999] {
        let p = consistency_proof(&reader, TreeSize(old as u64), size, root).unwrap();
        assert_eq!(p, rfc.subproof(old, 0, 70_000, true));
    }
    let loaded = Appender::load(size, root, &reader).unwrap();
    assert_eq!(loaded.root(), root);
}

#[test]
fn load_rejects_bad_edges() {
    let entries: Vec<Vec<u8>> = (0..300).map(entry).collect();
    let mut app = Appender::empty();
    let out = app.append(&entries).unwrap();
    let mut reader = MemReader::default();
    reader.store(&out);
    let size = TreeSize(300);
    let mut wrong = out.root;
    wrong.0[0] ^= 1;
    assert!(matches!(
        Appender::load(size, wrong, &reader),
        Err(Error::RootMismatch)
    ));
    // Tampered partial bundle.
    let bundle_id = TileId {
        level: None,
        index: 1,
        width: 44,
    };
    let good = reader.0[&bundle_id].clone();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    reader.0.insert(bundle_id, bad);
    assert!(Appender::load(size, out.root, &reader).is_err());
    reader.0.insert(bundle_id, good);
    // Tampered partial level-0 tile.
    let t0 = TileId {
        level: Some(0),
        index: 1,
        width: 44,
    };
    let good = reader.0[&t0].clone();
    let mut bad = good.clone();
    bad[0] ^= 1;
    reader.0.insert(t0, bad.clone());
    assert!(Appender::load(size, out.root, &reader).is_err());
    assert!(tree_root(&reader, size).unwrap() != out.root);
    assert!(verify_tiles(&reader, size, out.root).is_err());
    reader.0.insert(t0, good);
    // Tampered full level-0 tile: caught by verify_tiles and by proofs that use it.
    let full = TileId {
        level: Some(0),
        index: 0,
        width: 256,
    };
    let mut bad = reader.0[&full].clone();
    bad[64] ^= 1;
    reader.0.insert(full, bad);
    assert!(verify_tiles(&reader, size, out.root).is_err());
    assert!(inclusion_proof(&reader, size, out.root, LeafIndex(3)).is_err());
    // Missing tile.
    reader.0.remove(&t0);
    assert!(matches!(
        Appender::load(size, out.root, &reader),
        Err(Error::TileNotFound(id)) if id == t0
    ));
    // Short tile.
    reader.0.insert(t0, vec![0; 43 * 32]);
    assert!(matches!(
        Appender::load(size, out.root, &reader),
        Err(Error::BadTile { .. })
    ));
}

#[test]
fn oversized_entry_changes_nothing() {
    let mut app = Appender::empty();
    app.append(&[b"a".to_vec()]).unwrap();
    let root = app.root();
    let err = app.append(&[b"b".to_vec(), vec![0; 65_536]]).unwrap_err();
    assert!(matches!(err, Error::EntryTooLarge { len: 65_536 }));
    assert_eq!(app.size(), TreeSize(1));
    assert_eq!(app.root(), root);
    app.append(&[vec![0; 65_535]]).unwrap();
}
