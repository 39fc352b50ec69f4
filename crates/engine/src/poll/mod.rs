//! Polling the sources: the sweeper that catches what webhooks missed (or, for shops without
//! webhooks, finds every change) and backfill over a date range. One module per source.

mod prestashop;
mod woocommerce;

use chrono::NaiveDate;

use crate::{Engine, Source};

impl Engine {
    /// Reads every order changed since the connection's cursor into the ledger. Returns how
    /// many orders were read.
    pub async fn sweep(&self, connection_id: &str) -> anyhow::Result<usize> {
        let connection = self
            .connection(connection_id)
            .ok_or_else(|| anyhow::anyhow!("unknown connection `{connection_id}`"))?
            .clone();
        match &connection.source {
            Source::Woocommerce { client, .. } => {
                self.sweep_woocommerce(connection_id, client).await
            }
            Source::Prestashop { client } => self.sweep_prestashop(connection_id, client).await,
        }
    }

    /// Takes in every order created on the shop-local days [from, until), calling
    /// `progress(done, total)` per order (`total` 0 when the source does not say).
    pub async fn backfill(
        &self,
        connection_id: &str,
        from: NaiveDate,
        until: NaiveDate,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<u64> {
        let connection = self
            .connection(connection_id)
            .ok_or_else(|| anyhow::anyhow!("unknown connection `{connection_id}`"))?
            .clone();
        match &connection.source {
            Source::Woocommerce { client, .. } => {
                self.backfill_woocommerce(connection_id, client, from, until, progress)
                    .await
            }
            Source::Prestashop { client } => {
                self.backfill_prestashop(connection_id, client, from, until, progress)
                    .await
            }
        }
    }
}
