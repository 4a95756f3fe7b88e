//! C2SP tlog-policy: which logs and witnesses are trusted, and the witness quorum.
//!
//! Supported: `log`, `witness`, `group` (`all` / `any` / k-of-n, nested), `quorum` (a witness, a
//! group or `none`), comments and blank lines. Witness keys must be cosignature/v1 (`0x04`);
//! log keys may be `0x01` (Ed25519) or `0x04`. The file must be UTF-8 (the spec allows opaque
//! high-bit octets; UTF-8 is what it recommends).

use std::collections::{HashMap, HashSet};

use crate::{CosignatureVerifier, Error, LogVerifier, split_note};

/// A witness line: its policy-local name, key and optional URL (its submission prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    /// The name used in `group` and `quorum` lines (not the key name).
    pub name: String,
    /// The witness's cosignature key.
    pub verifier: CosignatureVerifier,
    /// The witness's URL, if given.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    k: usize,
    members: Vec<Member>,
}

/// A parsed tlog-policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<(LogVerifier, Option<String>)>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None` means `quorum none`.
    quorum: Option<Member>,
}

fn policy_err(line: usize, reason: impl Into<String>) -> Error {
    Error::Policy {
        line,
        reason: reason.into(),
    }
}

fn allowed_char(c: char) -> bool {
    c == '\t' || c == '\n' || (' '..='~').contains(&c) || !c.is_ascii()
}

impl Policy {
    /// Parses a policy file.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut logs: Vec<(LogVerifier, Option<String>)> = Vec::new();
        let mut witnesses: Vec<PolicyWitness> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut names: HashMap<String, Member> = HashMap::new();
        let mut used_as_member: HashSet<Member> = HashSet::new();
        let mut quorum: Option<Option<Member>> = None;
        let mut line_count = 0;

