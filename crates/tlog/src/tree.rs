//! The Merkle tree over tiles: appending at the right edge, roots and proofs from stored tiles.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{HashReader, split_stored_hash_index, stored_hash_index};

use crate::tile::{levels, push_entry, subtree_hash, tile_width_in};
use crate::{
    EMPTY_ROOT, Error, HASH_SIZE, Hash, LeafIndex, TILE_WIDTH, TileId, TreeSize, check_bundle,
    leaf_hash, node_hash,
};

/// Storage of tiles, implemented by the server (files) and the auditor (HTTP cache).
pub trait TileReader {
    /// Returns the tile's bytes: exactly `width * 32` bytes for a hash tile, the bundle for an
    /// entry bundle. A reader that only has the full tile may answer a request for a partial hash
    /// tile with the full tile's first `width * 32` bytes (tiles only ever grow at the end), and a
    /// partial bundle request with the full bundle's first `width` entries.
    ///
    /// Returns [`Error::TileNotFound`] if the tile does not exist, [`Error::Storage`] on other
    /// failures.
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, Error>;
}

/// Tiles in memory, keyed by id: for tests, and small tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryTiles(pub HashMap<TileId, Vec<u8>>);

impl MemoryTiles {
    /// Stores every tile of an append (overwriting older copies of the same id).
    pub fn store(&mut self, out: &AppendOutput) {
        for (id, data) in &out.tiles {
            self.0.insert(*id, data.clone());
        }
    }
}

impl TileReader for MemoryTiles {
    fn read_tile(&self, id: TileId) -> Result<Vec<u8>, Error> {
        self.0.get(&id).cloned().ok_or(Error::TileNotFound(id))
    }
}

/// Reads the hash tiles of a tree of a given size, checking their lengths and caching them.
pub(crate) struct TileHashes<'a> {
    reader: &'a dyn TileReader,
    size: u64,
    cache: RefCell<HashMap<TileId, Vec<u8>>>,
    /// The first error a `read_hashes` call hit; `tlog_tiles::Error` cannot carry ours.
    error: RefCell<Option<Error>>,
}

impl<'a> TileHashes<'a> {
    pub(crate) fn new(reader: &'a dyn TileReader, size: u64) -> Self {
        TileHashes {
            reader,
            size,
            cache: RefCell::new(HashMap::new()),
            error: RefCell::new(None),
        }
    }

    /// Reads the hash tile `index` of `level` as it is in this tree.
    fn tile(&self, level: u8, index: u64) -> Result<Vec<u8>, Error> {
        let width = tile_width_in(self.size, level, index)
            .ok_or_else(|| Error::InvalidInput("tile beyond the tree".into()))?;
        let id = TileId {
            level: Some(level),
            index,
            width,
        };
        if let Some(t) = self.cache.borrow().get(&id) {
            return Ok(t.clone());
        }
        let data = self.reader.read_tile(id)?;
        if data.len() != usize::from(width) * HASH_SIZE {
            return Err(Error::BadTile {
                id,
                reason: "wrong length",
            });
        }
        self.cache.borrow_mut().insert(id, data.clone());
        Ok(data)
    }

    /// The hash of the complete subtree at Merkle `level` (height) and index `n`.
    fn hash(&self, level: u8, n: u64) -> Result<Hash, Error> {
        let l = u32::from(level);
        let end = (n + 1)
            .checked_shl(l)
            .filter(|e| *e >> l == n + 1)
            .ok_or_else(|| Error::InvalidInput("hash beyond the tree".into()))?;
        if end > self.size {
            return Err(Error::InvalidInput("hash beyond the tree".into()));
        }
        let tile_level = level / 8;
        let within = u32::from(level % 8);
        let start = n << within; // in units of level-`tile_level` hashes
        let index = start / TILE_WIDTH;
        let offset = (start % TILE_WIDTH) as usize;
        let tile = self.tile(tile_level, index)?;
        let lo = offset * HASH_SIZE;
        let hi = (offset + (1 << within)) * HASH_SIZE;
        Ok(subtree_hash(&tile[lo..hi]))
    }

    /// Moves the error stashed by `read_hashes` out, or maps the `tlog_tiles` error.
    fn take_error(&self, e: tlog_tiles::Error) -> Error {
        self.error
            .borrow_mut()
            .take()
            .unwrap_or_else(|| Error::from_tlog(e))
    }
}

impl HashReader for TileHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(indexes.len());
        for &i in indexes {
            let (level, n) = split_stored_hash_index(i);
            match self.hash(level, n) {
                Ok(h) => out.push(h),
                Err(e) => {
                    *self.error.borrow_mut() = Some(e);
                    return Err(tlog_tiles::Error::InvalidTile);
                }
            }
        }
        Ok(out)
    }
}

