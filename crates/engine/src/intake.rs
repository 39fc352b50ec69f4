//! Intake: documents into the ledger, from webhooks here and from the pollers in `poll/`.
//! A document that cannot be read is still taken in, with the reason, so it is held — never lost.

use chrono::Utc;
use ledgerlink_core::Document;
use ledgerlink_sources::woocommerce::{verify_signature, WebhookEvent};
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
            client,
            webhook_secrets,
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
}
