//! `headcount`: one binary for every role — log operator, organiser,
//! registrar, declarant, auditor — plus `demo` and `bench`.

#![forbid(unsafe_code)]

mod app;
mod client;
mod cmd;
mod config;
mod keys;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Pseudonymous public declarations with a headcount anyone can verify.
///
/// Organisers publish campaigns; registrars check that people are real and
/// distinct and vouch for them or issue them credentials; people declare
/// under pseudonyms; the log operator sequences everything into a public,
/// append-only Merkle log; anyone can audit the log and recompute every count.
#[derive(Parser)]
#[command(name = "headcount", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a log server: sequencer, C2SP tiles and checkpoints, JSON API.
    Serve(cmd::serve::Args),
    /// Create key files for an operator, organiser, registrar, witness or auditor (secrets are never printed).
    Keygen(cmd::keygen::Args),
    /// Organiser: publish campaigns.
    #[command(subcommand)]
    Campaign(cmd::campaign::Command),
    /// Registrar: publish the registrar entry, issue credentials blindly, log batch sizes.
    #[command(subcommand)]
    Registrar(cmd::registrar::Command),
    /// Registrar: declare on behalf of a person it checked (e.g. by phone).
    Vouch(cmd::vouch::Args),
    /// Declarant: the app in your browser (wallet, credential, declare, prove), on this computer only.
    App(app::Args),
    /// Declarant: create an identity (an encrypted wallet).
    #[command(subcommand)]
    Identity(cmd::identity::Command),
    /// Declarant: get a credential from a registrar (blind: it never learns your secret).
    #[command(subcommand)]
    Credential(cmd::credential::Command),
    /// Declarant: make a declaration (credentialed from the wallet, or --unverified).
    Declare(cmd::declare::Args),
    /// Declarant: withdraw your declaration from a campaign's count.
    Withdraw(cmd::declare::WithdrawArgs),
    /// Offline declarations: campaign packets, pending entries, confirmation back home.
    #[command(subcommand)]
    Offline(cmd::offline::Command),
    /// Courier: submit entries others made offline (files or QR code images); write receipts.
    Submit(cmd::offline::SubmitArgs),
    /// Declarant and verifier: prove that a declaration was yours, to a verifier of your choosing.
    #[command(subcommand)]
    Claim(cmd::claim::Command),
    /// Witness: cosign a log's checkpoints only if they are consistent (C2SP tlog-witness).
    #[command(subcommand)]
    Witness(cmd::witness::Command),
    /// Mirror: keep a verified, cosigned copy of a log and serve it (C2SP tlog-mirror).
    #[command(subcommand)]
    Mirror(cmd::mirror::Command),
    /// Anyone: download a log, verify every entry and recompute every tally.
    Audit(cmd::audit::Args),
    /// The appeal's evidence packet: export one offline-verifiable file for a campaign; verify one.
    #[command(subcommand)]
    Evidence(cmd::evidence::Command),
    /// Measure ingest and audit throughput on this machine.
    Bench(cmd::bench::Args),
    /// A two-minute tour: a real server, registrar, declarants and audit on loopback.
    Demo(cmd::demo::Args),
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A user error (a wrong path, a server that cannot be reached, a
            // refused entry) is said in words, never with a backtrace, even
            // with RUST_BACKTRACE set; real bugs panic and keep theirs.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("HEADCOUNT_LOG").unwrap_or_else(|_| {
            let default = match cli.command {
                Command::Serve(_) | Command::Mirror(_) => "info",
                _ => "warn",
            };
            tracing_subscriber::EnvFilter::new(default)
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log file gets no escape codes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve(a) => cmd::serve::run(a).await,
            Command::Keygen(a) => cmd::keygen::run(a),
            Command::Campaign(c) => cmd::campaign::run(c).await,
            Command::Registrar(c) => cmd::registrar::run(c).await,
            Command::Vouch(a) => cmd::vouch::run(a).await,
            Command::App(a) => app::run(a).await,
            Command::Identity(c) => cmd::identity::run(c).await,
            Command::Credential(c) => cmd::credential::run(c).await,
            Command::Declare(a) => cmd::declare::run(a).await,
            Command::Withdraw(a) => cmd::declare::withdraw(a).await,
            Command::Offline(c) => cmd::offline::run(c).await,
            Command::Submit(a) => cmd::offline::submit(a).await,
            Command::Claim(c) => cmd::claim::run(c).await,
            Command::Witness(c) => cmd::witness::run(c).await,
            Command::Mirror(c) => cmd::mirror::run(c).await,
            Command::Audit(a) => cmd::audit::run(a).await,
            Command::Evidence(c) => cmd::evidence::run(c).await,
            Command::Bench(a) => cmd::bench::run(a).await,
            Command::Demo(a) => cmd::demo::run(a).await,
        }
    })
}

/// Where the server keeps things, relative to its data directory.
pub fn default_log_key(data: &std::path::Path) -> PathBuf {
    data.join("log.skey")
}
