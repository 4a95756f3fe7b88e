//! C2SP tlog-tiles coordinates, paths and entry bundles.
//!
//! A level-`l` tile holds the 32-byte hashes of consecutive complete subtrees of `256^l` leaves
//! each; tile `n` of level `l` covers leaves `[n * 256^(l+1), (n+1) * 256^(l+1))`. An entry bundle
//! holds the entries whose leaf hashes form the level-0 tile of the same index. Only the rightmost
//! tile of each level may be partial (1..=255 wide).

use crate::{Error, HASH_SIZE, Hash, TILE_WIDTH, TreeSize, leaf_hash};

/// Largest entry a bundle can hold (its length is a big-endian `u16`).
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Highest tile level the spec allows.
const MAX_LEVEL: u8 = 63;

/// A tile's coordinates. `level: None` is an entry bundle (`tile/entries/...`), `Some(l)` a hash
/// tile at level `l`. `width` is 1..=256; 256 means a full tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    /// `None` for an entry bundle, `Some(l)` for a hash tile at level `l` (0..=63).
    pub level: Option<u8>,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes (or entries), 1..=256; 256 = full.
    pub width: u16,
}

impl TileId {
    /// Whether this is a full (256-wide) tile.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The C2SP path, relative to the log prefix: `tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]`, with `N` in 3-digit groups (`x001/x234/067`).
    pub fn path(&self) -> String {
        let mut n = self.index;
        let mut n_str = format!("{:03}", n % 1000);
        while n >= 1000 {
            n /= 1000;
            n_str = format!("x{:03}/{n_str}", n % 1000);
        }
        let level = match self.level {
            None => "entries".to_string(),
            Some(l) => l.to_string(),
        };
        if self.is_full() {
            format!("tile/{level}/{n_str}")
        } else {
            format!("tile/{level}/{n_str}.p/{}", self.width)
        }
    }

    /// Parses a path as written by [`TileId::path`], rejecting everything the spec forbids:
    /// leading zeros in the level or width, a level above 63, `.p/0` or `.p/256`, index groups
    /// that are not exactly three digits, a non-canonical index (`x000/001`), signs, spaces,
    /// extra or missing segments.
    pub fn parse_path(path: &str) -> Result<TileId, Error> {
        let bad = || Error::BadTilePath(path.chars().take(100).collect());
        // The longest valid path: "tile/entries/" + 7 groups + ".p/255".
        if path.len() > 64 {
            return Err(bad());
        }
        let mut parts: Vec<&str> = path.split('/').collect();
        if parts.len() < 3 || parts[0] != "tile" {
            return Err(bad());
        }
        let level = match parts[1] {
            "entries" => None,
            l => {
                let l = parse_decimal(l).ok_or_else(bad)?;
                if l > u64::from(MAX_LEVEL) {
                    return Err(bad());
                }
                Some(u8::try_from(l).map_err(|_| bad())?)
            }
        };
        let mut width = TILE_WIDTH as u16;
        let last = parts.len() - 1;
        if last >= 3 && parts[last - 1].ends_with(".p") {
            let w = parse_decimal(parts[last]).ok_or_else(bad)?;
            if !(1..TILE_WIDTH).contains(&w) {
                return Err(bad());
            }
            width = u16::try_from(w).map_err(|_| bad())?;
            parts[last - 1] = parts[last - 1].strip_suffix(".p").ok_or_else(bad)?;
            parts.pop();
        }
        let groups = &parts[2..];
        // u64::MAX has 20 digits: at most 7 groups.
        if groups.is_empty() || groups.len() > 7 {
            return Err(bad());
        }
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let digits = if i + 1 < groups.len() {
                g.strip_prefix('x').ok_or_else(bad)?
            } else {
                g
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let d: u64 = digits.parse().map_err(|_| bad())?;
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(d))
                .ok_or_else(bad)?;
        }
        let id = TileId {
            level,
            index,
            width,
        };
        // Catches non-canonical group counts such as "x000/001".
        if id.path() != path {
            return Err(bad());
        }
        Ok(id)
    }
}

/// A decimal ASCII integer with no sign and no leading zeros (except "0").
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Number of hash tile levels a tree of `size` has (0 for the empty tree).
pub(crate) fn levels(size: u64) -> u8 {
    let mut l = 0;
    while l < 8 && size >> (8 * u32::from(l)) > 0 {
        l += 1;
    }
    l
}

