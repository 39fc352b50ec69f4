//! WooCommerce webhooks: `X-WC-Webhook-Signature` is base64(HMAC-SHA256(secret, raw body)).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-wc-webhook-signature";

/// Checks the signature over the raw bytes, in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], signature_b64: &str) -> bool {
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// What a verified delivery asks of us.
#[derive(Debug, PartialEq)]
pub enum WebhookEvent {
    /// Sent once when the webhook is created (form-encoded `webhook_id=N`): answer 2xx.
    Ping { webhook_id: String },
    /// An order was created, updated or restored: its full JSON.
    Order(serde_json::Value),
    /// An order was deleted: only its id.
    OrderDeleted { id: String },
    /// A topic we do not book from (customers, products, ...).
    Ignored { topic: String },
}

impl WebhookEvent {
    /// Interprets a delivery from its `X-WC-Webhook-Topic` header and body.
    pub fn parse(topic: Option<&str>, body: &[u8]) -> Result<WebhookEvent, String> {
        if let Some(id) = ping_webhook_id(body) {
            return Ok(WebhookEvent::Ping { webhook_id: id });
        }
        let topic = topic.ok_or("the delivery has no X-WC-Webhook-Topic header")?;
        if !topic.starts_with("order.") {
            return Ok(WebhookEvent::Ignored {
                topic: topic.to_string(),
            });
        }
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| format!("the body of a `{topic}` delivery is not JSON: {e}"))?;
        let id = value
            .get("id")
            .map(|id| id.to_string().trim_matches('"').to_string());
        match (topic, id) {
            (_, None) => Err(format!("the `{topic}` delivery has no order id")),
            ("order.deleted", Some(id)) => Ok(WebhookEvent::OrderDeleted { id }),
            _ => Ok(WebhookEvent::Order(value)),
        }
    }
}

fn ping_webhook_id(body: &[u8]) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    match pairs.as_slice() {
        [(name, id)] if name == "webhook_id" => Some(id.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn accepts_only_the_right_signature() {
        let body = br#"{"id":1}"#;
        let good = sign(b"s3cret", body);
        assert!(verify_signature(b"s3cret", body, &good));
        assert!(!verify_signature(b"other", body, &good));
        assert!(!verify_signature(b"s3cret", br#"{"id":2}"#, &good));
        assert!(!verify_signature(b"s3cret", body, "not base64!"));
    }

    #[test]
    fn recognises_ping_order_and_delete() {
        assert_eq!(
            WebhookEvent::parse(None, b"webhook_id=7").unwrap(),
            WebhookEvent::Ping {
                webhook_id: "7".into()
            }
        );
        assert!(matches!(
            WebhookEvent::parse(Some("order.updated"), br#"{"id":5,"status":"processing"}"#)
                .unwrap(),
            WebhookEvent::Order(_)
        ));
        assert_eq!(
            WebhookEvent::parse(Some("order.deleted"), br#"{"id":5}"#).unwrap(),
            WebhookEvent::OrderDeleted { id: "5".into() }
        );
        assert!(WebhookEvent::parse(Some("order.created"), b"{broken")
            .unwrap_err()
            .contains("not JSON"));
    }
}
