//! A WooCommerce webhook delivery as `serve` takes it in: the signature over the raw body,
//! then the event. Input: the `X-WC-Webhook-Topic` header on the first line (empty: none),
//! the body after it.
#![no_main]

use base64::Engine;
use hmac::{Hmac, Mac};
use ledgerlink_sources::woocommerce::{map_order, verify_signature, WebhookEvent};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SECRET: &[u8] = b"the shop's webhook secret";

fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|delivery: &[u8]| {
    let (head, body) = match delivery.iter().position(|&b| b == b'\n') {
        Some(end) => (&delivery[..end], &delivery[end + 1..]),
        None => (&[][..], delivery),
    };
    let topic = std::str::from_utf8(head).ok().filter(|t| !t.is_empty());

    let signed = signature(SECRET, body);
    assert!(verify_signature(SECRET, body, &signed));
    assert!(!verify_signature(b"another secret", body, &signed));
    // Whatever the header says, only the body's own MAC passes.
    let claimed = String::from_utf8_lossy(head);
    if verify_signature(SECRET, body, &claimed) {
        let decode = |text: &str| base64::engine::general_purpose::STANDARD.decode(text.trim());
        assert_eq!(decode(&claimed).ok(), decode(&signed).ok());
    }

    let event = WebhookEvent::parse(topic, body);
    match &event {
        Ok(WebhookEvent::Order(order)) => {
            assert!(topic.is_some_and(|t| t.starts_with("order.")));
            assert!(order.get("id").is_some());
            // The order goes on to the mapper: a document or a reason, never a panic.
            let _ = map_order(order);
        }
        Ok(WebhookEvent::OrderDeleted { .. }) => assert_eq!(topic, Some("order.deleted")),
        Ok(WebhookEvent::Ignored { topic: ignored }) => assert!(!ignored.starts_with("order.")),
        Ok(WebhookEvent::Ping { .. }) | Err(_) => {}
    }
    // A delivery is kept as text and parsed again by a worker (engine/intake.rs): the same
    // event comes out.
    if matches!(
        event,
        Ok(WebhookEvent::Order(_) | WebhookEvent::OrderDeleted { .. })
    ) {
        let kept = String::from_utf8_lossy(body);
        assert_eq!(WebhookEvent::parse(topic, kept.as_bytes()), event);
    }
});