/// Width of the tile `index` at `level` in a tree of `size`, or `None` if the tree has no such tile.
pub(crate) fn tile_width_in(size: u64, level: u8, index: u64) -> Option<u16> {
    let hashes = size.checked_shr(8 * u32::from(level)).unwrap_or(0);
    let start = index.checked_mul(TILE_WIDTH)?;
    if start >= hashes {
        return None;
    }
    Some(u16::try_from((hashes - start).min(TILE_WIDTH)).unwrap_or(256))
}

/// The tiles of one level (`level` for hash tiles, `None` for bundles with level-0 widths).
fn level_tiles(size: u64, level: Option<u8>, out: &mut Vec<TileId>) {
    let l = level.unwrap_or(0);
    let hashes = size >> (8 * u32::from(l));
    for index in 0..hashes / TILE_WIDTH {
        out.push(TileId {
            level,
            index,
            width: TILE_WIDTH as u16,
        });
    }
    let rest = hashes % TILE_WIDTH;
    if rest > 0 {
        out.push(TileId {
            level,
            index: hashes / TILE_WIDTH,
            width: rest as u16,
        });
    }
}

/// All tiles a tree of `size` consists of: the entry bundles, then the hash tiles level by level,
/// each level's full tiles then its partial one.
pub fn tiles_for_size(size: TreeSize) -> Vec<TileId> {
    let mut out = Vec::new();
    level_tiles(size.0, None, &mut out);
    for l in 0..levels(size.0) {
        level_tiles(size.0, Some(l), &mut out);
    }
    out
}

/// Encodes an entry bundle: each entry as a 2-byte big-endian length, then its bytes.
///
/// Fails with [`Error::EntryTooLarge`] for an entry over [`MAX_ENTRY_SIZE`] bytes.
pub fn encode_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for e in entries {
        push_entry(&mut out, e)?;
    }
    Ok(out)
}

pub(crate) fn push_entry(out: &mut Vec<u8>, e: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(e.len()).map_err(|_| Error::EntryTooLarge { len: e.len() })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(e);
    Ok(())
}

/// Decodes an entry bundle, strictly: no truncated length or entry, no trailing bytes, at most 256
/// entries.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(Error::BadBundle("truncated length"));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(Error::BadBundle("truncated entry"));
        }
        let (entry, tail) = tail.split_at(len);
        out.push(entry);
        if out.len() as u64 > TILE_WIDTH {
            return Err(Error::BadBundle("more than 256 entries"));
        }
        rest = tail;
    }
    Ok(out)
}

/// Decodes `bundle` and checks it against the level-0 tile of the same index and width: same
/// number of entries as hashes, and each entry's leaf hash equal to the tile's hash.
pub fn check_bundle<'a>(bundle: &'a [u8], level0_tile: &[u8]) -> Result<Vec<&'a [u8]>, Error> {
    let entries = decode_bundle(bundle)?;
    if level0_tile.len() != entries.len() * HASH_SIZE {
        return Err(Error::BadBundle(
            "entry count differs from the level-0 tile",
        ));
    }
    for (e, h) in entries.iter().zip(level0_tile.chunks_exact(HASH_SIZE)) {
        if leaf_hash(e).0 != h {
            return Err(Error::BadBundle("entry does not hash to the level-0 tile"));
        }
    }
    Ok(entries)
}

/// The tile `id` cut from a wider tile of the same level and index (`wider`): its first
/// `id.width` hashes, or for an entry bundle its first `id.width` entries. Tiles only grow at the
/// end, so this is what the narrower tile holds. A reader uses it when a partial tile is gone
/// because its full tile exists (tlog-tiles lets logs delete such partial tiles).
///
/// Fails if `wider` holds fewer than `id.width` hashes or entries, or is not a valid tile.
pub fn tile_prefix(id: TileId, wider: &[u8]) -> Result<Vec<u8>, Error> {
    let n = usize::from(id.width);
    match id.level {
        Some(_) => {
            if !wider.len().is_multiple_of(HASH_SIZE) {
                return Err(Error::BadTile {
                    id,
                    reason: "wrong length",
                });
            }
            wider
                .get(..n * HASH_SIZE)
                .map(<[u8]>::to_vec)
                .ok_or(Error::BadTile {
                    id,
                    reason: "narrower than asked",
                })
        }
        None => {
            let entries = decode_bundle(wider)?;
            if entries.len() < n {
                return Err(Error::BadBundle("too few entries"));
            }
            encode_bundle(entries[..n].iter().copied())
        }
    }
}