fn tree_hash(hashes: &TileHashes<'_>) -> Result<Hash, Error> {
    if hashes.size == 0 {
        return Ok(EMPTY_ROOT);
    }
    tlog_tiles::tree_hash(hashes.size, hashes).map_err(|e| hashes.take_error(e))
}

fn leaf_from(hashes: &TileHashes<'_>, index: u64) -> Result<Hash, Error> {
    let v = hashes
        .read_hashes(&[stored_hash_index(0, index)])
        .map_err(|e| hashes.take_error(e))?;
    v.first().copied().ok_or(Error::InvalidProof)
}

/// Root of the tree of `size` from its stored tiles. Reads only the tiles on the right edge
/// (the partial tile of each level); use [`verify_tiles`] to check every tile.
pub fn tree_root(reader: &dyn TileReader, size: TreeSize) -> Result<Hash, Error> {
    tree_hash(&TileHashes::new(reader, size.0))
}

/// Checks every tile of the tree of `size` against `root`: each full tile hashes to its entry in
/// the level above, each entry bundle matches its level-0 tile, and the right edge hashes to
/// `root`. Reads every tile once (plus each parent tile while its children are checked).
pub fn verify_tiles(reader: &dyn TileReader, size: TreeSize, root: Hash) -> Result<(), Error> {
    let hashes = TileHashes::new(reader, size.0);
    if tree_hash(&hashes)? != root {
        return Err(Error::RootMismatch);
    }
    let s = size.0;
    for level in 0..levels(s) {
        let count = (s >> (8 * u32::from(level))).div_ceil(TILE_WIDTH);
        let mut parent: Option<(u64, Vec<u8>)> = None;
        for index in 0..count {
            let width = tile_width_in(s, level, index).ok_or(Error::RootMismatch)?;
            let id = TileId {
                level: Some(level),
                index,
                width,
            };
            let tile = reader.read_tile(id)?;
            if tile.len() != usize::from(width) * HASH_SIZE {
                return Err(Error::BadTile {
                    id,
                    reason: "wrong length",
                });
            }
            if level == 0 {
                let bundle_id = TileId { level: None, ..id };
                let bundle = reader.read_tile(bundle_id)?;
                check_bundle(&bundle, &tile).map_err(|_| Error::BadTile {
                    id: bundle_id,
                    reason: "entries do not match the level-0 tile",
                })?;
            }
            if id.is_full() {
                let pi = index / TILE_WIDTH;
                if parent.as_ref().is_none_or(|(i, _)| *i != pi) {
                    let p = TileHashes::new(reader, s).tile(level + 1, pi)?;
                    parent = Some((pi, p));
                }
                let off = (index % TILE_WIDTH) as usize * HASH_SIZE;
                let Some((_, p)) = &parent else {
                    return Err(Error::RootMismatch);
                };
                if p[off..off + HASH_SIZE] != subtree_hash(&tile).0 {
                    return Err(Error::BadTile {
                        id,
                        reason: "does not hash to its entry in the level above",
                    });
                }
            } else {
                // A partial tile is on the right edge: the cached copy already hashed to `root`.
                let seen = hashes.tile(level, index)?;
                if seen != tile {
                    return Err(Error::BadTile {
                        id,
                        reason: "changed while being read",
                    });
                }
            }
        }
    }
    Ok(())
}

/// Inclusion proof (RFC 6962 audit path, leaf's sibling first) for the leaf at `index` in the tree
/// of `size`, read from stored tiles. The tiles are checked against `root`, and the proof is
/// verified before it is returned.
pub fn inclusion_proof(
    reader: &dyn TileReader,
    size: TreeSize,
    root: Hash,
    index: LeafIndex,
) -> Result<Vec<Hash>, Error> {
    if index.0 >= size.0 {
        return Err(Error::InvalidInput(format!(
            "index {index} not below tree size {size}"
        )));
    }
    let hashes = TileHashes::new(reader, size.0);
    // No separate root check first: the proof is verified against `root`
    // below, which fails for tiles that do not hash to it.
    let proof =
        tlog_tiles::prove_record(size.0, index.0, &hashes).map_err(|e| hashes.take_error(e))?;
    let leaf = leaf_from(&hashes, index.0)?;
    verify_inclusion(leaf, index, size, root, &proof).map_err(|_| Error::RootMismatch)?;
    Ok(proof)
}

