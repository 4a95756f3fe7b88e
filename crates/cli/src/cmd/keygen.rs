//! `headcount keygen`: key files for each role.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::keys;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(clap::Subcommand)]
enum Role {
    /// A log operator's checkpoint key (C2SP signed-note Ed25519).
    Operator {
        /// The log's origin, e.g. `example.org/headcount`: the key name and checkpoint first line.
        #[arg(long)]
        origin: String,
        /// Directory for `log.skey` (secret) and `log.vkey` (public).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// An organiser's campaign-signing key (Ed25519).
    Organiser {
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// File name stem: writes NAME.key and NAME.pub.
        #[arg(long, default_value = "organiser")]
        name: String,
    },
    /// A witness's cosigning key (C2SP cosignature/v1).
    Witness {
        /// The witness's name (its key name), e.g. `witness.example.org`.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// An auditor's attestation key (C2SP signed-note Ed25519).
    Auditor {
        /// The auditor's name (its key name), e.g. `newsroom.example`.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// A registrar's keys: Ed25519 for its entries, BBS for credentials.
    Registrar {
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// File name stem: writes NAME.key and NAME.pub.
        #[arg(long, default_value = "registrar")]
        name: String,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.role {
        Role::Operator { origin, out } => {
            std::fs::create_dir_all(&out)?;
            let path = out.join("log.skey");
            let signer = crate::cmd::serve::load_or_create_log_key_new(&path, &origin)?;
            println!(
                "wrote {} (secret) and {}",
                path.display(),
                path.with_extension("vkey").display()
            );
            println!("log key: {}", signer.vkey());
        }
        Role::Witness { name, out } => {
            let (_, skey, vkey) = headcount_cosignature::CosignatureSigner::generate(&name)?;
            let path = keys::write_note_key_pair(&out, &name, skey, &vkey)?;
            println!(
                "wrote {} (secret) and {}",
                path.display(),
                path.with_extension("vkey").display()
            );
            println!("witness key: {vkey}");
        }
        Role::Auditor { name, out } => {
            let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, &name);
            let path = keys::write_note_key_pair(&out, &name, skey, &vkey)?;
            println!(
                "wrote {} (secret) and {}",
                path.display(),
                path.with_extension("vkey").display()
            );
            println!("auditor key: {vkey}");
        }
        Role::Organiser { out, name } => {
            std::fs::create_dir_all(&out)?;
            let (key, path) = keys::new_organiser(&out, &name)?;
            println!(
                "wrote {} (secret) and {}",
                path.display(),
                out.join(format!("{name}.pub")).display()
            );
            println!(
                "organiser key: {}",
                hex::encode(key.verifying_key().to_bytes())
            );
        }
        Role::Registrar { out, name } => {
            std::fs::create_dir_all(&out)?;
            let bbs = crate::cmd::registrar::new_bbs_keypair()?;
            let k =
                keys::new_registrar(&out, &name, Some(bbs)).context("writing registrar keys")?;
            println!(
                "wrote {} (secret) and {}",
                out.join(format!("{name}.key")).display(),
                out.join(format!("{name}.pub")).display()
            );
            println!(
                "registrar signing key (public; NOT the registrar id, which `registrar register` prints and saves): {}",
                hex::encode(k.signing.verifying_key().to_bytes())
            );
        }
    }
    Ok(())
}
