//! WooCommerce order and refund JSON → [`Document`].
//!
//! Line totals in the API are always excl. VAT (whatever `prices_include_tax` says) with the
//! VAT beside them; the rate comes from `tax_lines[].rate_percent` via each line's `taxes[]`.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use ledgerlink_core::document::{PaymentMethod, RefundOf};
use ledgerlink_core::{
    Address, Country, Currency, Customer, CustomerKind, Document, DocumentKind, Email, Line,
    LineKind, Money, SourceInvoice, SourceRef, VatNumber,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

/// Where VAT-number plugins keep the customer's number, most common first.
const VAT_NUMBER_META_KEYS: [&str; 6] = [
    "_billing_vat_number",
    "billing_vat_number",
    "_vat_number",
    "vat_number",
    "_billing_eu_vat_number",
    "yweu_billing_vat",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("WooCommerce {what} cannot be read: {reason}")]
pub struct MappingError {
    pub what: String,
    pub reason: String,
}

fn error(what: &str, reason: impl Into<String>) -> MappingError {
    MappingError {
        what: what.to_string(),
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
struct WooOrder {
    id: u64,
    #[serde(default)]
    number: String,
    status: String,
    currency: String,
    #[serde(default)]
    prices_include_tax: bool,
    date_created: Option<String>,
    date_created_gmt: Option<String>,
    date_modified_gmt: Option<String>,
    date_paid: Option<String>,
    date_paid_gmt: Option<String>,
    #[serde(default)]
    customer_id: u64,
    billing: WooAddress,
    shipping: Option<WooAddress>,
    #[serde(default)]
    payment_method: String,
    #[serde(default)]
    payment_method_title: String,
    #[serde(default)]
    line_items: Vec<WooLine>,
    #[serde(default)]
    tax_lines: Vec<WooTaxLine>,
    #[serde(default)]
    shipping_lines: Vec<WooLine>,
    #[serde(default)]
    fee_lines: Vec<WooLine>,
    #[serde(default)]
    coupon_lines: Vec<WooCoupon>,
    total: String,
    total_tax: String,
    #[serde(default)]
    meta_data: Vec<WooMeta>,
    #[serde(default)]
    customer_note: String,
    #[serde(default)]
    transaction_id: String,
}

#[derive(Deserialize, Default)]
struct WooAddress {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    address_1: String,
    #[serde(default)]
    address_2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    country: String,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Deserialize)]
struct WooLine {
    id: Option<u64>,
    #[serde(default, alias = "method_title")]
    name: String,
    #[serde(default)]
    sku: Option<String>,
    quantity: Option<Value>,
    #[serde(default)]
    tax_class: Option<String>,
    subtotal: Option<String>,
    subtotal_tax: Option<String>,
    total: String,
    total_tax: String,
    #[serde(default)]
    taxes: Vec<WooLineTax>,
    #[serde(default)]
    meta_data: Vec<WooMeta>,
}

#[derive(Deserialize)]
struct WooLineTax {
    id: u64,
    #[serde(default)]
    total: Value,
}

#[derive(Deserialize)]
struct WooTaxLine {
    rate_id: u64,
    rate_percent: Option<Value>,
}

#[derive(Deserialize)]
struct WooCoupon {
    code: String,
}

#[derive(Deserialize)]
struct WooMeta {
    key: String,
    value: Value,
}

#[derive(Deserialize)]
struct WooRefund {
    id: u64,
    date_created: Option<String>,
    date_created_gmt: Option<String>,
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    line_items: Vec<WooLine>,
    #[serde(default)]
    shipping_lines: Vec<WooLine>,
    #[serde(default)]
    fee_lines: Vec<WooLine>,
}

fn money(what: &str, text: &str) -> Result<Money, MappingError> {
    if text.trim().is_empty() {
        return Ok(Money::ZERO);
    }
    Money::from_str(text).map_err(|e| error(what, e.to_string()))
}

/// A decimal from a JSON string or number, without passing through a float.
fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .ok()
            .or_else(|| Decimal::from_scientific(&n.to_string()).ok()),
        _ => None,
    }
}

fn gmt(what: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, MappingError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .map(|naive| Some(naive.and_utc()))
        .map_err(|e| error(what, format!("date `{text}`: {e}")))
}

/// The day of a site-local timestamp (`date_paid`, `date_created`): the shop's own calendar.
fn local_day(text: Option<&str>) -> Option<chrono::NaiveDate> {
    // `get`, not `[..10]`: a shop's text may have a multi-byte character there.
    let day = text?.get(..10)?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

fn meta_string(meta: &[WooMeta], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| {
        meta.iter()
            .find(|m| m.key == *key)
            .and_then(|m| m.value.as_str())
            .and_then(non_empty)
    })
}

