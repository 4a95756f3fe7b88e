//! The registrar console's link to the log (`registrar serve --server URL`): the same client
//! code as `registrar close-period` and `vouch` — every receipt verified against the log key.

use std::sync::Arc;

use anyhow::{Result, bail};
use headcount_core::entry::Entry;
use headcount_core::{CampaignId, Period, RegistrarId};
use headcount_registrar::console::{BoxFuture, LogLink};

use crate::client::{LogClient, verify_receipt};

/// The log server at `base`, for registrar `registrar`.
pub struct ConsoleLog {
    client: LogClient,
    registrar: RegistrarId,
}

impl ConsoleLog {
    /// The link, as the console takes it.
    pub fn link(base: &str, registrar: RegistrarId) -> Arc<dyn LogLink> {
        Arc::new(ConsoleLog {
            client: LogClient::new(base),
            registrar,
        })
    }

    async fn submit_verified(&self, bytes: &[u8]) -> Result<u64> {
        let receipt = self.client.submit_ok(bytes).await?;
        let key = self.client.log_key().await?;
        verify_receipt(bytes, &receipt, &key)?;
        Ok(receipt.leaf_index)
    }

    async fn sizes(&self) -> Result<Vec<(Period, u64)>> {
        let r = self
            .client
            .get_json(&format!("/v1/registrars/{}", self.registrar))
            .await?;
        Ok(r["periods"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let period = Period(u32::try_from(p["period"].as_u64()?).ok()?);
                Some((period, p["size"].as_u64()?))
            })
            .collect())
    }

    async fn period(&self, bytes: Vec<u8>) -> Result<u64> {
        match Entry::decode(&bytes)? {
            Entry::IssuancePeriod(b) if b.registrar == self.registrar => {}
            _ => bail!("not this registrar's issuance-period entry"),
        }
        self.submit_verified(&bytes).await
    }
}

fn sentence(e: anyhow::Error) -> String {
    format!("{e:#}")
}

impl LogLink for ConsoleLog {
    fn logged_periods(&self) -> BoxFuture<'_, Result<Vec<(Period, u64)>, String>> {
        Box::pin(async move { self.sizes().await.map_err(sentence) })
    }

    fn log_period(&self, entry: Vec<u8>) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move { self.period(entry).await.map_err(sentence) })
    }

    fn vouch(
        &self,
        key: ed25519_dalek::SigningKey,
        campaign: CampaignId,
        person: String,
        alias: String,
        message: String,
    ) -> BoxFuture<'_, Result<u64, String>> {
        Box::pin(async move {
            let bytes = crate::cmd::vouch::vouched_entry(
                &key,
                self.registrar,
                campaign,
                &person,
                &alias,
                &message,
            )
            .map_err(sentence)?;
            self.submit_verified(&bytes).await.map_err(sentence)
        })
    }
}
