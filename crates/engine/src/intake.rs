//! Intake: documents from webhooks, the poll sweeper and backfill into the ledger.
//! A document that cannot be read is still taken in, with the reason, so it is held — never lost.

use chrono::Utc;
use ledgerlink_core::Document;
use ledgerlink_sources::woocommerce::{self, verify_signature, WebhookEvent, WooClient};
use ledgerlink_store::{IntakeOutcome, NewDocument};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{Engine, Source};

/// What to answer a webhook delivery.
#[derive(Debug, PartialEq, Eq)]
pub struct WebhookReply {
    pub status: u16,
    pub message: String,
}

impl WebhookReply {
    fn new(status: u16, message: impl Into<String>) -> Self {
        WebhookReply {
            status,
            message: message.into(),
        }
    }
}

fn one_second_before(modified: &str) -> anyhow::Result<String> {
    let at = chrono::NaiveDateTime::parse_from_str(modified, "%Y-%m-%dT%H:%M:%S").map_err(|e| {
        anyhow::anyhow!("the shop gave an unreadable modification time `{modified}`: {e}")
    })?;
    Ok((at - chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string())
}

/// Where the sweeper starts on a new connection.
const EPOCH_CURSOR: &str = "1970-01-01T00:00:00";
const ORDERS_CURSOR: &str = "orders.modified_after";

impl Engine {
    /// Takes a mapped document (or the reason it could not be mapped) into the ledger.
    pub async fn intake(
        &self,
        connection_id: &str,
        mapped: Result<Document, String>,
        payload: &Value,
        fallback: (&str, &str),
    ) -> anyhow::Result<IntakeOutcome> {
        let new = match mapped {
            Ok(document) => NewDocument {
                connection_id: connection_id.to_string(),
                kind: document.source_ref.kind.as_str().to_string(),
                source_id: document.source_ref.id.clone(),
                number: document.number.clone(),
                source_modified_at: document.modified_at,
                document_json: serde_json::to_value(&document)?,
            },
            Err(reason) => {
                let (kind, id) = fallback;
                NewDocument {
                    connection_id: connection_id.to_string(),
                    kind: kind.to_string(),
                    source_id: id.to_string(),
                    number: id.to_string(),
                    source_modified_at: Utc::now(),
                    document_json: json!({ "unreadable": reason, "payload": payload }),
                }
            }
        };
        Ok(self.store.intake(new, Utc::now()).await?)
    }

    /// An order from the shop, and each of its refunds.
    async fn intake_woo_order(
        &self,
        connection_id: &str,
        client: &WooClient,
        order: &Value,
    ) -> anyhow::Result<()> {
        let id = order
            .get("id")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown".into());
        let mapped = woocommerce::map_order(order).map_err(|e| e.to_string());
        self.intake(connection_id, mapped, order, ("order", &id))
            .await?;
        let has_refunds = order["refunds"].as_array().is_some_and(|r| !r.is_empty());
        if has_refunds {
            for refund in client.refunds(&id).await? {
                let refund_id = refund
                    .get("id")
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "unknown".into());
                let mapped = woocommerce::map_refund(order, &refund).map_err(|e| e.to_string());
                self.intake(connection_id, mapped, &refund, ("refund", &refund_id))
                    .await?;
            }
        }
        Ok(())
    }

    /// One webhook delivery: verified over the raw bytes, deduplicated, then taken in.
    pub async fn webhook(
        &self,
        connection_id: &str,
        signature: Option<&str>,
        topic: Option<&str>,
        delivery_id: Option<&str>,
        body: &[u8],
    ) -> WebhookReply {
        let Some(connection) = self.connection(connection_id) else {
            return WebhookReply::new(404, "unknown connection");
        };
        let Source::Woocommerce {
            client,
            webhook_secrets,
        } = &connection.source;
        let signed = signature.is_some_and(|sig| {
            webhook_secrets
                .iter()
                .any(|secret| verify_signature(secret.expose_secret().as_bytes(), body, sig))
        });
        let event = WebhookEvent::parse(topic, body);
        // The creation ping is unsigned in some WooCommerce versions; it changes nothing.
        if let Ok(WebhookEvent::Ping { webhook_id }) = &event {
            tracing::info!(connection_id, webhook_id, "webhook ping answered");
            return WebhookReply::new(200, "pong");
        }
        if !signed {
            tracing::warn!(
                connection_id,
                "webhook with a missing or wrong signature refused"
            );
            return WebhookReply::new(401, "invalid signature");
        }
        let event = match event {
            Ok(event) => event,
            Err(reason) => return WebhookReply::new(400, reason),
        };
        // WooCommerce derives the delivery id from the webhook and the second it was sent, so
        // different events in one second share it: a duplicate is the same id and body.
        let delivery_key = delivery_id.map(|id| format!("{id}:{:x}", Sha256::digest(body)));
        if let Some(key) = &delivery_key {
            match self
                .store
                .record_delivery(connection_id, key, Utc::now())
                .await
            {
                Ok(true) => {}
                Ok(false) => return WebhookReply::new(200, "duplicate delivery ignored"),
                Err(error) => {
                    tracing::error!(connection_id, %error, "cannot record a webhook delivery");
                    return WebhookReply::new(
                        503,
                        "could not take the delivery in; it will be retried",
                    );
                }
            }
        }
        let result = match event {
            WebhookEvent::Order(order) => {
                self.intake_woo_order(connection_id, client, &order).await
            }
            WebhookEvent::OrderDeleted { id } => self.order_deleted(connection_id, &id).await,
            WebhookEvent::Ignored { topic } => {
                return WebhookReply::new(200, format!("topic {topic} is not booked"))
            }
            WebhookEvent::Ping { .. } => return WebhookReply::new(200, "pong"),
        };
        match result {
            Ok(()) => WebhookReply::new(200, "accepted"),
            Err(error) => {
                tracing::error!(connection_id, %error, "webhook intake failed");
                // Forget the delivery so that its redelivery is processed; the sweeper would
                // also catch the order on its next pass.
                if let Some(key) = &delivery_key {
                    if let Err(error) = self.store.forget_delivery(connection_id, key).await {
                        tracing::error!(connection_id, %error, "cannot forget a failed webhook delivery");
                    }
                }
                WebhookReply::new(503, "could not take the delivery in; it will be retried")
            }
        }
    }

    /// An order deleted in the shop before it was booked is never booked: it is taken in as
    /// a version with status `trash`, which the trigger rule skips.
    async fn order_deleted(&self, connection_id: &str, id: &str) -> anyhow::Result<()> {
        let Some(row) = self
            .store
            .document_by_source(connection_id, "order", id)
            .await?
        else {
            tracing::info!(
                connection_id,
                id,
                "order deleted in the shop before ledgerlink saw it"
            );
            return Ok(());
        };
        let Ok(mut document) = serde_json::from_value::<Document>(row.document_json.clone()) else {
            return Ok(());
        };
        document.status = "trash".into();
        // The deletion comes after every change the ledger has seen, whatever the shop's
        // clock said about those.
        document.modified_at =
            Utc::now().max(document.modified_at + chrono::Duration::microseconds(1));
        let payload = json!({ "id": id, "deleted": true });
        self.intake(connection_id, Ok(document), &payload, ("order", id))
            .await?;
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
    pub async fn sweep(&self, connection_id: &str) -> anyhow::Result<usize> {
        let connection = self
            .connection(connection_id)
            .ok_or_else(|| anyhow::anyhow!("unknown connection `{connection_id}`"))?;
        let Source::Woocommerce { client, .. } = &connection.source;
        let stored = self
            .store
            .cursor(connection_id, ORDERS_CURSOR)
            .await?
            .unwrap_or_else(|| EPOCH_CURSOR.into());
        let mut after = stored.clone();
        let mut page = 1;
        // Orders read at a page boundary are read twice; count each once.
        let mut seen = std::collections::HashSet::new();
        loop {
            let batch = client.orders_modified_after(&after, page).await?;
            let mut newest: Option<String> = None;
            for order in &batch.items {
                let modified = order["date_modified_gmt"].as_str().map(str::to_string);
                if let Err(error) = self.intake_woo_order(connection_id, client, order).await {
                    if let Some(modified) = &modified {
                        self.advance_cursor(connection_id, &stored, modified)
                            .await?;
                    }
                    return Err(error.context(format!("taking in order {}", order["id"])));
                }
                seen.insert(order["id"].to_string());
                newest = newest.max(modified);
            }
            let Some(newest) = newest else { break };
            self.advance_cursor(connection_id, &stored, &newest).await?;
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
    async fn advance_cursor(
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

    /// Takes in every order created in [from, to), calling `progress(done, total)` per order.
    pub async fn backfill(
        &self,
        connection_id: &str,
        from: &str,
        to: &str,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<u64> {
        let connection = self
            .connection(connection_id)
            .ok_or_else(|| anyhow::anyhow!("unknown connection `{connection_id}`"))?;
        let Source::Woocommerce { client, .. } = &connection.source;
        let mut done = 0;
        let mut page = 1;
        loop {
            let batch = client.orders_created_between(from, to, page).await?;
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