/// The hash that a full tile contributes to the level above: the Merkle hash of its 256 hashes.
///
/// Fails unless `tile` is exactly 256 hashes (8192 bytes).
pub fn tile_hash(tile: &[u8]) -> Result<Hash, Error> {
    if tile.len() != TILE_WIDTH as usize * HASH_SIZE {
        return Err(Error::InvalidInput("tile_hash needs a full tile".into()));
    }
    Ok(subtree_hash(tile))
}

/// Merkle hash of a power-of-two number (≥ 1) of concatenated hashes.
pub(crate) fn subtree_hash(data: &[u8]) -> Hash {
    debug_assert!(data.len() >= HASH_SIZE && (data.len() / HASH_SIZE).is_power_of_two());
    tlog_tiles::Tile::subtree_hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tile_prefix_cuts_hashes_and_entries() {
        let full: Vec<u8> = (0..256u32).flat_map(|i| [i as u8; HASH_SIZE]).collect();
        let p = tile_prefix(t(Some(0), 3, 5), &full).unwrap();
        assert_eq!(p, full[..5 * HASH_SIZE]);
        assert!(tile_prefix(t(Some(1), 3, 5), &full[..4 * HASH_SIZE]).is_err());
        assert!(tile_prefix(t(Some(1), 3, 1), &full[..HASH_SIZE + 1]).is_err());
        let entries: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; usize::from(i)]).collect();
        let bundle = encode_bundle(entries.iter().map(Vec::as_slice)).unwrap();
        let p = tile_prefix(t(None, 0, 4), &bundle).unwrap();
        assert_eq!(
            p,
            encode_bundle(entries[..4].iter().map(Vec::as_slice)).unwrap()
        );
        assert!(tile_prefix(t(None, 0, 11), &bundle).is_err());
        assert!(tile_prefix(t(None, 0, 1), &bundle[..bundle.len() - 1]).is_err());
    }

    fn t(level: Option<u8>, index: u64, width: u16) -> TileId {
        TileId {
            level,
            index,
            width,
        }
    }

    #[test]
    fn spec_path_examples() {
        assert_eq!(t(Some(0), 1_234_067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(t(Some(0), 1_234_067, 8).path(), "tile/0/x001/x234/067.p/8");
        assert_eq!(t(None, 0, 256).path(), "tile/entries/000");
        assert_eq!(t(None, 5, 17).path(), "tile/entries/005.p/17");
        assert_eq!(t(Some(63), 1000, 256).path(), "tile/63/x001/000");
        assert_eq!(t(Some(2), 999, 1).path(), "tile/2/999.p/1");
        assert_eq!(
            t(Some(1), u64::MAX, 255).path(),
            "tile/1/x018/x446/x744/x073/x709/x551/615.p/255"
        );
        for p in [
            "tile/0/x001/x234/067",
            "tile/0/x001/x234/067.p/8",
            "tile/entries/000",
            "tile/entries/x001/000.p/255",
            "tile/63/000",
            "tile/1/x018/x446/x744/x073/x709/x551/615.p/255",
        ] {
            assert_eq!(TileId::parse_path(p).expect(p).path(), p);
        }
        assert_eq!(
            TileId::parse_path("tile/0/x001/x234/067.p/8").expect("valid"),
            t(Some(0), 1_234_067, 8)
        );
    }

    #[test]
    fn bad_paths_rejected() {
        for p in [
            "",
            "tile",
            "tile/0",
            "tile/0/",
            "/tile/0/000",
            "tile/0/000/",
            "tiles/0/000",
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/+1/000",
            "tile/-0/000",
            "tile/ 0/000",
            "tile/data/000",
            "tile/8/0/000",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/1",
            "tile/0/x000/001",
            "tile/0/x001",
            "tile/0/001/002",
            "tile/0/x001/x002",
            "tile/0/y001/002",
            "tile/0/xx01/002",
            "tile/0/x01/002",
            "tile/0/+01",
            "tile/0/00a",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/08",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000.p/8/9",
            "tile/0/000.p/+8",
            "tile/0/000.p/8.p/8",
            "tile/0/000.q/8",
            "tile/0/000/p/8",
            "tile/entries/000.p/256",
            "tile/entries/x000/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
            "tile/0/０００",
        ] {
            assert!(TileId::parse_path(p).is_err(), "accepted {p:?}");
        }
    }

    #[test]
    fn spec_size_70000() {
        let tiles = tiles_for_size(TreeSize(70_000));
        let count = |level: Option<u8>, full: bool| {
            tiles
                .iter()
                .filter(|t| t.level == level && t.is_full() == full)
                .count()
        };
        assert_eq!(count(Some(0), true), 273);
        assert_eq!(count(None, true), 273);
        assert_eq!(count(Some(1), true), 1);
        assert_eq!(count(Some(2), true), 0);
        assert!(tiles.contains(&t(Some(0), 273, 112)));
        assert!(tiles.contains(&t(None, 273, 112)));
        assert!(tiles.contains(&t(Some(1), 1, 17)));
        assert!(tiles.contains(&t(Some(2), 0, 1)));
        assert_eq!(tiles.len(), 273 * 2 + 2 + 1 + 1 + 1);
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
        // tile of width 1" (plus its entry bundle).
        assert_eq!(
            tiles_for_size(TreeSize(256)),
            vec![t(None, 0, 256), t(Some(0), 0, 256), t(Some(1), 0, 1)]
        );
        assert!(tiles_for_size(TreeSize(0)).is_empty());
        let max = tiles_for_size(TreeSize(255));
        assert_eq!(max, vec![t(None, 0, 255), t(Some(0), 0, 255)]);
    }

    #[test]
    fn bundle_strictness() {
        let b = encode_bundle([&b"ab"[..], b"", b"c"]).expect("small");
        assert_eq!(b, [0, 2, b'a', b'b', 0, 0, 0, 1, b'c']);
        assert_eq!(
            decode_bundle(&b).expect("valid"),
            vec![&b"ab"[..], b"", b"c"]
        );
        assert!(decode_bundle(&b[..b.len() - 1]).is_err());
        assert!(decode_bundle(&b[..1]).is_err());
        let mut trailing = b.clone();
        trailing.push(0);
        assert!(decode_bundle(&trailing).is_err());
        assert_eq!(decode_bundle(&[]).expect("empty"), Vec::<&[u8]>::new());
        let big = vec![0u8; MAX_ENTRY_SIZE + 1];
        assert!(matches!(
            encode_bundle([big.as_slice()]),
            Err(Error::EntryTooLarge { len: 65536 })
        ));
        let max = vec![7u8; MAX_ENTRY_SIZE];
        let enc = encode_bundle([max.as_slice()]).expect("max size fits");
        assert_eq!(decode_bundle(&enc).expect("valid"), vec![max.as_slice()]);
        let too_many = encode_bundle(std::iter::repeat_n(&b""[..], 257)).expect("small");
        assert!(decode_bundle(&too_many).is_err());
    }

    #[test]
    fn bundle_against_tile() {
        let entries: Vec<&[u8]> = vec![b"one", b"two"];
        let bundle = encode_bundle(entries.iter().copied()).expect("small");
        let mut tile = Vec::new();
        for e in &entries {
            tile.extend_from_slice(&leaf_hash(e).0);
        }
        assert_eq!(check_bundle(&bundle, &tile).expect("matches"), entries);
        assert!(check_bundle(&bundle, &tile[..32]).is_err());
        tile[40] ^= 1;
        assert!(check_bundle(&bundle, &tile).is_err());
    }

    fn arb_tile() -> impl Strategy<Value = TileId> {
        (
            proptest::option::of(0u8..=63),
            prop_oneof![0u64..5000, any::<u64>()],
            1u16..=256,
        )
            .prop_map(|(level, index, width)| TileId {
                level,
                index,
                width,
            })
    }

    proptest! {
        #[test]
        fn path_round_trip(id in arb_tile()) {
            let p = id.path();
            prop_assert_eq!(TileId::parse_path(&p).expect("own path parses"), id);
        }

        #[test]
        fn parse_is_canonical(s in "tile/(entries|[0-9]{1,2})(/x?[0-9]{1,4}){1,3}(\\.p/[0-9]{1,3})?") {
            if let Ok(id) = TileId::parse_path(&s) {
                prop_assert_eq!(id.path(), s);
            }
        }

        #[test]
        fn bundle_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..=256)) {
            let enc = encode_bundle(entries.iter().map(Vec::as_slice)).expect("small entries");
            let dec = decode_bundle(&enc).expect("own bundle decodes");
            prop_assert_eq!(dec, entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(d) = decode_bundle(&bytes) {
                prop_assert_eq!(encode_bundle(d).expect("decoded entries fit"), bytes);
            }
        }
    }
}
