//! The wire-format vectors in `docs/vectors/entries.json`: decode, re-encode,
//! check what each one says. Regenerate (only when the format deliberately
//! changes, with a version bump) with `HEADCOUNT_WRITE_VECTORS=1`.

use headcount_core::entry::*;
use headcount_core::ids::*;
use headcount_core::testkit::{self, test_key};
use headcount_core::{Leaf, LogState, NoCredentials, Period, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Vector {
    r#type: String,
    description: String,
    /// The encoded entry.
    hex: String,
    /// SHA-256 of the entry.
    entry_hash: String,
    /// Campaign or registrar id, for the types that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

const OPENS: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const CLOSES: u64 = 1_798_761_600; // 2027-01-01T00:00:00Z

fn build_vectors() -> Vec<(Entry, Vec<u8>, &'static str)> {
    let reg_key = test_key(1);
    let org_key = test_key(2);
    let (reg, reg_bytes) = testkit::registrar(&reg_key, testkit::bbs_key(1), "Vector Registrar");
    let Entry::Registrar(r) = &reg else {
        unreachable!()
    };
    let rid = r.id();
    // December 2025: over when the vector campaign opens.
    let december = Period::from_year_month(2025, 12).unwrap();
    let (batch, batch_bytes) = testkit::period(&reg_key, rid, december, 500);
    let (camp, camp_bytes) = testkit::campaign(&org_key, vec![rid], OPENS, CLOSES, 8);
    let Entry::Campaign(c) = &camp else {
        unreachable!()
    };
    let cid = c.id();
    let (decl, decl_bytes) = Entry::Declaration(Declaration {
        campaign: cid,
        pseudonym: Pseudonym([0x11; 48]),
        registrar: rid,
        period: december,
        predecessor: EntryHash::NONE,
        alias: "Lotus".into(),
        message: "我退出。I renounce.".into(),
        proof: vec![0xab; 16],
    })
    .build()
    .unwrap();
    let (wd, wd_bytes) = Entry::Withdrawal(Withdrawal {
        campaign: cid,
        pseudonym: Pseudonym([0x11; 48]),
        registrar: rid,
        period: december,
        predecessor: EntryHash::of(&decl_bytes),
        proof: vec![0xcd; 16],
    })
    .build()
    .unwrap();
    let (v, v_bytes) = testkit::vouched(&reg_key, rid, cid, [0x22; 32], "Phone caller 17");
    let (u, u_bytes) = testkit::unverified(cid, "Anonymous", 8);
    let (ret, ret_bytes) = testkit::retirement(&reg_key, rid);
    vec![
        (
            reg,
            reg_bytes,
            "registrar with the BBS key of secret scalar 0x0101…01, signed by Ed25519 key seed 0x01",
        ),
        (
            batch,
            batch_bytes,
            "issuance period 2025-12 (671): 500 credentials of the vector registrar",
        ),
        (
            camp,
            camp_bytes,
            "bilingual campaign (en, zh) accepting the vector registrar, difficulty 8, minimum anonymity 100, signed by seed 0x02",
        ),
        (
            decl,
            decl_bytes,
            "declaration with a placeholder 16-byte proof (encoding only; the proof does not verify)",
        ),
        (
            wd,
            wd_bytes,
            "withdrawal of the declaration above (its predecessor) with a placeholder 16-byte proof (encoding only)",
        ),
        (
            v,
            v_bytes,
            "vouched declaration, reference 0x22.., signed by the vector registrar",
        ),
        (u, u_bytes, "unverified declaration with 8 bits of work"),
        (
            ret,
            ret_bytes,
            "the vector registrar retires its keys, signed by its Ed25519 key",
        ),
    ]
}

fn id_of(e: &Entry) -> Option<String> {
    match e {
        Entry::Registrar(r) => Some(r.id().to_hex()),
        Entry::Campaign(c) => Some(c.id().to_hex()),
        _ => None,
    }
}

fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors/entries.json")
}

#[test]
fn vectors_match_the_committed_file() {
    let built: Vec<Vector> = build_vectors()
        .into_iter()
        .map(|(e, b, d)| Vector {
            r#type: e.entry_type().name().into(),
            description: d.into(),
            hex: hex::encode(&b),
            entry_hash: EntryHash::of(&b).to_hex(),
            id: id_of(&e),
        })
        .collect();
    if std::env::var_os("HEADCOUNT_WRITE_VECTORS").is_some() {
        std::fs::write(path(), serde_json::to_string_pretty(&built).unwrap() + "\n").unwrap();
    }
    let committed: Vec<Vector> =
        serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    assert_eq!(committed, built, "the encoding changed: vectors differ");
}

#[test]
fn every_type_has_a_vector_that_decodes_and_reencodes() {
    let committed: Vec<Vector> =
        serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let mut types: Vec<u8> = Vec::new();
    for v in &committed {
        let bytes = hex::decode(&v.hex).unwrap();
        let e = Entry::decode(&bytes).unwrap();
        assert_eq!(e.entry_type().name(), v.r#type);
        assert_eq!(e.encode(), bytes, "{} re-encodes differently", v.r#type);
        assert_eq!(EntryHash::of(&bytes).to_hex(), v.entry_hash);
        assert_eq!(id_of(&e), v.id);
        types.push(e.entry_type() as u8);
    }
    types.sort();
    assert_eq!(types, (1..=8).collect::<Vec<u8>>());
}

#[test]
fn vector_signatures_and_work_verify_in_a_log() {
    let mut state = LogState::new();
    let t = Timestamp(OPENS + 600);
    for (e, bytes, _) in build_vectors() {
        let leaf = Leaf {
            timestamp: t,
            entry: bytes,
        };
        match e.entry_type() {
            EntryType::Declaration => {
                // Credentialed entries are never accepted unchecked.
                let err = state.validate_leaf(&leaf, &NoCredentials).unwrap_err();
                assert_eq!(err.code(), "unsupported_entry");
            }
            EntryType::Withdrawal => {
                // Its predecessor, the declaration, is not in the log.
                let err = state.validate_leaf(&leaf, &NoCredentials).unwrap_err();
                assert_eq!(err.code(), "stale_predecessor");
            }
            _ => {
                state.push(&leaf, &NoCredentials).unwrap();
            }
        }
    }
    let tallies = state.tallies();
    assert_eq!(tallies.len(), 1);
    assert_eq!(
        (
            tallies[0].vouched,
            tallies[0].unverified,
            tallies[0].credible
        ),
        (1, 1, 1)
    );
}
