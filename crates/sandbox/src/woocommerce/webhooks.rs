//! Webhook deliveries, as `WC_Webhook::deliver()` makes them: HTTP POST of the resource JSON
//! (byte-for-byte what the REST API returns), `X-WC-Webhook-*` headers, the signature
//! `base64(HMAC-SHA256(secret, raw body))`, no redirects followed, and the webhook disabled after
//! five consecutive non-2xx answers (a 2xx resets the count). The ping sent when a webhook is
//! created is a form-encoded `webhook_id=<id>` without signature or `X-WC-Webhook-*` headers;
//! it is recorded as a delivery with topic `"ping"` and does not count toward failures.

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::json::php_json;
use super::model::WC_VERSION;
use super::WooSandbox;

/// The topic under which the creation ping is recorded.
pub const PING_TOPIC: &str = "ping";

/// One POST the shop made to a webhook's delivery URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// `X-WC-Webhook-Delivery-ID`; a redelivery repeats the original id.
    pub delivery_id: u64,
    pub webhook_id: u64,
    /// `order.created`, `order.updated`, ... or [`PING_TOPIC`].
    pub topic: String,
    pub url: String,
    /// Response status; `None` when no HTTP response arrived (connection error, timeout).
    pub status: Option<u16>,
    pub body: Vec<u8>,
    /// `X-WC-Webhook-Signature` (empty for the ping).
    pub signature: String,
}

/// `base64(HMAC-SHA256(key = secret, message = body))`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn user_agent() -> String {
    format!("WooCommerce/{WC_VERSION} Hookshot (WordPress/6.4.3)")
}

impl WooSandbox {
    /// Starts a background delivery run when automatic delivery is on and work is queued.
    pub(crate) fn kick(&self) {
        if !self.inner.auto_deliver.load(Ordering::SeqCst) || self.shop().queue.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shop = self.clone();
            runtime.spawn(async move {
                shop.deliver_pending_webhooks().await;
            });
        }
    }

    /// Sends every queued delivery now, in order, and returns what was sent. Runs are serialised,
    /// so deliveries never overtake each other.
    pub async fn deliver_pending_webhooks(&self) -> Vec<DeliveryRecord> {
        let _turn = self.inner.delivery_turn.lock().await;
        let mut sent = Vec::new();
        loop {
            let next = {
                let mut shop = self.shop();
                let site = self.site_url();
                let mut next = None;
                while let Some(job) = shop.queue.pop_front() {
                    let Some(hook) = shop.webhooks.get(&job.webhook_id) else {
                        continue;
                    };
                    let body = php_json(&shop.payload(&job, &site)).into_bytes();
                    next = Some(DeliveryRecord {
                        delivery_id: self.inner.next_delivery_id.fetch_add(1, Ordering::SeqCst),
                        webhook_id: hook.id,
                        topic: format!("order.{}", job.event),
                        url: hook.delivery_url.clone(),
                        status: None,
                        signature: sign(&hook.secret, &body),
                        body,
                    });
                    break;
                }
                next
            };
            let Some(record) = next else { break };
            sent.push(self.send(record).await);
        }
        sent
    }

    /// Sends a recorded delivery again with the same body and headers (a duplicate delivery, as
    /// a receiver sees it when the shop retries after a timeout).
    pub async fn redeliver(&self, delivery_id: u64) -> Option<DeliveryRecord> {
        let original = self
            .deliveries()
            .into_iter()
            .find(|d| d.delivery_id == delivery_id)?;
        let _turn = self.inner.delivery_turn.lock().await;
        Some(
            self.send(DeliveryRecord {
                status: None,
                ..original
            })
            .await,
        )
    }

    /// The ping WooCommerce sends right after a webhook is created.
    pub(crate) async fn ping(&self, webhook_id: u64) {
        let Some(url) = self
            .shop()
            .webhooks
            .get(&webhook_id)
            .map(|w| w.delivery_url.clone())
        else {
            return;
        };
        let record = DeliveryRecord {
            delivery_id: self.inner.next_delivery_id.fetch_add(1, Ordering::SeqCst),
            webhook_id,
            topic: PING_TOPIC.to_string(),
            url,
            status: None,
            body: format!("webhook_id={webhook_id}").into_bytes(),
            signature: String::new(),
        };
        self.send(record).await;
    }

    async fn send(&self, mut record: DeliveryRecord) -> DeliveryRecord {
        let ping = record.topic == PING_TOPIC;
        let mut request = self
            .inner
            .http
            .post(&record.url)
            .header("User-Agent", user_agent())
            .body(record.body.clone());
        if ping {
            request = request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .timeout(Duration::from_secs(5));
        } else {
            let (resource, event) = record.topic.split_once('.').unwrap_or(("", ""));
            request = request
                .header("Content-Type", "application/json")
                .header("X-WC-Webhook-Source", self.source_url())
                .header("X-WC-Webhook-Topic", &record.topic)
                .header("X-WC-Webhook-Resource", resource)
                .header("X-WC-Webhook-Event", event)
                .header("X-WC-Webhook-Signature", &record.signature)
                .header("X-WC-Webhook-ID", record.webhook_id.to_string())
                .header("X-WC-Webhook-Delivery-ID", record.delivery_id.to_string())
                .timeout(Duration::from_secs(60));
        }
        record.status = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the answer like wp_remote_post() does before logging it.
                let _ = response.bytes().await;
                Some(status)
            }
            Err(error) => {
                tracing::debug!(%error, url = %record.url, "webhook delivery failed");
                None
            }
        };
        if !ping {
            let success = record.status.is_some_and(|s| (200..300).contains(&s));
            let mut shop = self.shop();
            let at = shop.tick();
            if let Some(hook) = shop.webhooks.get_mut(&record.webhook_id) {
                if success {
                    hook.failure_count = 0;
                } else {
                    hook.failure_count += 1;
                    if hook.failure_count >= 5 && hook.status == "active" {
                        hook.status = "disabled".to_string();
                        hook.date_modified = at;
                    }
                }
            }
        }
        self.inner.deliveries.lock().unwrap().push(record.clone());
        record
    }

    /// Every delivery made so far (pings included), oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.inner.deliveries.lock().unwrap().clone()
    }

    /// Turns background delivery on or off; turning it on sends whatever is queued.
    pub fn set_auto_deliver(&self, on: bool) {
        self.inner.auto_deliver.store(on, Ordering::SeqCst);
        self.kick();
    }

    /// `X-WC-Webhook-Source`: the shop's home URL with a trailing slash.
    fn source_url(&self) -> String {
        let name = self.config().store_url_name.trim();
        if name.is_empty() {
            format!("{}/", self.site_url())
        } else if name.contains("://") {
            format!("{}/", name.trim_end_matches('/'))
        } else {
            format!("https://{}/", name.trim_end_matches('/'))
        }
    }
}