        for (i, line) in text.split('\n').enumerate() {
            let n = i + 1;
            line_count = n;
            if let Some(c) = line.chars().find(|&c| !allowed_char(c)) {
                return Err(policy_err(
                    n,
                    format!("character U+{:04X} not allowed", c as u32),
                ));
            }
            let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
            let Some((&keyword, args)) = fields.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            let resolve = |name: &str| -> Result<Member, Error> {
                names
                    .get(name)
                    .copied()
                    .ok_or_else(|| policy_err(n, format!("{name:?} is not defined above")))
            };
            let new_name = |name: &str| -> Result<(), Error> {
                if name == "none" {
                    Err(policy_err(n, "the name \"none\" is reserved"))
                } else if names.contains_key(name) {
                    Err(policy_err(n, format!("{name:?} is already defined")))
                } else {
                    Ok(())
                }
            };
            match keyword {
                "log" => {
                    let (vkey, url) = match args {
                        [vkey] => (vkey, None),
                        [vkey, url] => (vkey, Some((*url).to_owned())),
                        _ => return Err(policy_err(n, "expected: log <vkey> [<url>]")),
                    };
                    let v =
                        LogVerifier::from_vkey(vkey).map_err(|e| policy_err(n, e.to_string()))?;
                    if logs.iter().any(|(l, _)| l.public_key() == v.public_key()) {
                        return Err(policy_err(n, "duplicate log key"));
                    }
                    logs.push((v, url));
                }
                "witness" => {
                    let (name, vkey, url) = match args {
                        [name, vkey] => (name, vkey, None),
                        [name, vkey, url] => (name, vkey, Some((*url).to_owned())),
                        _ => return Err(policy_err(n, "expected: witness <name> <vkey> [<url>]")),
                    };
                    new_name(name)?;
                    let v = CosignatureVerifier::from_vkey(vkey)
                        .map_err(|e| policy_err(n, e.to_string()))?;
                    if witnesses
                        .iter()
                        .any(|w| w.verifier.public_key() == v.public_key())
                    {
                        return Err(policy_err(n, "duplicate witness key"));
                    }
                    names.insert((*name).to_owned(), Member::Witness(witnesses.len()));
                    witnesses.push(PolicyWitness {
                        name: (*name).to_owned(),
                        verifier: v,
                        url,
                    });
                }
                "group" => {
                    let [name, threshold, members @ ..] = args else {
                        return Err(policy_err(n, "expected: group <name> <k> <name>..."));
                    };
                    new_name(name)?;
                    if members.is_empty() {
                        return Err(policy_err(n, "a group needs at least one member"));
                    }
                    let k = match *threshold {
                        "all" => members.len(),
                        "any" => 1,
                        k if k.bytes().all(|b| b.is_ascii_digit()) => k
                            .parse::<usize>()
                            .map_err(|_| policy_err(n, "threshold out of range"))?,
                        _ => return Err(policy_err(n, "threshold must be all, any or a number")),
                    };
                    if k < 1 || k > members.len() {
                        return Err(policy_err(n, "threshold must be between 1 and n"));
                    }
                    let mut resolved = Vec::with_capacity(members.len());
                    for m in members {
                        if *m == "none" {
                            return Err(policy_err(n, "\"none\" cannot be a group member"));
                        }
                        let member = resolve(m)?;
                        if !used_as_member.insert(member) {
                            return Err(policy_err(n, format!("{m:?} is already a group member")));
                        }
                        resolved.push(member);
                    }
                    names.insert((*name).to_owned(), Member::Group(groups.len()));
                    groups.push(Group {
                        k,
                        members: resolved,
                    });
                }
                "quorum" => {
                    let [name] = args else {
                        return Err(policy_err(n, "expected: quorum <name>"));
                    };
                    if quorum.is_some() {
                        return Err(policy_err(n, "more than one quorum line"));
                    }
                    quorum = Some(if *name == "none" {
                        None
                    } else {
                        Some(resolve(name)?)
                    });
                }
                other => return Err(policy_err(n, format!("unknown keyword {other:?}"))),
            }
        }
        let quorum = quorum.ok_or_else(|| policy_err(line_count, "no quorum line"))?;
        Ok(Self {
            logs,
            witnesses,
            groups,
            quorum,
        })
    }

    /// The trusted logs' keys.
    pub fn logs(&self) -> impl Iterator<Item = &LogVerifier> {
        self.logs.iter().map(|(v, _)| v)
    }

    /// The trusted logs' keys with their URLs.
    pub fn logs_with_urls(&self) -> impl Iterator<Item = (&LogVerifier, Option<&str>)> {
        self.logs.iter().map(|(v, u)| (v, u.as_deref()))
    }

    /// The witnesses, in file order.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// Whether the quorum holds given which witnesses (by index into [`Policy::witnesses`])
    /// cosigned.
    pub fn quorum_met(&self, cosigned: &[bool]) -> bool {
        match self.quorum {
            None => true,
            Some(m) => self.eval(m, cosigned),
        }
    }

    fn eval(&self, m: Member, cosigned: &[bool]) -> bool {
        match m {
            Member::Witness(i) => cosigned.get(i).copied().unwrap_or(false),
            Member::Group(g) => {
                let group = &self.groups[g];
                group
                    .members
                    .iter()
                    .filter(|&&m| self.eval(m, cosigned))
                    .count()
                    >= group.k
            }
        }
    }

    /// Checks a signed checkpoint against the policy: it must carry a valid signature from one
    /// of the policy's logs whose key name is the checkpoint origin, and valid cosignatures
    /// meeting the quorum. Any signature line from a known key that fails to verify rejects
    /// the note; lines from unknown keys are ignored. Returns the parsed checkpoint.
    pub fn check(&self, note: &[u8]) -> Result<tlog_tiles::Checkpoint, Error> {
        self.check_inner(note, None)
    }

    /// Like [`Policy::check`], but the log signature is checked with `log` (whatever its name)
    /// instead of the policy's `log` lines; for policies that list no logs.
    pub fn check_with_log(
        &self,
        note: &[u8],
        log: &dyn signed_note::Verifier,
    ) -> Result<tlog_tiles::Checkpoint, Error> {
        self.check_inner(note, Some(log))
    }

    fn check_inner(
        &self,
        note: &[u8],
        log: Option<&dyn signed_note::Verifier>,
    ) -> Result<tlog_tiles::Checkpoint, Error> {
        let note = split_note(note)?;
        let checkpoint = tlog_tiles::Checkpoint::from_bytes(note.text)
            .map_err(|_| Error::MalformedCheckpoint)?;
        let mut log_ok = false;
        let mut cosigned = vec![false; self.witnesses.len()];
        for sig in &note.sigs {
            let invalid = || Error::InvalidSignature {
                name: sig.name().to_owned(),
            };
            match log {
                Some(v) => {
                    if sig.name() == v.name() && sig.id() == v.key_id() {
                        if !v.verify(note.text, sig.signature()) {
                            return Err(invalid());
                        }
                        log_ok = true;
                    }
                }
                None => {
                    for v in self.logs().filter(|v| v.matches(sig)) {
                        if !v.verify_signature(note.text, sig.signature()) {
                            return Err(invalid());
                        }
                        if v.name() == checkpoint.origin() {
                            log_ok = true;
                        }
                    }
                }
            }
            for (i, w) in self.witnesses.iter().enumerate() {
                if w.verifier.matches(sig) {
                    w.verifier
                        .verify_signature(note.text, sig.signature())
                        .map_err(|_| invalid())?;
                    cosigned[i] = true;
                }
            }
        }
        if !log_ok {
            return Err(Error::NoLogSignature);
        }
        if !self.quorum_met(&cosigned) {
            return Err(Error::QuorumNotMet);
        }
        Ok(checkpoint)
    }
}
