//! The demo's wallet with a decoy passphrase (issue 11).

use std::path::Path;

use anyhow::{Result, bail};
use headcount_wallet::{Params, Passphrase, Wallet};

/// Creates the declarant's wallet with a second, decoy identity; shows that each passphrase
/// opens only its own identity and that the file is the size of a one-identity wallet.
/// Returns the main identity.
pub fn wallet_with_decoy(path: &Path, pass: &Passphrase) -> Result<Wallet> {
    let decoy_pass = Passphrase::new("paper kite over a quiet meadow")?;
    let params = Params::insecure_for_tests();
    let (main, _) = Wallet::create_with_decoy(path, pass, &decoy_pass, params)?;
    let size = std::fs::metadata(path)?.len();
    let single = path.with_extension("single.hcw");
    Wallet::create(&single, pass, params)?;
    let single_size = std::fs::metadata(&single)?.len();
    std::fs::remove_file(&single)?;
    let decoy = Wallet::open(path, &decoy_pass)?;
    if decoy.salt() == main.salt() || size != single_size {
        bail!("the decoy wallet is not what it should be");
    }
    println!(
        "   decoy        her wallet also holds an innocent decoy identity, opened by a second passphrase \
         to give up under coercion: {size} bytes, the size of a one-identity wallet; \
         each passphrase opens only its own identity"
    );
    Ok(main)
}