fn address(what: &str, a: &WooAddress) -> Result<Address, MappingError> {
    let country = Country::from_str(&a.country).map_err(|e| error(what, e.to_string()))?;
    Ok(Address {
        name: format!("{} {}", a.first_name.trim(), a.last_name.trim())
            .trim()
            .to_string(),
        company: non_empty(&a.company),
        line1: a.address_1.trim().to_string(),
        line2: non_empty(&a.address_2),
        postcode: a.postcode.trim().to_string(),
        city: a.city.trim().to_string(),
        region: non_empty(&a.state),
        country,
    })
}

struct Rates(HashMap<u64, Decimal>);

impl Rates {
    fn of(&self, line: &WooLine) -> Option<Decimal> {
        let charged: Vec<&WooLineTax> = line
            .taxes
            .iter()
            .filter(|t| decimal(&t.total).is_some_and(|d| !d.is_zero()))
            .collect();
        if charged.is_empty() {
            // No breakdown: 0% only if no tax was charged; otherwise the amounts must tell.
            let taxed = Money::from_str(&line.total_tax).is_ok_and(|t| !t.is_zero());
            return (!taxed).then_some(Decimal::ZERO);
        }
        // Checked: the rates are the shop's numbers, and a sum beyond a decimal is no rate.
        charged
            .iter()
            .try_fold(Decimal::ZERO, |sum, t| sum.checked_add(*self.0.get(&t.id)?))
    }
}

fn map_line(
    what: &str,
    kind: LineKind,
    line: &WooLine,
    rates: &Rates,
) -> Result<Line, MappingError> {
    let total = money(what, &line.total)?;
    let tax = money(what, &line.total_tax)?;
    Ok(Line {
        kind,
        source_line_id: line.id.map(|id| id.to_string()),
        sku: line.sku.as_deref().and_then(non_empty),
        description: if line.name.trim().is_empty() {
            kind_name(kind).to_string()
        } else {
            line.name.trim().to_string()
        },
        quantity: line
            .quantity
            .as_ref()
            .and_then(decimal)
            .unwrap_or(Decimal::ONE),
        subtotal: line
            .subtotal
            .as_deref()
            .map(|s| money(what, s))
            .transpose()?
            .unwrap_or(total),
        subtotal_tax: line
            .subtotal_tax
            .as_deref()
            .map(|s| money(what, s))
            .transpose()?
            .unwrap_or(tax),
        total,
        tax,
        tax_rate: rates.of(line),
        tax_class: line.tax_class.as_deref().map(|c| {
            if c.is_empty() {
                "standard".to_string()
            } else {
                c.to_string()
            }
        }),
        category: None,
        custom_fields: public_meta(&line.meta_data),
    })
}

fn kind_name(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Product => "Item",
        LineKind::Shipping => "Shipping",
        LineKind::Fee => "Fee",
        LineKind::Discount => "Discount",
        LineKind::GiftCard => "Gift card",
    }
}