/// Consistency proof (RFC 6962 / RFC 9162) from the tree of size `old` to the tree of size `new`,
/// read from the stored tiles of the tree of size `new` (no tile of the old tree is needed). The
/// tiles are checked against `new_root`; the proof is verified before it is returned.
/// Empty when `old` is 0 or equal to `new`.
pub fn consistency_proof(
    reader: &dyn TileReader,
    old: TreeSize,
    new: TreeSize,
    new_root: Hash,
) -> Result<Vec<Hash>, Error> {
    if old > new {
        return Err(Error::InvalidInput(format!(
            "old size {old} above new size {new}"
        )));
    }
    let hashes = TileHashes::new(reader, new.0);
    if tree_hash(&hashes)? != new_root {
        return Err(Error::RootMismatch);
    }
    if old.0 == 0 {
        return Ok(Vec::new());
    }
    let proof = tlog_tiles::prove_tree(new.0, old.0, &hashes).map_err(|e| hashes.take_error(e))?;
    // The old root from hashes of the new tree: its complete subtrees are all stored there.
    let old_root = tlog_tiles::tree_hash(old.0, &hashes).map_err(|e| hashes.take_error(e))?;
    verify_consistency(old, old_root, new, new_root, &proof).map_err(|_| Error::RootMismatch)?;
    Ok(proof)
}

/// Verifies an RFC 6962 inclusion proof of the leaf hash `leaf` at `index` in the tree of `size`
/// with root `root`.
pub fn verify_inclusion(
    leaf: Hash,
    index: LeafIndex,
    size: TreeSize,
    root: Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if index.0 >= size.0 {
        return Err(Error::InvalidProof);
    }
    if proof.len() > 64 {
        return Err(Error::InvalidProof);
    }
    tlog_tiles::check_record(&proof.to_vec(), size.0, root, index.0, leaf).map_err(Error::from_tlog)
}

/// Verifies an RFC 6962 consistency proof between the tree of size `old` with root `old_root` and
/// the tree of size `new` with root `new_root`. When `old` is 0 the proof must be empty and
/// `old_root` the empty-tree hash; when `old == new` the proof must be empty and the roots equal.
pub fn verify_consistency(
    old: TreeSize,
    old_root: Hash,
    new: TreeSize,
    new_root: Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if old > new || proof.len() > 128 {
        return Err(Error::InvalidProof);
    }
    if old.0 == 0 {
        return if proof.is_empty() && old_root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(Error::InvalidProof)
        };
    }
    tlog_tiles::check_tree(&proof.to_vec(), new.0, new_root, old.0, old_root)
        .map_err(Error::from_tlog)
}

/// The right edge of the tree: enough to append without reading anything else.
///
/// Holds, for each level, the hashes of the current partial tile, and the entries of the current
/// partial entry bundle: at most 255 entries and `255 * levels` hashes.
#[derive(Clone, Debug)]
pub struct Appender {
    size: u64,
    /// `edge[l]` = hashes of the partial tile at level `l` (`(size >> 8l) % 256` of them).
    edge: Vec<Vec<Hash>>,
    /// Entries of the partial bundle (`size % 256` of them).
    bundle: Vec<Vec<u8>>,
}

/// What [`Appender::append`] produced.
#[derive(Clone, Debug)]
pub struct AppendOutput {
    /// Index of the first appended entry (the old tree size).
    pub first_index: LeafIndex,
    /// The new tree size.
    pub size: TreeSize,
    /// The new root.
    pub root: Hash,
    /// Every tile and entry bundle that changed, with contents: the new full ones and the new
    /// partial ones. Write them all before the checkpoint; their order does not matter.
    pub tiles: Vec<(TileId, Vec<u8>)>,
}

impl Appender {
    /// The edge of the empty tree.
    pub fn empty() -> Self {
        Appender {
            size: 0,
            edge: Vec::new(),
            bundle: Vec::new(),
        }
    }

    /// Loads the edge of an existing tree of `size`: reads only the partial tile of each level
    /// and the partial entry bundle, checks the bundle against the level-0 tile and the edge
    /// against `root`.
    pub fn load(size: TreeSize, root: Hash, reader: &dyn TileReader) -> Result<Self, Error> {
        let s = size.0;
        let mut edge = Vec::new();
        for level in 0..levels(s) {
            let hashes = s >> (8 * u32::from(level));
            let width = hashes % TILE_WIDTH;
            let mut tile_hashes = Vec::new();
            if width > 0 {
                let id = TileId {
                    level: Some(level),
                    index: hashes / TILE_WIDTH,
                    width: width as u16,
                };
                let data = reader.read_tile(id)?;
                if data.len() != width as usize * HASH_SIZE {
                    return Err(Error::BadTile {
                        id,
                        reason: "wrong length",
                    });
                }
                for c in data.chunks_exact(HASH_SIZE) {
                    let mut h = [0u8; HASH_SIZE];
                    h.copy_from_slice(c);
                    tile_hashes.push(Hash(h));
                }
            }
            edge.push(tile_hashes);
        }
        let mut bundle = Vec::new();
        let width = s % TILE_WIDTH;
        if width > 0 {
            let id = TileId {
                level: None,
                index: s / TILE_WIDTH,
                width: width as u16,
            };
            let data = reader.read_tile(id)?;
            let mut level0 = Vec::new();
            for h in edge.first().map(Vec::as_slice).unwrap_or_default() {
                level0.extend_from_slice(&h.0);
            }
            let entries = check_bundle(&data, &level0).map_err(|_| Error::BadTile {
                id,
                reason: "entries do not match the level-0 tile",
            })?;
            bundle = entries.into_iter().map(<[u8]>::to_vec).collect();
        }
        let a = Appender {
            size: s,
            edge,
            bundle,
        };
        if a.root() != root {
            return Err(Error::RootMismatch);
        }
        Ok(a)
    }

