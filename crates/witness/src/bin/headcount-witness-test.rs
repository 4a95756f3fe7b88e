//! Test-only witness process for the crash (SIGKILL) test. Not the product binary.
//!
//! Usage: `headcount-witness-test <state_dir> <witness skey> <log origin> <log vkey>`.
//! Binds 127.0.0.1:0, prints `LISTEN <addr>` on stdout, serves until killed.

use std::io::Write;
use std::sync::Arc;

use headcount_witness::{Witness, WitnessConfig, serve_on};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, state_dir, skey, origin, vkey] = args.as_slice() else {
        return Err("usage: headcount-witness-test <state_dir> <skey> <origin> <vkey>".into());
    };
    let config = WitnessConfig::from_skey(skey)?.with_log(origin, vkey)?;
    let witness = Arc::new(Witness::open(config, state_dir)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut out = std::io::stdout();
    writeln!(out, "LISTEN {}", listener.local_addr()?)?;
    out.flush()?;
    serve_on(witness, listener, std::future::pending()).await?;
    Ok(())
}