fn is_gift_card(name: &str) -> bool {
    let name = name.to_lowercase();
    [
        "gift card",
        "giftcard",
        "gift voucher",
        "cadeaukaart",
        "cadeaubon",
        "gavekort",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// Meta data a person entered or a plugin shows (keys without a leading `_`), by key.
fn public_meta(meta: &[WooMeta]) -> BTreeMap<String, String> {
    meta.iter()
        .filter(|m| !m.key.starts_with('_'))
        .filter_map(|m| Some((m.key.clone(), m.value.as_str()?.to_string())))
        .collect()
}

/// The invoice number and date the widely used "PDF Invoices & Packing Slips" plugin keeps
/// on the order.
fn plugin_invoice(meta: &[WooMeta]) -> Option<SourceInvoice> {
    let number = meta_string(meta, &["_wcpdf_invoice_number"])?;
    // The formatted date is the shop's own day; the timestamp is UTC, a fallback.
    let date = meta_string(meta, &["_wcpdf_invoice_date_formatted"])
        .and_then(|text| local_day(Some(&text)))
        .or_else(|| {
            meta.iter()
                .find(|m| m.key == "_wcpdf_invoice_date")
                .and_then(|m| match &m.value {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                })
                .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
                .map(|at| at.date_naive())
        })?;
    Some(SourceInvoice { number, date })
}

fn parse_order(value: &Value) -> Result<WooOrder, MappingError> {
    WooOrder::deserialize(value).map_err(|e| error("order", e.to_string()))
}

/// Maps an order as returned by `GET /orders/{id}` (or a webhook body).
pub fn map_order(value: &Value) -> Result<Document, MappingError> {
    let order = parse_order(value)?;
    let what = format!("order {}", order.id);
    let what = what.as_str();
    let rates = Rates(
        order
            .tax_lines
            .iter()
            .filter_map(|t| Some((t.rate_id, t.rate_percent.as_ref().and_then(decimal)?)))
            .collect(),
    );
    let mut lines = Vec::new();
    for line in &order.line_items {
        lines.push(map_line(what, LineKind::Product, line, &rates)?);
    }
    for line in &order.shipping_lines {
        lines.push(map_line(what, LineKind::Shipping, line, &rates)?);
    }
    for line in &order.fee_lines {
        let mapped = map_line(what, LineKind::Fee, line, &rates)?;
        // A negative fee is how many shops give a discount, and how gift-card plugins take
        // a card's value off the order.
        let kind = if !mapped.total.is_negative() {
            LineKind::Fee
        } else if is_gift_card(&mapped.description) {
            LineKind::GiftCard
        } else {
            LineKind::Discount
        };
        lines.push(Line { kind, ..mapped });
    }
    let billing = address(what, &order.billing)?;
    let shipping = match &order.shipping {
        Some(s) if !s.country.trim().is_empty() && !s.address_1.trim().is_empty() => {
            Some(address(what, s)?)
        }
        _ => None,
    };
    let created_at = gmt(what, order.date_created_gmt.as_deref())?
        .ok_or_else(|| error(what, "it has no date_created_gmt"))?;
    let mut custom_fields = public_meta(&order.meta_data);
    if let Some(note) = non_empty(&order.customer_note) {
        custom_fields.insert("customer_note".into(), note);
    }
    if let Some(transaction) = non_empty(&order.transaction_id) {
        custom_fields.insert("transaction_id".into(), transaction);
    }
    Ok(Document {
        source_ref: SourceRef {
            kind: DocumentKind::Order,
            id: order.id.to_string(),
        },
        number: non_empty(&order.number).unwrap_or_else(|| order.id.to_string()),
        status: order.status.clone(),
        created_at,
        modified_at: gmt(what, order.date_modified_gmt.as_deref())?.unwrap_or(created_at),
        paid_at: gmt(what, order.date_paid_gmt.as_deref())?,
        date: local_day(order.date_paid.as_deref().or(order.date_created.as_deref()))
            .unwrap_or(created_at.date_naive()),
        currency: Currency::from_str(&order.currency).map_err(|e| error(what, e.to_string()))?,
        prices_include_tax: order.prices_include_tax,
        customer: customer(&order),
        billing,
        shipping,
        lines,
        payment_method: non_empty(&order.payment_method).map(|code| PaymentMethod {
            code,
            title: order.payment_method_title.clone(),
        }),
        coupons: order.coupon_lines.iter().map(|c| c.code.clone()).collect(),
        custom_fields,
        total: money(what, &order.total)?,
        total_tax: money(what, &order.total_tax)?,
        refund_of: None,
        invoice: plugin_invoice(&order.meta_data),
    })
}

fn customer(order: &WooOrder) -> Customer {
    let raw_email = order.billing.email.as_deref().and_then(non_empty);
    let email = raw_email.as_deref().and_then(|e| Email::from_str(e).ok());
    let raw_vat = meta_string(&order.meta_data, &VAT_NUMBER_META_KEYS);
    let vat_number = raw_vat.as_deref().and_then(|v| VatNumber::from_str(v).ok());
    let company = non_empty(&order.billing.company);
    let kind = if company.is_some() || vat_number.is_some() {
        CustomerKind::Business
    } else {
        CustomerKind::Private
    };
    Customer {
        source_id: (order.customer_id != 0).then(|| order.customer_id.to_string()),
        kind,
        name: format!(
            "{} {}",
            order.billing.first_name.trim(),
            order.billing.last_name.trim()
        )
        .trim()
        .to_string(),
        company,
        invalid_email: if email.is_none() { raw_email } else { None },
        email,
        phone: order.billing.phone.as_deref().and_then(non_empty),
        invalid_vat_number: if vat_number.is_none() { raw_vat } else { None },
        vat_number,
        // WooCommerce orders carry no customer group.
        group: None,
    }
}

/// Maps a refund of `order` (as from `GET /orders/{id}/refunds/{refund_id}`) to a credit-note
/// document with negative amounts. A refund without lines (amount only) is split over the
/// order's VAT rates in proportion to what the order charged at each rate.
pub fn map_refund(order_value: &Value, refund_value: &Value) -> Result<Document, MappingError> {
    let order = map_order(order_value)?;
    let refund =
        WooRefund::deserialize(refund_value).map_err(|e| error("refund", e.to_string()))?;
    let what = format!("refund {} of order {}", refund.id, order.number);
    let what = what.as_str();
    let raw_order = parse_order(order_value)?;
    let rates = Rates(
        raw_order
            .tax_lines
            .iter()
            .filter_map(|t| Some((t.rate_id, t.rate_percent.as_ref().and_then(decimal)?)))
            .collect(),
    );
    let amount = money(what, &refund.amount)?;
    let mut lines = Vec::new();
    for (kind, refund_lines) in [
        (LineKind::Product, &refund.line_items),
        (LineKind::Shipping, &refund.shipping_lines),
        (LineKind::Fee, &refund.fee_lines),
    ] {
        for line in refund_lines {
            let mut mapped = map_line(what, kind, line, &rates)?;
            mapped.quantity = mapped.quantity.abs();
            if let Some(original) = meta_string(&line.meta_data, &["_refunded_item_id"]) {
                mapped.source_line_id = Some(original);
            }
            lines.push(mapped);
        }
    }
    let lines_total: Money = lines.iter().map(|l| l.total + l.tax).sum();
    let remainder = -amount - lines_total;
    if !remainder.is_zero() {
        // Amount-only refund, or an amount beyond the refunded lines (e.g. a goodwill refund).
        lines.extend(split_over_rates(&order, remainder, &refund.reason));
    }
    let created_at = gmt(what, refund.date_created_gmt.as_deref())?.unwrap_or(order.modified_at);
    let total_tax = lines.iter().map(|l| l.tax).sum();
    Ok(Document {
        source_ref: SourceRef {
            kind: DocumentKind::Refund,
            id: refund.id.to_string(),
        },
        number: format!("{}-R{}", order.number, refund.id),
        status: "refunded".into(),
        created_at,
        modified_at: created_at,
        paid_at: Some(created_at),
        date: local_day(refund.date_created.as_deref()).unwrap_or(created_at.date_naive()),
        refund_of: Some(RefundOf {
            source_ref: order.source_ref.clone(),
            number: order.number.clone(),
            invoice_number: order.invoice.as_ref().map(|i| i.number.clone()),
            date: Some(order.date),
        }),
        invoice: None,
        lines,
        total: -amount,
        total_tax,
        coupons: vec![],
        ..order
    })
}

/// Splits a gross amount over the order's VAT rates in proportion to the gross charged at
/// each, the last part taking the rounding so that the parts add up exactly.
fn split_over_rates(order: &Document, gross: Money, reason: &str) -> Vec<Line> {
    let mut by_rate: BTreeMap<Decimal, Money> = BTreeMap::new();
    for line in &order.lines {
        let rate = line.effective_rate().unwrap_or(Decimal::ZERO).normalize();
        *by_rate.entry(rate).or_default() += line.total + line.tax;
    }
    by_rate.retain(|_, g| !g.is_zero());
    let order_gross: Money = by_rate.values().copied().sum();
    if by_rate.is_empty() || order_gross.is_zero() {
        by_rate = BTreeMap::from([(Decimal::ZERO, Money::new(Decimal::ONE))]);
    }
    let order_gross: Money = by_rate.values().copied().sum();
    let description = non_empty(reason)
        .map(|r| format!("Refund: {r}"))
        .unwrap_or_else(|| "Refund".into());
    let count = by_rate.len();
    let mut allocated = Money::ZERO;
    by_rate
        .into_iter()
        .enumerate()
        .map(|(i, (rate, part))| {
            // Checked: the rates and amounts are the shop's. A share beyond a decimal goes to
            // the last part, and a rate of -100 % or less (no net to divide by) leaves no VAT.
            let share = if i + 1 == count {
                gross - allocated
            } else {
                part.amount()
                    .checked_div(order_gross.amount())
                    .and_then(|ratio| gross.amount().checked_mul(ratio))
                    .map_or(Money::ZERO, |share| Money::new(share).round_cents())
            };
            allocated += share;
            let divisor = Decimal::ONE + rate / Decimal::ONE_HUNDRED;
            let net = match share.amount().checked_div(divisor) {
                Some(net) if divisor.is_sign_positive() => Money::new(net).round_cents(),
                _ => share,
            };
            Line {
                kind: LineKind::Product,
                source_line_id: None,
                sku: None,
                description: description.clone(),
                quantity: Decimal::ONE,
                subtotal: net,
                subtotal_tax: share - net,
                total: net,
                tax: share - net,
                tax_rate: Some(rate),
                tax_class: None,
                category: None,
                custom_fields: BTreeMap::new(),
            }
        })
        .collect()
}

/// The product each line item of an order sells, by line item id: a line's category is
/// its product's, which WooCommerce does not put on the order.
pub fn line_products(order: &Value) -> BTreeMap<String, u64> {
    order["line_items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|line| {
            Some((
                line["id"].as_u64()?.to_string(),
                line["product_id"].as_u64()?,
            ))
        })
        .filter(|(_, product)| *product != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// The reference's own example order (shared/specs/woocommerce/examples), copied into
    /// the project.
    #[test]
    fn lines_take_the_category_of_their_product() {
        let order = example();
        let products = line_products(&order);
        let first_line = order["line_items"][0]["id"].as_u64().unwrap().to_string();
        let first_product = order["line_items"][0]["product_id"].as_u64().unwrap();
        assert_eq!(products.get(&first_line), Some(&first_product));
        let mut document = map_order(&order).unwrap();
        let categories = HashMap::from([(first_product, "Coffee".to_string())]);
        document.set_line_categories(&products, &categories);
        let line = document
            .lines
            .iter()
            .find(|l| l.source_line_id.as_deref() == Some(first_line.as_str()))
            .unwrap();
        assert_eq!(line.category.as_deref(), Some("Coffee"));
        assert!(document
            .lines
            .iter()
            .filter(|l| l.source_line_id.as_deref() != Some(first_line.as_str()))
            .all(|l| l.category.is_none()));
    }

    fn example() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/woocommerce-order.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn maps_the_reference_example() {
        let document = map_order(&example()).unwrap();
        assert_eq!(document.source_ref.kind, DocumentKind::Order);
        assert_eq!(
            document.lines_total(),
            document.total,
            "the example's lines add up to its total"
        );
        assert!(document.lines.iter().any(|l| l.kind == LineKind::Shipping));
        // This older example has no `rate_percent`: the rate is implied by the amounts.
        assert_eq!(document.lines[0].effective_rate(), Some(dec!(7.5)));
        assert_eq!(document.lines[2].effective_rate(), Some(Decimal::ZERO));
    }

    #[test]
    fn amount_only_refund_is_split_over_rates_exactly() {
        let mut order = map_order(&example()).unwrap();
        order.lines = vec![
            Line {
                tax_rate: Some(dec!(21)),
                total: Money::new(dec!(100)),
                tax: Money::new(dec!(21)),
                ..order.lines[0].clone()
            },
            Line {
                tax_rate: Some(dec!(9)),
                total: Money::new(dec!(100)),
                tax: Money::new(dec!(9)),
                ..order.lines[0].clone()
            },
        ];
        let parts = split_over_rates(&order, Money::new(dec!(-10.01)), "broken");
        assert_eq!(parts.len(), 2);
        let sum: Money = parts.iter().map(|l| l.total + l.tax).sum();
        assert_eq!(sum, Money::new(dec!(-10.01)));
        assert_eq!(parts[0].description, "Refund: broken");
    }

    /// Found by fuzzing: each of these panicked instead of mapping or giving a reason.
    #[test]
    fn shop_numbers_beyond_reason_map_without_a_panic() {
        let mut value = example();
        value["date_paid"] = Value::String("2024-01-0é:00:00".into());
        let document = map_order(&value).unwrap();
        assert_eq!(document.date, document.created_at.date_naive());

        let mut value = example();
        let huge = "79228162514264337593543950335";
        value["tax_lines"] = serde_json::json!([
            {"rate_id": 75, "rate_percent": huge},
            {"rate_id": 76, "rate_percent": huge}
        ]);
        value["line_items"][0]["taxes"] =
            serde_json::json!([{"id": 75, "total": "0.45"}, {"id": 76, "total": "0.45"}]);
        assert_eq!(map_order(&value).unwrap().lines[0].tax_rate, None);

        let mut order = example();
        order["tax_lines"] = serde_json::json!([{"rate_id": 75, "rate_percent": "-100"}]);
        let refund = serde_json::json!({"id": 9, "amount": "5.00"});
        let credit = map_refund(&order, &refund).unwrap();
        assert_eq!(credit.lines_total(), credit.total);
    }

    #[test]
    fn bad_amount_is_a_clear_error() {
        let mut value = example();
        value["total"] = Value::String("12,50".into());
        let error = map_order(&value).unwrap_err();
        assert!(
            error.to_string().contains("`12,50` is not an amount"),
            "{error}"
        );
    }
}
