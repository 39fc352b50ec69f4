//! An [`OrderBundle`] and its credit slips → [`Document`].
//!
//! PrestaShop keeps every amount twice, tax included and tax excluded: each line's total
//! (`order_details.total_price_tax_incl/excl`), shipping, wrapping and discounts
//! (`orders.total_*_tax_incl/excl`), and the credit slips' amounts. A line's net is the
//! tax-excl. amount and its VAT the difference of the two, both to the cent as the shop
//! states them; nothing is re-taxed.
//!
//! The rate of a product line is its tax's (`associations/taxes` → `taxes.rate`; else a
//! non-zero `tax_rate`, where the shop still shows that old field; with several taxes on one
//! line it is left to be implied), of shipping `carrier_tax_rate`, and of discounts and gift
//! wrapping, which state none, the rate among the order's that explains their VAT.
//!
//! A rounding difference between the lines and the shop's totals (PrestaShop rounds each
//! total on its own) is put on the largest line, so that the lines add up to
//! `total_paid_tax_incl` to the cent.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ledgerlink_core::document::{PaymentMethod, RefundOf};
use ledgerlink_core::{
    Address, Country, Currency, Customer, CustomerKind, Document, DocumentKind, Email, Line,
    LineKind, Money, SourceInvoice, SourceRef, VatNumber,
};
use rust_decimal::Decimal;
use serde_json::Value;

use super::body;
use super::bundle::OrderBundle;
use super::client::associations;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("PrestaShop {what} cannot be read: {reason}")]
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

/// The fields of one webservice entity, read leniently (JSON numbers or strings, missing
/// fields empty) and parsed strictly.
struct Row<'a> {
    what: &'a str,
    value: &'a Value,
}

impl<'a> Row<'a> {
    fn new(what: &'a str, value: &'a Value) -> Self {
        Row { what, value }
    }

    fn text(&self, name: &str) -> String {
        self.value
            .get(name)
            .map(body::text)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn optional(&self, name: &str) -> Option<String> {
        non_empty(&self.text(name))
    }

    fn id(&self, name: &str) -> Result<u64, MappingError> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(0);
        }
        text.parse()
            .map_err(|_| error(self.what, format!("`{name}` is `{text}`, not an id")))
    }

    fn decimal(&self, name: &str) -> Result<Option<Decimal>, MappingError> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(None);
        }
        Decimal::from_str(&text)
            .map(|d| Some(d.normalize()))
            .map_err(|_| error(self.what, format!("`{name}` is `{text}`, not a number")))
    }

    /// An amount, to the cent (the webservice writes six decimals).
    fn money(&self, name: &str) -> Result<Money, MappingError> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(Money::ZERO);
        }
        Money::from_str(&text)
            .map(Money::round_cents)
            .map_err(|e| error(self.what, format!("`{name}`: {e}")))
    }

    fn pair(&self, excl: &str, incl: &str) -> Result<Pair, MappingError> {
        Ok(Pair {
            net: self.money(excl)?,
            gross: self.money(incl)?,
        })
    }
}

/// An amount as PrestaShop states it: excluding and including tax.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pair {
    net: Money,
    gross: Money,
}

impl Pair {
    fn vat(self) -> Money {
        self.gross - self.net
    }

    fn is_zero(self) -> bool {
        self.net.is_zero() && self.gross.is_zero()
    }

    fn negated(self) -> Pair {
        Pair {
            net: -self.net,
            gross: -self.gross,
        }
    }
}

