//! Documents for the rules' tests.

use chrono::{TimeZone, Utc};
use ledgerlink_core::{
    Address, Customer, CustomerKind, Document, DocumentKind, Line, LineKind, Money, SourceRef,
};
use rust_decimal::Decimal;

use crate::BookingSettings;

pub fn settings() -> BookingSettings {
    BookingSettings::default()
}

fn money(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2))
}

pub fn line(kind: LineKind, description: &str, net_cents: i64, rate: u32) -> Line {
    let net = money(net_cents);
    let tax = net.percent(Decimal::from(rate)).round_cents();
    Line {
        kind,
        source_line_id: None,
        sku: None,
        description: description.into(),
        quantity: Decimal::ONE,
        subtotal: net,
        subtotal_tax: tax,
        total: net,
        tax,
        tax_rate: Some(Decimal::from(rate)),
        tax_class: None,
        category: None,
        custom_fields: Default::default(),
    }
}

fn address(country: &str) -> Address {
    Address {
        name: "Jan de Vries".into(),
        company: None,
        line1: "Kerkstraat 1".into(),
        line2: None,
        postcode: "1011 AA".into(),
        city: "Amsterdam".into(),
        region: None,
        country: country.parse().unwrap(),
    }
}

/// NL B2C: 20.00 @21% + 10.00 @9% + 5.00 shipping @21% = 41.15 incl. VAT.
pub fn domestic_order() -> Document {
    let lines = vec![
        line(LineKind::Product, "T-shirt", 2000, 21),
        line(LineKind::Product, "Boek", 1000, 9),
        line(LineKind::Shipping, "Verzending", 500, 21),
    ];
    order_from(lines, 0)
}

/// BE B2B with a VAT number, 0% (reverse charge).
pub fn eu_b2b_order() -> Document {
    let mut order = order_from(vec![line(LineKind::Product, "Vat bier", 10000, 0)], 0);
    order.billing = address("BE");
    order.customer.kind = CustomerKind::Business;
    order.customer.company = Some("Brouwerij De Klok BV".into());
    order.customer.vat_number = Some("BE0477472701".parse().unwrap());
    order
}

/// An order of the given (net cents, rate) lines and shipping, whose stated total is off by
/// `drift` cents from what its lines add up to.
pub fn order_with_lines(lines: &[(i64, u32)], shipping_cents: i64, drift: i64) -> Document {
    let mut all: Vec<Line> = lines
        .iter()
        .enumerate()
        .map(|(i, (net, rate))| line(LineKind::Product, &format!("Item {i}"), *net, *rate))
        .collect();
    all.push(line(LineKind::Shipping, "Shipping", shipping_cents, 21));
    order_from(all, drift)
}

fn order_from(lines: Vec<Line>, drift_cents: i64) -> Document {
    let total_tax: Money = lines.iter().map(|l| l.tax).sum();
    let total = lines.iter().map(|l| l.total + l.tax).sum::<Money>() + money(drift_cents);
    let created = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
    Document {
        source_ref: SourceRef {
            kind: DocumentKind::Order,
            id: "1001".into(),
        },
        number: "1001".into(),
        status: "processing".into(),
        created_at: created,
        modified_at: created,
        paid_at: None,
        date: created.date_naive(),
        currency: "EUR".parse().unwrap(),
        prices_include_tax: true,
        customer: Customer {
            source_id: Some("42".into()),
            kind: CustomerKind::Private,
            name: "Jan de Vries".into(),
            company: None,
            email: Some("jan@example.nl".parse().unwrap()),
            invalid_email: None,
            phone: None,
            vat_number: None,
            invalid_vat_number: None,
            group: None,
        },
        billing: address("NL"),
        shipping: None,
        lines,
        payment_method: None,
        coupons: vec![],
        custom_fields: Default::default(),
        total,
        total_tax,
        refund_of: None,
        invoice: None,
    }
}
