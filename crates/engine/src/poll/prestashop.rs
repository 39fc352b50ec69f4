//! PrestaShop: no webhooks, so every change is found by polling `date_upd`; credit slips are
//! read with their order.

use std::collections::HashSet;

use chrono::{NaiveDate, Utc};
use ledgerlink_core::ConnectorError;
use ledgerlink_sources::prestashop::{self, Page, PrestaClient, PAGE_SIZE};
use serde_json::Value;

use crate::Engine;

/// The webservice's shop-local timestamps.
const PRESTA_DATE: &str = "%Y-%m-%d %H:%M:%S";
const ORDERS_CURSOR: &str = "orders.date_upd";
const SLIPS_CURSOR: &str = "order_slip.date_upd";

fn text_id(value: &Value) -> String {
    value
        .get("id")
        .map(|v| v.to_string().trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into())
}

impl Engine {
    /// An order with its state, customer and addresses, and each of its credit slips.
    async fn intake_presta_order(
        &self,
        connection_id: &str,
        client: &PrestaClient,
        order: &Value,
    ) -> anyhow::Result<()> {
        let id = text_id(order);
        let bundle = client.bundle_for(order.clone()).await?;
        let payload = serde_json::to_value(&bundle)?;
        let products = prestashop::line_products(&bundle);
        let categories = self
            .product_categories(connection_id, &products, |ids| async move {
                client.product_categories(&ids).await
            })
            .await?;
        let with_categories = |mut document: ledgerlink_core::Document| {
            document.set_line_categories(&products, &categories);
            document
        };
        let mapped = prestashop::map_order(&bundle)
            .map(with_categories)
            .map_err(|e| e.to_string());
        self.intake(connection_id, mapped, &payload, ("order", &id))
            .await?;
        let order_id: u64 = id
            .parse()
            .map_err(|_| anyhow::anyhow!("PrestaShop order id `{id}` is not a number"))?;
        for slip in client.order_slips_for(order_id).await? {
            let slip_id = text_id(&slip);
            let mapped = prestashop::map_slip(&bundle, &slip)
                .map(with_categories)
                .map_err(|e| e.to_string());
            self.intake(connection_id, mapped, &slip, ("refund", &slip_id))
                .await?;
        }
        Ok(())
    }

    /// Reads by key: after every page the next query starts again at the newest `date_upd`
    /// seen (the filter's lower end is inclusive, so that second is read again, never
    /// skipped); only a page that all changed in one second is paged through by offset.
    /// Orders, then credit slips: adding a slip does not change its order's `date_upd`, so
    /// slips have a cursor of their own. Returns how many orders were read.
    pub(crate) async fn sweep_prestashop(
        &self,
        connection_id: &str,
        client: &PrestaClient,
    ) -> anyhow::Result<usize> {
        let orders = self
            .sweep_presta(
                connection_id,
                ORDERS_CURSOR,
                "order",
                async |from: &str, offset| {
                    client.orders_changed_since(from, offset, PAGE_SIZE).await
                },
                async |order: &Value| self.intake_presta_order(connection_id, client, order).await,
            )
            .await?;
        self.sweep_presta(
            connection_id,
            SLIPS_CURSOR,
            "refund",
            async |from: &str, offset| client.slips_changed_since(from, offset, PAGE_SIZE).await,
            async |slip: &Value| self.intake_presta_slip(connection_id, client, slip).await,
        )
        .await?;
        Ok(orders)
    }

    /// A credit slip found on its own: mapped with its order.
    async fn intake_presta_slip(
        &self,
        connection_id: &str,
        client: &PrestaClient,
        slip: &Value,
    ) -> anyhow::Result<()> {
        let order = slip["id_order"].to_string();
        let order_id: u64 = order
            .trim_matches('"')
            .parse()
            .map_err(|_| anyhow::anyhow!("credit slip {} names no order", text_id(slip)))?;
        let bundle = client.bundle(order_id).await?;
        let mapped = prestashop::map_slip(&bundle, slip).map_err(|e| e.to_string());
        self.intake(connection_id, mapped, slip, ("refund", &text_id(slip)))
            .await?;
        Ok(())
    }

    /// Reads one resource by key: after every page the next query starts again at the newest
    /// `date_upd` seen (the filter's lower end is inclusive, so that second is read again,
    /// never skipped); only a page that all changed in one second is paged through by offset.
    /// Each pass starts an hour and a bit before the cursor: shop-local time repeats an hour
    /// when daylight saving ends, and a slow save may commit after a later one.
    async fn sweep_presta(
        &self,
        connection_id: &str,
        cursor: &str,
        kind: &str,
        fetch: impl AsyncFn(&str, u32) -> Result<Page, ConnectorError>,
        take: impl AsyncFn(&Value) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize> {
        let stored = self
            .store
            .cursor(connection_id, cursor)
            .await?
            .unwrap_or_else(|| super::first_cursor(PRESTA_DATE));
        let mut from = super::with_overlap(&stored, PRESTA_DATE, chrono::Duration::minutes(65))?;
        let mut offset = 0;
        let mut seen = HashSet::new();
        loop {
            let page = fetch(&from, offset).await?;
            let mut newest: Option<String> = None;
            for item in &page.items {
                let changed = item["date_upd"].as_str().map(str::to_string);
                let taken = match take(item).await {
                    Err(error) => match super::permanent_failure(&error) {
                        Some(reason) => {
                            let id = text_id(item);
                            let why =
                                Err(format!("PrestaShop {kind} {id} cannot be read: {reason}"));
                            self.intake(connection_id, why, item, (kind, &id))
                                .await
                                .map(|_| ())
                        }
                        None => Err(error),
                    },
                    ok => ok,
                };
                if let Err(error) = taken {
                    if let Some(changed) = &changed {
                        self.advance_presta_cursor(connection_id, cursor, &stored, changed)
                            .await?;
                    }
                    return Err(
                        error.context(format!("taking in PrestaShop {kind} {}", text_id(item)))
                    );
                }
                seen.insert(text_id(item));
                newest = newest.max(changed);
            }
            let Some(newest) = newest else { break };
            self.advance_presta_cursor(connection_id, cursor, &stored, &newest)
                .await?;
            let Some(next_offset) = page.next_offset() else {
                break;
            };
            if newest > from {
                from = newest;
                offset = 0;
            } else {
                offset = next_offset;
            }
        }
        Ok(seen.len())
    }

    /// The cursor is the `date_upd` of the newest item safely in the ledger; never backwards.
    async fn advance_presta_cursor(
        &self,
        connection_id: &str,
        cursor: &str,
        stored: &str,
        changed: &str,
    ) -> anyhow::Result<()> {
        if changed > stored {
            self.store
                .set_cursor(connection_id, cursor, changed, Utc::now())
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn backfill_prestashop(
        &self,
        connection_id: &str,
        client: &PrestaClient,
        from: NaiveDate,
        until: NaiveDate,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<u64> {
        let (from, until) = (format!("{from} 00:00:00"), format!("{until} 00:00:00"));
        let mut done = 0;
        let mut offset = 0;
        loop {
            let page = client
                .orders_created_between(&from, &until, offset, PAGE_SIZE)
                .await?;
            for order in &page.items {
                self.intake_presta_order(connection_id, client, order)
                    .await?;
                done += 1;
                // The webservice gives no total.
                progress(done, 0);
            }
            match page.next_offset() {
                Some(next) => offset = next,
                None => break,
            }
        }
        Ok(done)
    }
}
