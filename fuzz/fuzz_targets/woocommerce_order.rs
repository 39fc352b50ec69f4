//! WooCommerce order and refund JSON → documents, then the rules. Input: an order, or an
//! array of an order and its refunds.
#![no_main]

use ledgerlink_core::{Document, DocumentKind, Money};
use ledgerlink_rules::{decide, BookingSettings};
use ledgerlink_sources::woocommerce::{line_products, map_order, map_refund};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// What holds for every document a mapper gives: the ledger keeps it as JSON and reads it
/// back, and the rules decide on it.
fn check_document(document: &Document) {
    let kept = serde_json::to_value(document).expect("a document serialises");
    let read_back: Document = serde_json::from_value(kept)
        .unwrap_or_else(|e| panic!("the ledger could not read the document back: {e}"));
    assert_eq!(&read_back, document);
    for line in &document.lines {
        assert!(!line.description.is_empty());
        let _ = line.effective_rate();
    }
    let customer = &document.customer;
    assert!(customer.vat_number.is_none() || customer.invalid_vat_number.is_none());
    assert!(customer.email.is_none() || customer.invalid_email.is_none());
    let _ = decide(document, &BookingSettings::default());
}

fuzz_target!(|input: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    let (order, refunds) = match &value {
        Value::Array(items) if !items.is_empty() => (&items[0], &items[1..]),
        other => (other, &[][..]),
    };
    let _ = line_products(order);
    let Ok(document) = map_order(order) else {
        return;
    };
    assert_eq!(document.source_ref.kind, DocumentKind::Order);
    assert_eq!(
        Some(document.source_ref.id.as_str()),
        order["id"].as_u64().map(|id| id.to_string()).as_deref()
    );
    check_document(&document);
    for refund in refunds {
        let Ok(credit) = map_refund(order, refund) else {
            continue;
        };
        // An amount-only or goodwill part is split over the order's rates, so the lines
        // always add up to the amount refunded, to the last digit.
        assert_eq!(credit.lines_total(), credit.total);
        assert_eq!(
            credit.lines.iter().map(|l| l.tax).sum::<Money>(),
            credit.total_tax
        );
        assert!(credit
            .lines
            .iter()
            .all(|l| !l.quantity.is_sign_negative() || l.quantity.is_zero()));
        let refunded = credit.refund_of.as_ref().expect("a refund names its order");
        assert_eq!(refunded.source_ref, document.source_ref);
        check_document(&credit);
    }
});