    /// Number of entries in the tree.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// Root of the tree: the right fold, with `node_hash`, of the complete subtrees of the
    /// binary decomposition of the size, largest first. Each lies within one level's partial tile.
    pub fn root(&self) -> Hash {
        let mut subtrees = Vec::new();
        for tile in self.edge.iter().rev() {
            let mut start = 0;
            for bit in (0..8).rev() {
                let k = 1usize << bit;
                if tile.len() & k != 0 {
                    let mut data = Vec::with_capacity(k * HASH_SIZE);
                    for h in &tile[start..start + k] {
                        data.extend_from_slice(&h.0);
                    }
                    subtrees.push(subtree_hash(&data));
                    start += k;
                }
            }
        }
        let Some(mut root) = subtrees.pop() else {
            return EMPTY_ROOT;
        };
        while let Some(left) = subtrees.pop() {
            root = node_hash(left, root);
        }
        root
    }

    /// Appends `entries`; returns every tile (hash tiles at all levels, and entry bundles) that
    /// changed, with contents: the new full tiles and the new partial ones.
    ///
    /// Fails with [`Error::EntryTooLarge`], before changing anything, if an entry is longer than
    /// [`crate::MAX_ENTRY_SIZE`].
    pub fn append(&mut self, entries: &[Vec<u8>]) -> Result<AppendOutput, Error> {
        if let Some(e) = entries.iter().find(|e| e.len() > crate::MAX_ENTRY_SIZE) {
            return Err(Error::EntryTooLarge { len: e.len() });
        }
        let old = self.size;
        let mut tiles = Vec::new();
        for entry in entries {
            self.bundle.push(entry.clone());
            let mut h = leaf_hash(entry);
            self.size += 1;
            if self.bundle.len() as u64 == TILE_WIDTH {
                let id = TileId {
                    level: None,
                    index: (self.size - 1) / TILE_WIDTH,
                    width: TILE_WIDTH as u16,
                };
                tiles.push((id, self.bundle_bytes()?));
                self.bundle.clear();
            }
            // Push the hash into level 0, carrying full tiles upwards.
            let mut level = 0u8;
            loop {
                if self.edge.len() <= usize::from(level) {
                    self.edge.push(Vec::new());
                }
                let tile = &mut self.edge[usize::from(level)];
                tile.push(h);
                if tile.len() as u64 != TILE_WIDTH {
                    break;
                }
                let data = hashes_bytes(tile);
                tile.clear();
                let hashes = self.size >> (8 * u32::from(level));
                let id = TileId {
                    level: Some(level),
                    index: hashes / TILE_WIDTH - 1,
                    width: TILE_WIDTH as u16,
                };
                h = subtree_hash(&data);
                tiles.push((id, data));
                level += 1;
            }
        }
        // The new partial tiles: those of the levels whose hash count changed.
        if self.size != old && !self.bundle.is_empty() {
            let id = TileId {
                level: None,
                index: self.size / TILE_WIDTH,
                width: self.bundle.len() as u16,
            };
            tiles.push((id, self.bundle_bytes()?));
        }
        for (level, tile) in self.edge.iter().enumerate() {
            let shift = 8 * level as u32;
            if self.size >> shift != old >> shift && !tile.is_empty() {
                let id = TileId {
                    level: Some(level as u8),
                    index: (self.size >> shift) / TILE_WIDTH,
                    width: tile.len() as u16,
                };
                tiles.push((id, hashes_bytes(tile)));
            }
        }
        Ok(AppendOutput {
            first_index: LeafIndex(old),
            size: TreeSize(self.size),
            root: self.root(),
            tiles,
        })
    }

    fn bundle_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        for e in &self.bundle {
            push_entry(&mut out, e)?;
        }
        Ok(out)
    }
}

fn hashes_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for h in hashes {
        out.extend_from_slice(&h.0);
    }
    out
}

#[cfg(test)]
mod tests;
