//! Intake: documents into the ledger, from webhooks here and from the pollers in `poll/`.
//! A document that cannot be read is still taken in, with the reason, so it is held — never lost.

use chrono::Utc;
use ledgerlink_core::Document;
use ledgerlink_sources::woocommerce::{verify_signature, WebhookEvent};
use ledgerlink_store::{InboxItem, IntakeOutcome, NewDocument};
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
            webhook_secrets, ..
        } = &connection.source
        else {
            return WebhookReply::new(
                404,
                "this connection's shop sends no webhooks; its orders are polled",
            );
        };
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
        if !self.is_live(connection_id) {
            // Accepted, so the shop keeps the webhook; the sweep after going live reads it.
            return WebhookReply::new(202, "this shop is not live in ledgerlink yet: not taken in");
        }
        let event = match event {
            Ok(event) => event,
            Err(reason) => return WebhookReply::new(400, reason),
        };
        if let WebhookEvent::Ignored { topic } = &event {
            return WebhookReply::new(200, format!("topic {topic} is not booked"));
        }
        // WooCommerce derives the delivery id from the webhook and the second it was sent, so
        // different events in one second share it: a duplicate is the same id and body.
        let delivery_key = delivery_id.map(|id| format!("{id}:{:x}", Sha256::digest(body)));
        // Kept verbatim before the shop hears 2xx; taken into the ledger by the workers.
        let payload = String::from_utf8_lossy(body);
        match self
            .store
            .enqueue_delivery(
                connection_id,
                delivery_key.as_deref(),
                topic.unwrap_or_default(),
                &payload,
                Utc::now(),
            )
            .await
        {
            Ok(true) => {
                self.work_arrived.notify_one();
                WebhookReply::new(200, "accepted")
            }
            Ok(false) => WebhookReply::new(200, "duplicate delivery ignored"),
            Err(error) => {
                tracing::error!(connection_id, %error, "cannot keep a webhook delivery");
                WebhookReply::new(503, "could not take the delivery in; it will be retried")
            }
        }
    }

    /// Takes kept webhook deliveries into the ledger (reading what they need from the shop:
    /// refunds, product categories). A delivery that cannot be taken in yet is tried again
    /// later; the sweeper would also catch its order. Returns how many were taken.
    pub(crate) async fn run_inbox(&self) -> anyhow::Result<usize> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.options.lease)?;
        let items = self
            .store
            .claim_deliveries(now, now + lease, self.options.batch)
            .await?;
        let mut taken = 0;
        for item in items {
            match self.take_in(&item).await {
                Ok(()) => {
                    self.store.delivery_done(item.id).await?;
                    taken += 1;
                }
                Err(error) => {
                    tracing::warn!(delivery = item.id, connection_id = item.connection_id, %error, "a kept webhook delivery could not be taken in yet");
                    let backoff =
                        self.options.retry_base.saturating_mul(2u32.saturating_pow(
                            u32::try_from(item.attempts.clamp(0, 10)).unwrap_or(10),
                        ));
                    let retry_at = Utc::now()
                        + chrono::Duration::from_std(backoff.min(self.options.max_backoff))?;
                    self.store
                        .delivery_failed(item.id, &format!("{error:#}"), retry_at)
                        .await?;
                }
            }
        }
        Ok(taken)
    }

    async fn take_in(&self, item: &InboxItem) -> anyhow::Result<()> {
        let Some(connection) = self.connection(&item.connection_id) else {
            // Another process serves this connection; its lease runs out for it.
            anyhow::bail!("connection {} is not served here", item.connection_id);
        };
        let Source::Woocommerce { client, .. } = &connection.source else {
            anyhow::bail!("connection {} takes no webhooks", item.connection_id);
        };
        match WebhookEvent::parse(Some(&item.topic), item.payload.as_bytes()) {
            Ok(WebhookEvent::Order(order)) => {
                self.intake_woo_order(&item.connection_id, client, &order)
                    .await
            }
            Ok(WebhookEvent::OrderDeleted { id }) => {
                self.order_deleted(&item.connection_id, &id).await
            }
            // Checked when it arrived; nothing else is kept.
            Ok(WebhookEvent::Ignored { .. } | WebhookEvent::Ping { .. }) => Ok(()),
            Err(reason) => anyhow::bail!("the kept delivery no longer parses: {reason}"),
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
}