fn non_empty(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// A date as the webservice writes it (`YYYY-MM-DD HH:MM:SS`, `0000-00-00 …` for none).
///
/// PrestaShop writes dates in the shop's time zone without an offset, and the webservice
/// does not say which zone that is (`PS_TIMEZONE` is a configuration value the key may not
/// read). They are taken as UTC: off by at most the zone's offset, which moves no booking —
/// the booking day is [`Document::date`], read as the shop's own calendar day — and keeps
/// `modified_at` in the order of the shop's `date_upd`.
fn instant(what: &str, text: &str) -> Result<Option<DateTime<Utc>>, MappingError> {
    if text.is_empty() || text.starts_with("0000-00-00") {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .map(|naive| Some(naive.and_utc()))
        .map_err(|e| error(what, format!("date `{text}`: {e}")))
}

/// The shop-local day of a webservice date.
fn local_day(text: &str) -> Option<NaiveDate> {
    let day = text.get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

fn line(kind: LineKind, description: String, quantity: Decimal, amount: Pair) -> Line {
    Line {
        kind,
        source_line_id: None,
        sku: None,
        description,
        quantity,
        subtotal: amount.net,
        subtotal_tax: amount.vat(),
        total: amount.net,
        tax: amount.vat(),
        tax_rate: None,
        tax_class: None,
        category: None,
        custom_fields: BTreeMap::new(),
    }
}

/// How far `net × rate` may be from the VAT for the rate to explain it: a cent, plus a
/// tenth of a percentage point of the net for VAT that was rounded per product.
fn tolerance(net: Money) -> Decimal {
    Decimal::new(1, 2) + net.amount().abs() / Decimal::from(1000)
}

/// The rate among `candidates` that best explains the VAT of `amount`, if one does; an
/// amount without VAT is at 0 %.
fn explaining_rate(amount: Pair, candidates: &BTreeSet<Decimal>) -> Option<Decimal> {
    if amount.vat().is_zero() {
        return Some(Decimal::ZERO);
    }
    candidates
        .iter()
        .filter_map(|rate| {
            // Checked: the rates are the shop's, and one beyond a decimal explains nothing.
            let expected = amount.net.amount().checked_mul(*rate)? / Decimal::ONE_HUNDRED;
            let expected = Money::new(expected).round_cents();
            Some(((expected - amount.vat()).amount().abs(), *rate))
        })
        .filter(|(miss, _)| *miss <= tolerance(amount.net))
        .min()
        .map(|(_, rate)| rate)
}

/// The net of `gross` at `rate`, to the cent. The rates are the shop's numbers: at -100 % or
/// less there is no net to divide by, and the amount is left without VAT.
fn net_of(gross: Money, rate: Decimal) -> Money {
    let divisor = Decimal::ONE + rate / Decimal::ONE_HUNDRED;
    match gross.amount().checked_div(divisor) {
        Some(net) if divisor.is_sign_positive() => Money::new(net).round_cents(),
        _ => gross,
    }
}

/// Splits `gross` over the rates in proportion to `weights` (gross per rate), the last part
/// taking the rounding so that the parts add up exactly; each part's net follows from its
/// rate. With `net`, the nets are then made to add up to it on the largest part, and `None`
/// comes back if that takes more than rounding (the split does not explain the amounts).
fn split_over_rates(
    gross: Money,
    net: Option<Money>,
    weights: &BTreeMap<Decimal, Money>,
) -> Option<Vec<(Decimal, Pair)>> {
    let whole: Money = weights.values().copied().sum();
    if weights.is_empty() || whole.is_zero() {
        return None;
    }
    let count = weights.len();
    let mut allocated = Money::ZERO;
    let mut parts: Vec<(Decimal, Pair)> = weights
        .iter()
        .enumerate()
        .map(|(i, (rate, weight))| {
            let share = if i + 1 == count {
                gross - allocated
            } else {
                gross.times(weight.amount() / whole.amount()).round_cents()
            };
            allocated += share;
            (
                *rate,
                Pair {
                    net: net_of(share, *rate),
                    gross: share,
                },
            )
        })
        .collect();
    if let Some(net) = net {
        let difference = net - parts.iter().map(|(_, p)| p.net).sum::<Money>();
        if difference.amount().abs() > tolerance(net) {
            return None;
        }
        let largest = parts
            .iter_mut()
            .max_by_key(|(_, p)| p.gross.abs())
            .expect("at least one part");
        largest.1.net += difference;
    }
    Some(parts)
}

/// The gross of `lines` per stated rate, for splitting an amount the way they were charged;
/// `None` if a line has no stated rate.
fn gross_by_rate(lines: &[Line]) -> Option<BTreeMap<Decimal, Money>> {
    let mut by_rate = BTreeMap::new();
    for line in lines {
        *by_rate.entry(line.tax_rate?).or_insert(Money::ZERO) += (line.total + line.tax).abs();
    }
    by_rate.retain(|_, gross: &mut Money| !gross.is_zero());
    Some(by_rate)
}

/// Puts the difference between what `lines` add up to and what the shop states (net and
/// gross) on the largest line, when it is rounding: at most a cent per line. A larger
/// difference is not rounding; it is left for the rules to hold the document with.
fn absorb_rounding(lines: &mut [Line], stated: Pair) {
    let net_difference = stated.net - lines.iter().map(|l| l.total).sum::<Money>();
    let gross_difference = stated.gross - lines.iter().map(|l| l.total + l.tax).sum::<Money>();
    let limit = Decimal::new(i64::try_from(lines.len()).unwrap_or(i64::MAX), 2);
    if (net_difference.is_zero() && gross_difference.is_zero())
        || net_difference.amount().abs() > limit
        || gross_difference.amount().abs() > limit
    {
        return;
    }
    if let Some(largest) = lines.iter_mut().max_by_key(|l| (l.total + l.tax).abs()) {
        largest.total += net_difference;
        largest.tax += gross_difference - net_difference;
        largest.subtotal = largest.total;
        largest.subtotal_tax = largest.tax;
    }
}

fn product_line(
    what: &str,
    detail: &Value,
    tax_rates: &BTreeMap<u64, Decimal>,
) -> Result<Line, MappingError> {
    let row = Row::new(what, detail);
    let amount = row.pair("total_price_tax_excl", "total_price_tax_incl")?;
    // The line's taxes (`order_detail_tax`, since 1.5) are authoritative; the old
    // `tax_rate` column, which some versions still show, is often left at 0.
    let stated_rate = match associations(detail, "taxes") {
        [tax] => {
            let id = Row::new(what, tax).id("id")?;
            let rate = tax_rates
                .get(&id)
                .ok_or_else(|| error(what, format!("the rate of tax {id} is unknown")))?;
            Some(rate.normalize())
        }
        [] => row.decimal("tax_rate")?.filter(|rate| !rate.is_zero()),
        _ => None,
    };
    let tax_rate = if amount.is_zero() {
        stated_rate.or(Some(Decimal::ZERO))
    } else if amount.vat().is_zero() {
        Some(Decimal::ZERO)
    } else {
        stated_rate
    };
    let group = row.id("id_tax_rules_group")?;
    // The product codes and weight of the row, for extra fields (Intrastat, serials).
    let custom_fields = [
        "product_reference",
        "product_supplier_reference",
        "product_ean13",
        "product_isbn",
        "product_upc",
        "product_mpn",
        "product_weight",
    ]
    .into_iter()
    .filter_map(|name| row.optional(name).map(|value| (name.to_string(), value)))
    .collect();
    Ok(Line {
        source_line_id: Some(row.id("id")?.to_string()),
        sku: row.optional("product_reference"),
        tax_rate,
        tax_class: (group != 0).then(|| group.to_string()),
        custom_fields,
        ..line(
            LineKind::Product,
            row.optional("product_name")
                .unwrap_or_else(|| "Item".into()),
            row.decimal("product_quantity")?.unwrap_or(Decimal::ONE),
            amount,
        )
    })
}

fn address(what: &str, value: &Value, country: &str) -> Result<Address, MappingError> {
    let row = Row::new(what, value);
    Ok(Address {
        name: format!("{} {}", row.text("firstname"), row.text("lastname"))
            .trim()
            .to_string(),
        company: row.optional("company"),
        line1: row.text("address1"),
        line2: row.optional("address2"),
        postcode: row.text("postcode"),
        city: row.text("city"),
        region: None,
        country: Country::from_str(country).map_err(|e| error(what, e.to_string()))?,
    })
}

fn customer(what: &str, bundle: &OrderBundle) -> Result<Customer, MappingError> {
    let order = Row::new(what, &bundle.order);
    let invoice = Row::new(what, &bundle.invoice_address);
    let delivery = Row::new(what, &bundle.delivery_address);
    let account = bundle.customer.as_ref().map(|c| Row::new(what, c));
    let raw_email = account.as_ref().and_then(|c| c.optional("email"));
    let email = raw_email.as_deref().and_then(|e| Email::from_str(e).ok());
    // The VAT number is on the address (PrestaShop's VAT number management). The invoice
    // address's counts; else the delivery address's, which is the one PrestaShop exempts on.
    let (raw_vat, vat_from_delivery) = match invoice.optional("vat_number") {
        Some(number) => (Some(number), false),
        None => (delivery.optional("vat_number"), true),
    };
    let vat_number = raw_vat.as_deref().and_then(|v| VatNumber::from_str(v).ok());
    let company = invoice
        .optional("company")
        .or_else(|| account.as_ref().and_then(|c| c.optional("company")))
        .or_else(|| {
            (vat_from_delivery && raw_vat.is_some())
                .then(|| delivery.optional("company"))
                .flatten()
        });
    let kind = if company.is_some() || vat_number.is_some() {
        CustomerKind::Business
    } else {
        CustomerKind::Private
    };
    let customer_id = order.id("id_customer")?;
    let guest = account.as_ref().is_some_and(|c| c.text("is_guest") == "1");
    Ok(Customer {
        source_id: (customer_id != 0 && !guest).then(|| customer_id.to_string()),
        kind,
        name: format!("{} {}", invoice.text("firstname"), invoice.text("lastname"))
            .trim()
            .to_string(),
        company,
        invalid_email: if email.is_none() { raw_email } else { None },
        email,
        phone: invoice
            .optional("phone")
            .or_else(|| invoice.optional("phone_mobile")),
        invalid_vat_number: if vat_number.is_none() { raw_vat } else { None },
        vat_number,
        // The customer's default group by id (PrestaShop's 1 visitor, 2 guest, 3 customer,
        // and the shop's own), for classification rules.
        group: account
            .as_ref()
            .and_then(|c| c.optional("id_default_group"))
            .filter(|g| g != "0"),
    })
}

/// When the order was first paid: the first state change into a state with the `paid` flag.
fn paid_at(what: &str, bundle: &OrderBundle) -> Result<Option<String>, MappingError> {
    for history in &bundle.histories {
        let row = Row::new(what, history);
        let paid = bundle
            .history_states
            .get(&row.id("id_order_state")?)
            .is_some_and(|s| s.paid);
        if paid {
            return Ok(row.optional("date_add"));
        }
    }
    Ok(None)
}

/// Maps an order bundle to an order document.
pub fn map_order(bundle: &OrderBundle) -> Result<Document, MappingError> {
    let order = Row::new("order", &bundle.order);
    let id = order.id("id")?;
    let what = format!("order {id}");
    let what = what.as_str();
    let order = Row::new(what, &bundle.order);

    let mut products = bundle
        .details
        .iter()
        .map(|detail| product_line(what, detail, &bundle.tax_rates))
        .collect::<Result<Vec<_>, _>>()?;
    let stated_products = order.pair("total_products", "total_products_wt")?;
    if products.is_empty() && !stated_products.is_zero() {
        return Err(error(what, "it has products but no order_details rows"));
    }
    absorb_rounding(&mut products, stated_products);

    let mut candidates: BTreeSet<Decimal> = products
        .iter()
        .filter_map(|l| l.tax_rate)
        .filter(|r| !r.is_zero())
        .collect();
    let mut lines = products;

    let shipping = order.pair("total_shipping_tax_excl", "total_shipping_tax_incl")?;
    if !shipping.is_zero() {
        let carrier_rate = order.decimal("carrier_tax_rate")?.filter(|r| !r.is_zero());
        let tax_rate = if shipping.vat().is_zero() {
            Some(Decimal::ZERO)
        } else {
            carrier_rate.or_else(|| explaining_rate(shipping, &candidates))
        };
        if let Some(rate) = tax_rate.filter(|r| !r.is_zero()) {
            candidates.insert(rate);
        }
        lines.push(Line {
            tax_rate,
            ..line(
                LineKind::Shipping,
                "Shipping".into(),
                Decimal::ONE,
                shipping,
            )
        });
    }

    let wrapping = order.pair("total_wrapping_tax_excl", "total_wrapping_tax_incl")?;
    if !wrapping.is_zero() {
        lines.push(Line {
            tax_rate: explaining_rate(wrapping, &candidates),
            ..line(
                LineKind::Fee,
                "Gift wrapping".into(),
                Decimal::ONE,
                wrapping,
            )
        });
    }

    let discounts = order.pair("total_discounts_tax_excl", "total_discounts_tax_incl")?;
    if !discounts.is_zero() {
        lines.extend(discount_lines(discounts, &lines, &candidates));
    }

    let stated_total = order.pair("total_paid_tax_excl", "total_paid_tax_incl")?;
    absorb_rounding(&mut lines, stated_total);

    let created_at =
        instant(what, &order.text("date_add"))?.ok_or_else(|| error(what, "it has no date_add"))?;
    let paid = paid_at(what, bundle)?;
    // The order id, not the 9-letter reference: the orders a cart is split into (several
    // carriers or warehouses) share one reference, and the booking reference must be unique.
    let number = id.to_string();
    let billing = address(
        &format!("invoice address of {what}"),
        &bundle.invoice_address,
        &bundle.invoice_country,
    )?;
    let separate_delivery = order.id("id_address_delivery")? != order.id("id_address_invoice")?;
    let shipping_address = if separate_delivery {
        Some(address(
            &format!("delivery address of {what}"),
            &bundle.delivery_address,
            &bundle.delivery_country,
        )?)
    } else {
        None
    };

    let mut custom_fields = BTreeMap::new();
    custom_fields.insert("order_id".to_string(), id.to_string());
    custom_fields.insert("state_id".to_string(), bundle.state.id.to_string());
    custom_fields.insert("state_flags".to_string(), bundle.state.flags().join(","));
    if !bundle.state.module_name.is_empty() {
        custom_fields.insert("state_module".to_string(), bundle.state.module_name.clone());
    }
    if let Some(reference) = order.optional("reference") {
        custom_fields.insert("reference".to_string(), reference);
    }
    // PrestaShop numbers its invoices itself, with the shop's prefix (e.g. `#IN`) outside the
    // webservice: the number alone is the invoice number.
    let invoice = match order.id("invoice_number")? {
        0 => None,
        number => Some(SourceInvoice {
            number: number.to_string(),
            date: local_day(&order.text("invoice_date")).unwrap_or(created_at.date_naive()),
        }),
    };
    if let Some(rate) = order
        .decimal("conversion_rate")?
        .filter(|r| *r != Decimal::ONE)
    {
        custom_fields.insert("conversion_rate".to_string(), rate.to_string());
    }
    for name in ["gift_message", "shipping_number"] {
        if let Some(value) = order.optional(name) {
            custom_fields.insert(name.to_string(), value);
        }
    }

    Ok(Document {
        source_ref: SourceRef {
            kind: DocumentKind::Order,
            id: id.to_string(),
        },
        number,
        status: bundle.state.slug(),
        created_at,
        modified_at: instant(what, &order.text("date_upd"))?.unwrap_or(created_at),
        paid_at: paid
            .as_deref()
            .map(|p| instant(what, p))
            .transpose()?
            .flatten(),
        date: paid
            .as_deref()
            .and_then(local_day)
            .or_else(|| local_day(&order.text("date_add")))
            .unwrap_or(created_at.date_naive()),
        currency: Currency::from_str(&bundle.currency).map_err(|e| error(what, e.to_string()))?,
        // Catalogue prices are entered tax excluded in PrestaShop.
        prices_include_tax: false,
        customer: customer(what, bundle)?,
        billing,
        shipping: shipping_address,
        lines,
        payment_method: order.optional("module").map(|code| PaymentMethod {
            code,
            title: order.text("payment"),
        }),
        coupons: Vec::new(),
        custom_fields,
        total: stated_total.gross,
        total_tax: stated_total.vat(),
        refund_of: None,
        invoice,
    })
}

/// The order's discounts (cart rules, `total_discounts_tax_incl/excl`) as negative lines.
/// One line at the rate that explains their VAT; else, as PrestaShop spreads an amount
/// voucher over the products, one line per product rate in proportion to the products'
/// gross; else one line whose rate the rules will have to imply.
fn discount_lines(discounts: Pair, lines: &[Line], candidates: &BTreeSet<Decimal>) -> Vec<Line> {
    let negative = discounts.negated();
    let discount = |description: String, amount: Pair, tax_rate: Option<Decimal>| Line {
        tax_rate,
        ..line(LineKind::Discount, description, Decimal::ONE, amount)
    };
    if let Some(rate) = explaining_rate(discounts, candidates) {
        return vec![discount("Discount".into(), negative, Some(rate))];
    }
    let products: Vec<Line> = lines
        .iter()
        .filter(|l| l.kind == LineKind::Product)
        .cloned()
        .collect();
    let split = gross_by_rate(&products)
        .filter(|weights| weights.len() > 1)
        .and_then(|weights| split_over_rates(negative.gross, Some(negative.net), &weights));
    match split {
        Some(parts) => parts
            .into_iter()
            .map(|(rate, amount)| discount(format!("Discount ({rate}% VAT)"), amount, Some(rate)))
            .collect(),
        None => vec![discount("Discount".into(), negative, None)],
    }
}

/// Maps a credit slip (`order_slip`) of the bundle's order to a credit note: negative
/// amounts, `refund_of` the order, numbered `<order id>-S<slip id>`.
///
/// The refunded products are the slip's `order_slip_details` (tax-excl./incl. each), made to
/// agree with `total_products_tax_excl/incl`; shipping is `total_shipping_tax_excl/incl`.
/// When `amount` is neither products total, the merchant refunded an amount of their choice
/// (or the products less a voucher): that amount, taken as tax included as the back office
/// enters it by default, is split over the refunded products' rates.
pub fn map_slip(bundle: &OrderBundle, slip_value: &Value) -> Result<Document, MappingError> {
    let order = map_order(bundle)?;
    let slip_id = Row::new("credit slip", slip_value).id("id")?;
    let what = format!("credit slip {slip_id} of order {}", order.number);
    let what = what.as_str();
    let slip = Row::new(what, slip_value);
    let slip_order = slip.id("id_order")?;
    if slip_order.to_string() != order.source_ref.id {
        return Err(error(
            what,
            format!("it belongs to order {slip_order}, not this one"),
        ));
    }

    let mut products = Vec::new();
    for detail in associations(slip_value, "order_slip_details") {
        let row = Row::new(what, detail);
        let amount = row.pair("amount_tax_excl", "amount_tax_incl")?;
        let detail_id = row.id("id_order_detail")?.to_string();
        let original = order
            .lines
            .iter()
            .find(|l| l.kind == LineKind::Product && l.source_line_id.as_ref() == Some(&detail_id));
        let tax_rate = if amount.vat().is_zero() && !amount.is_zero() {
            Some(Decimal::ZERO)
        } else {
            original.and_then(|l| l.tax_rate)
        };
        products.push(Line {
            source_line_id: Some(detail_id),
            sku: original.and_then(|l| l.sku.clone()),
            tax_rate,
            tax_class: original.and_then(|l| l.tax_class.clone()),
            ..line(
                LineKind::Product,
                original
                    .map(|l| l.description.clone())
                    .unwrap_or_else(|| "Refund".into()),
                row.decimal("product_quantity")?.unwrap_or(Decimal::ONE),
                amount.negated(),
            )
        });
    }
    let stated_products = slip.pair("total_products_tax_excl", "total_products_tax_incl")?;
    absorb_rounding(&mut products, stated_products.negated());

    let amount = slip.money("amount")?;
    let chosen =
        !amount.is_zero() && amount != stated_products.gross && amount != stated_products.net;
    if chosen {
        let weights = gross_by_rate(&products)
            .filter(|w| !w.is_empty())
            .or_else(|| {
                let ordered: Vec<Line> = order
                    .lines
                    .iter()
                    .filter(|l| l.kind == LineKind::Product)
                    .cloned()
                    .collect();
                gross_by_rate(&ordered)
            })
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| BTreeMap::from([(Decimal::ZERO, Money::new(Decimal::ONE))]));
        let parts = split_over_rates(-amount, None, &weights)
            .ok_or_else(|| error(what, "its amount cannot be split over the order's rates"))?;
        products = parts
            .into_iter()
            .map(|(rate, part)| Line {
                tax_rate: Some(rate),
                ..line(LineKind::Product, "Refund".into(), Decimal::ONE, part)
            })
            .collect();
    }

    let mut lines = products;
    let order_shipping_rate = order
        .lines
        .iter()
        .find(|l| l.kind == LineKind::Shipping)
        .and_then(|l| l.tax_rate);
    let mut shipping = slip.pair("total_shipping_tax_excl", "total_shipping_tax_incl")?;
    if shipping.is_zero() {
        // Slips from the older partial refund keep only `shipping_cost_amount` (tax incl.).
        let gross = slip.money("shipping_cost_amount")?;
        let rate = order_shipping_rate.unwrap_or(Decimal::ZERO);
        shipping = Pair {
            net: net_of(gross, rate),
            gross,
        };
    }
    if !shipping.is_zero() {
        let tax_rate = if shipping.vat().is_zero() {
            Some(Decimal::ZERO)
        } else {
            order_shipping_rate
        };
        lines.push(Line {
            tax_rate,
            ..line(
                LineKind::Shipping,
                "Shipping".into(),
                Decimal::ONE,
                shipping.negated(),
            )
        });
    }

    let created_at = instant(what, &slip.text("date_add"))?.unwrap_or(order.modified_at);
    let total = lines.iter().map(|l| l.total + l.tax).sum();
    let total_tax = lines.iter().map(|l| l.tax).sum();
    Ok(Document {
        source_ref: SourceRef {
            kind: DocumentKind::Refund,
            id: slip_id.to_string(),
        },
        number: format!("{}-S{slip_id}", order.number),
        status: "refunded".into(),
        created_at,
        modified_at: instant(what, &slip.text("date_upd"))?.unwrap_or(created_at),
        paid_at: Some(created_at),
        date: local_day(&slip.text("date_add")).unwrap_or(created_at.date_naive()),
        refund_of: Some(RefundOf {
            source_ref: order.source_ref.clone(),
            number: order.number.clone(),
            invoice_number: order.invoice.as_ref().map(|i| i.number.clone()),
            date: Some(order.date),
        }),
        invoice: None,
        lines,
        total,
        total_tax,
        coupons: Vec::new(),
        ..order
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn pair_of(line: &Line) -> Pair {
        Pair {
            net: line.total,
            gross: line.total + line.tax,
        }
    }

    fn cents(c: i64) -> Money {
        Money::new(Decimal::new(c, 2))
    }

    fn pair(net: i64, gross: i64) -> Pair {
        Pair {
            net: cents(net),
            gross: cents(gross),
        }
    }

    #[test]
    fn the_rate_that_explains_the_vat() {
        let rates = BTreeSet::from([dec!(9), dec!(21)]);
        // A 5.00 voucher at 21 %: 4.13 + 0.87.
        assert_eq!(explaining_rate(pair(413, 500), &rates), Some(dec!(21)));
        assert_eq!(explaining_rate(pair(459, 500), &rates), Some(dec!(9)));
        assert_eq!(explaining_rate(pair(500, 500), &rates), Some(Decimal::ZERO));
        // A blend of both rates is explained by neither.
        assert_eq!(explaining_rate(pair(435, 500), &rates), None);
    }

    #[test]
    fn a_split_adds_up_exactly() {
        let weights = BTreeMap::from([(dec!(9), cents(6488)), (dec!(21), cents(1809))]);
        // 3.91 at 9 % (3.59 net) and 1.09 at 21 % (0.90 net); stated a cent off.
        let parts = split_over_rates(cents(-500), Some(cents(-450)), &weights).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts.iter().map(|(_, p)| p.gross).sum::<Money>(),
            cents(-500)
        );
        assert_eq!(parts.iter().map(|(_, p)| p.net).sum::<Money>(), cents(-450));
        assert_eq!(parts[0].1, pair(-360, -391), "the cent on the largest part");
        // Nets that no split at these rates explains.
        assert_eq!(
            split_over_rates(cents(-500), Some(cents(-300)), &weights),
            None
        );
    }

    #[test]
    fn rounding_goes_to_the_largest_line_and_nothing_more() {
        let product = |net, gross| {
            line(
                LineKind::Product,
                "x".into(),
                Decimal::ONE,
                pair(net, gross),
            )
        };
        let mut lines = vec![product(1000, 1210), product(333, 403)];
        absorb_rounding(&mut lines, pair(1334, 1614));
        assert_eq!(pair_of(&lines[0]), pair(1001, 1211));
        assert_eq!(pair_of(&lines[1]), pair(333, 403));
        let mut far = vec![product(1000, 1210)];
        absorb_rounding(&mut far, pair(1100, 1331));
        assert_eq!(
            pair_of(&far[0]),
            pair(1000, 1210),
            "not rounding: left alone"
        );
    }

    #[test]
    fn dates_without_a_value() {
        assert_eq!(instant("x", "0000-00-00 00:00:00").unwrap(), None);
        assert_eq!(
            instant("x", "2024-03-01 00:30:00")
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2024-03-01T00:30:00+00:00"
        );
        assert!(instant("x", "01/03/2024").is_err());
        assert_eq!(
            local_day("2024-03-01 00:30:00"),
            NaiveDate::from_ymd_opt(2024, 3, 1)
        );
    }
}
