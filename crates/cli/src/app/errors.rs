//! Errors as sentences a person can act on, in their language. The commands' errors are
//! precise but technical; the app recognises the common ones (wrong passphrase, no Tor, a
//! campaign that is closed or does not accept the credential's registrar, a month not logged
//! yet) and says what to do. Anything else is shown with its message, never a stack of codes.

use headcount_registrar::localweb::Lang;

use super::text::{fill, t};

/// The log's refusal codes (`(code, HTTP 422)` in the client's messages) and their sentences.
fn log_code(lang: Lang, msg: &str) -> Option<&'static str> {
    let tx = t(lang);
    let table: [(&str, &'static str); 7] = [
        ("registrar_not_accepted", tx.err_not_accepted),
        ("campaign_closed", tx.err_campaign_closed),
        ("campaign_not_open", tx.err_campaign_not_open),
        ("not_declared", tx.err_not_declared),
        ("period_not_logged", tx.err_period_not_logged),
        ("anonymity_set_too_small", tx.err_too_small),
        ("unknown_campaign", tx.err_campaign_not_open),
    ];
    table
        .iter()
        .find(|(code, _)| msg.contains(&format!("({code},")) || msg.contains(&format!("({code})")))
        .map(|(_, s)| *s)
}

/// The sentence for an error of a flow.
pub fn sentence(lang: Lang, e: &anyhow::Error) -> String {
    let tx = t(lang);
    for cause in e.chain() {
        if let Some(w) = cause.downcast_ref::<headcount_wallet::Error>() {
            match w {
                headcount_wallet::Error::WrongPassphraseOrCorrupt => {
                    return tx.wrong_passphrase.to_owned();
                }
                headcount_wallet::Error::EmptyPassphrase => {
                    return tx.empty_passphrase.to_owned();
                }
                _ => {}
            }
        }
        if let Some(r) = cause.downcast_ref::<reqwest::Error>()
            && (r.is_connect() || r.is_timeout())
        {
            return tx.err_unreachable.to_owned();
        }
    }
    let msg = format!("{e:#}");
    if msg.contains("refusing to contact") {
        return tx.err_no_tor.to_owned();
    }
    if let Some(s) = log_code(lang, &msg) {
        return s.to_owned();
    }
    if msg.contains("no credential in this wallet is from a registrar this campaign accepts") {
        return tx.err_no_credential.to_owned();
    }
    if msg.contains("has not logged how many credentials") {
        return tx.err_period_not_logged.to_owned();
    }
    if msg.contains("campaign requires: declaring would narrow you down") {
        return tx.err_too_small.to_owned();
    }
    fill(tx.err_other, &[("e", &msg)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_refusals_become_sentences_in_both_languages() {
        let e = anyhow::anyhow!(
            "the log refused the entry: the campaign is closed (campaign_closed, HTTP 422)"
        );
        assert_eq!(sentence(Lang::En, &e), t(Lang::En).err_campaign_closed);
        assert_eq!(sentence(Lang::Zh, &e), t(Lang::Zh).err_campaign_closed);
        let e = anyhow::Error::new(headcount_wallet::Error::WrongPassphraseOrCorrupt)
            .context("opening x");
        assert_eq!(sentence(Lang::Zh, &e), t(Lang::Zh).wrong_passphrase);
        let e = anyhow::anyhow!("refusing to contact log.example.org directly: …");
        assert_eq!(sentence(Lang::En, &e), t(Lang::En).err_no_tor);
        let e = anyhow::anyhow!("something unforeseen");
        assert!(sentence(Lang::En, &e).contains("something unforeseen"));
    }
}
