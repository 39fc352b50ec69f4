//! An order as the PrestaShop client gathers it (an `OrderBundle`, also the payload kept with
//! the document) → an order document, and its credit slips (`"slips": […]` beside the
//! bundle's fields) → credit notes; then the rules.
#![no_main]

use ledgerlink_core::{Document, DocumentKind, Money};
use ledgerlink_rules::{decide, BookingSettings};
use ledgerlink_sources::prestashop::{line_products, map_order, map_slip, OrderBundle};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Slips {
    #[serde(default)]
    slips: Vec<Value>,
}

/// What holds for every document a mapper gives: the ledger keeps it as JSON and reads it
/// back, and the rules decide on it.
fn check_document(document: &Document) {
    let kept = serde_json::to_value(document).expect("a document serialises");
    let read_back: Document = serde_json::from_value(kept)
        .unwrap_or_else(|e| panic!("the ledger could not read the document back: {e}"));
    assert_eq!(&read_back, document);
    for line in &document.lines {
        let _ = line.effective_rate();
    }
    let customer = &document.customer;
    assert!(customer.vat_number.is_none() || customer.invalid_vat_number.is_none());
    assert!(customer.email.is_none() || customer.invalid_email.is_none());
    let _ = decide(document, &BookingSettings::default());
}

fuzz_target!(|input: &[u8]| {
    let Ok(bundle) = serde_json::from_slice::<OrderBundle>(input) else {
        return;
    };
    let slips = serde_json::from_slice::<Slips>(input).map_or_else(|_| Vec::new(), |s| s.slips);
    let _ = line_products(&bundle);
    let Ok(document) = map_order(&bundle) else {
        return;
    };
    assert_eq!(document.source_ref.kind, DocumentKind::Order);
    // Rounding (at most a cent a line) is put on the largest line, so the lines add up to the
    // shop's totals; a larger difference is left for the rules to hold.
    let cents = Decimal::new(i64::try_from(document.lines.len()).unwrap_or(i64::MAX), 2);
    let gross_off = (document.total - document.lines_total()).abs().amount();
    let net_total: Money = document.lines.iter().map(|l| l.total).sum();
    let net_off = (document.total - document.total_tax - net_total)
        .abs()
        .amount();
    assert!(
        (gross_off.is_zero() && net_off.is_zero()) || gross_off > cents || net_off > cents,
        "the lines are {gross_off} (net {net_off}) off the totals: rounding left over"
    );
    check_document(&document);
    for slip in &slips {
        let Ok(credit) = map_slip(&bundle, slip) else {
            continue;
        };
        assert_eq!(credit.source_ref.kind, DocumentKind::Refund);
        assert_eq!(credit.lines_total(), credit.total);
        assert_eq!(
            credit.lines.iter().map(|l| l.tax).sum::<Money>(),
            credit.total_tax
        );
        let refunded = credit
            .refund_of
            .as_ref()
            .expect("a credit slip names its order");
        assert_eq!(refunded.source_ref, document.source_ref);
        assert!(credit.number.starts_with(&format!("{}-S", document.number)));
        check_document(&credit);
    }
});
