//! WooCommerce: orders by `modified_after`, refunds with their order.

use chrono::{NaiveDate, Utc};
use ledgerlink_sources::woocommerce::{self, WooClient};
use serde_json::Value;

use crate::Engine;

/// Where the sweeper starts on a new connection.
/// WooCommerce's GMT timestamps.
const WOO_DATE: &str = "%Y-%m-%dT%H:%M:%S";
const ORDERS_CURSOR: &str = "orders.modified_after";

fn one_second_before(modified: &str) -> anyhow::Result<String> {
    let at = chrono::NaiveDateTime::parse_from_str(modified, "%Y-%m-%dT%H:%M:%S").map_err(|e| {
        anyhow::anyhow!("the shop gave an unreadable modification time `{modified}`: {e}")
    })?;
    Ok((at - chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string())
}

impl Engine {
    /// An order from the shop, and each of its refunds.
    pub(crate) async fn intake_woo_order(
        &self,
        connection_id: &str,
        client: &WooClient,
        order: &Value,
    ) -> anyhow::Result<()> {
        let id = order
            .get("id")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown".into());
        let products = woocommerce::line_products(order);
        let categories = self
            .product_categories(connection_id, &products, |ids| async move {
                client.product_categories(&ids).await
            })
            .await?;
        let with_categories = |mut document: ledgerlink_core::Document| {
            document.set_line_categories(&products, &categories);
            document
        };
        let mapped = woocommerce::map_order(order)
            .map(with_categories)
            .map_err(|e| e.to_string());
        self.intake(connection_id, mapped, order, ("order", &id))
            .await?;
        let has_refunds = order["refunds"].as_array().is_some_and(|r| !r.is_empty());
        if has_refunds {
            for refund in client.refunds(&id).await? {
                let refund_id = refund
                    .get("id")
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "unknown".into());
                let mapped = woocommerce::map_refund(order, &refund)
                    .map(with_categories)
                    .map_err(|e| e.to_string());
                self.intake(connection_id, mapped, &refund, ("refund", &refund_id))
                    .await?;
            }
        }
        Ok(())
    }

    /// The poll sweeper: reads every order changed since the cursor, so that a missed webhook
    /// is caught.
    ///
    /// Pages are read by key, not by number: after each page the next query starts again at
    /// the newest change seen, so an order that changes during the pass (and moves to the end
    /// of the list) cannot push another one past a page boundary unseen. The cursor follows
    /// the pass; an order that cannot be taken in stops the pass there, and the next pass
    /// starts with it.
    pub(crate) async fn sweep_woocommerce(
        &self,
        connection_id: &str,
        client: &WooClient,
    ) -> anyhow::Result<usize> {
        let stored = self
            .store
            .cursor(connection_id, ORDERS_CURSOR)
            .await?
            .unwrap_or_else(|| super::first_cursor(WOO_DATE));
        let mut after = super::with_overlap(&stored, WOO_DATE, chrono::Duration::minutes(5))?;
        let mut page = 1;
        // Orders read at a page boundary are read twice; count each once.
        let mut seen = std::collections::HashSet::new();
        loop {
            let batch = client.orders_modified_after(&after, page).await?;
            let mut newest: Option<String> = None;
            for order in &batch.items {
                let modified = order["date_modified_gmt"].as_str().map(str::to_string);
                let taken = match self.intake_woo_order(connection_id, client, order).await {
                    Err(error) => match super::permanent_failure(&error) {
                        Some(reason) => {
                            let id = order["id"].to_string();
                            let why =
                                Err(format!("WooCommerce order {id} cannot be read: {reason}"));
                            self.intake(connection_id, why, order, ("order", &id))
                                .await
                                .map(|_| ())
                        }
                        None => Err(error),
                    },
                    ok => ok,
                };
                if let Err(error) = taken {
                    if let Some(modified) = &modified {
                        self.advance_woo_cursor(connection_id, &stored, modified)
                            .await?;
                    }
                    return Err(error.context(format!("taking in order {}", order["id"])));
                }
                seen.insert(order["id"].to_string());
                newest = newest.max(modified);
            }
            let Some(newest) = newest else { break };
            self.advance_woo_cursor(connection_id, &stored, &newest)
                .await?;
            if u64::from(page) >= batch.total_pages {
                break;
            }
            let next_after = one_second_before(&newest)?;
            if next_after > after {
                after = next_after;
                page = 1;
            } else {
                // A whole page changed within one second: page through that second.
                page += 1;
            }
        }
        Ok(seen.len())
    }

    /// Moves the cursor to one second before `modified` (`modified_after` is exclusive and
    /// counts whole seconds), never backwards.
    async fn advance_woo_cursor(
        &self,
        connection_id: &str,
        stored: &str,
        modified: &str,
    ) -> anyhow::Result<()> {
        let next = one_second_before(modified)?;
        if next.as_str() > stored {
            self.store
                .set_cursor(connection_id, ORDERS_CURSOR, &next, Utc::now())
                .await?;
        }
        Ok(())
    }

    /// Takes in every order created on the shop-local days [from, until).
    pub(crate) async fn backfill_woocommerce(
        &self,
        connection_id: &str,
        client: &WooClient,
        from: NaiveDate,
        until: NaiveDate,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<u64> {
        let (from, until) = (format!("{from}T00:00:00"), format!("{until}T00:00:00"));
        let mut done = 0;
        let mut page = 1;
        loop {
            let batch = client.orders_created_between(&from, &until, page).await?;
            for order in &batch.items {
                self.intake_woo_order(connection_id, client, order).await?;
                done += 1;
                progress(done, batch.total);
            }
            if u64::from(page) >= batch.total_pages || batch.items.is_empty() {
                break;
            }
            page += 1;
        }
        Ok(done)
    }
}
