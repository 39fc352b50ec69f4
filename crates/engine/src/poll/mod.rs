//! Polling the sources: the sweeper that catches what webhooks missed (or, for shops without
//! webhooks, finds every change) and backfill over a date range. One module per source.

mod prestashop;
mod woocommerce;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use ledgerlink_core::{ConnectorError, ErrorKind};
use serde_json::json;

use crate::{Engine, Source};

/// A new connection starts this far back: older orders come in by backfill, so that the first
/// sweep does not book years the merchant already booked by hand. A day covers any time zone.
const FIRST_SWEEP_LOOKBACK_HOURS: i64 = 24;

/// Where a new connection's first sweep starts, in the source's own date format.
fn first_cursor(format: &str) -> String {
    (Utc::now() - Duration::hours(FIRST_SWEEP_LOOKBACK_HOURS))
        .format(format)
        .to_string()
}

/// `cursor` moved back by `overlap`, in the same format; a pass re-reads that much so that a
/// change committed late (or stamped in a repeated daylight-saving hour) is not missed.
fn with_overlap(cursor: &str, format: &str, overlap: Duration) -> anyhow::Result<String> {
    let at = NaiveDateTime::parse_from_str(cursor, format)
        .map_err(|e| anyhow::anyhow!("the stored cursor `{cursor}` is unreadable: {e}"))?;
    Ok((at - overlap).format(format).to_string())
}

/// The reason, if reading a document failed for good (retrying cannot help): such a document
/// is taken in as unreadable — held with the reason — and the pass goes on.
fn permanent_failure(error: &anyhow::Error) -> Option<String> {
    let connector = error.downcast_ref::<ConnectorError>()?;
    matches!(
        connector.kind,
        ErrorKind::NotFound | ErrorKind::Rejected | ErrorKind::Config
    )
    .then(|| connector.message_for_user.clone())
}

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

/// The master-data cache entity of a product's category, and how long it is relied on.
const PRODUCT_CATEGORY: &str = "product_category";
const CATEGORY_HOURS: i64 = 24;

impl Engine {
    /// The categories of a document's products, when the connection's revenue rules ask for
    /// them (shops keep them on the product, not the order). Kept a day per product, so a busy
    /// shop's orders cost a product look-up now and then; `fetch` asks the shop for the rest.
    async fn product_categories<F, Fut>(
        &self,
        connection_id: &str,
        line_products: &BTreeMap<String, u64>,
        fetch: F,
    ) -> anyhow::Result<HashMap<u64, String>>
    where
        F: FnOnce(Vec<u64>) -> Fut,
        Fut: std::future::Future<Output = Result<HashMap<u64, String>, ConnectorError>>,
    {
        let wanted = self.connection(connection_id).is_some_and(|c| {
            c.settings
                .get()
                .accounts
                .revenue_rules
                .iter()
                .any(|rule| rule.category.is_some())
        });
        let mut categories = HashMap::new();
        if !wanted {
            return Ok(categories);
        }
        let mut missing = Vec::new();
        for product in line_products.values().copied().collect::<BTreeSet<u64>>() {
            let cached = self
                .store
                .cache_get(
                    connection_id,
                    "source",
                    PRODUCT_CATEGORY,
                    &product.to_string(),
                )
                .await?;
            let fresh = cached.as_ref().and_then(|c| {
                let at = DateTime::parse_from_rfc3339(c["fetched_at"].as_str()?).ok()?;
                (Utc::now() - at.with_timezone(&Utc) < Duration::hours(CATEGORY_HOURS))
                    .then(|| c["category"].as_str().map(str::to_string))
            });
            match fresh {
                Some(Some(category)) => {
                    categories.insert(product, category);
                }
                // The product has no category: remembered too.
                Some(None) => {}
                None => missing.push(product),
            }
        }
        if missing.is_empty() {
            return Ok(categories);
        }
        let found = fetch(missing.clone()).await?;
        let now = Utc::now();
        for product in missing {
            let category = found.get(&product);
            let value = json!({ "category": category, "fetched_at": now.to_rfc3339() });
            self.store
                .cache_put(
                    connection_id,
                    "source",
                    PRODUCT_CATEGORY,
                    &product.to_string(),
                    &value,
                    now,
                )
                .await?;
            if let Some(category) = category {
                categories.insert(product, category.clone());
            }
        }
        Ok(categories)
    }
}
