//! A sales document as read from a source, in one shape for every source.
//!
//! Amounts are what the customer was charged, exactly as the source states them: net (excl.
//! VAT) per line plus the VAT charged on it. Rules decide treatment and codes; they never
//! re-tax these amounts.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Country, Currency, Email, Money, VatNumber};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Order,
    Invoice,
    Refund,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Order => "order",
            DocumentKind::Invoice => "invoice",
            DocumentKind::Refund => "refund",
        }
    }
}

/// Identifies a document in its source: the source's own id plus its kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    pub kind: DocumentKind,
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub source_ref: SourceRef,
    /// The number a person knows it by (order number, invoice number).
    pub number: String,
    /// Status slug as the source names it, custom statuses included (e.g. `in-production`).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    /// When the customer paid, if the source says so.
    pub paid_at: Option<DateTime<Utc>>,
    /// The day of the sale in the shop's own time zone (the day it was paid, else created):
    /// the booking date, so that a sale at 00:30 on 1 January falls in the new year.
    pub date: NaiveDate,
    pub currency: Currency,
    /// How the shop entered its prices; amounts below are always split into net and VAT.
    pub prices_include_tax: bool,
    pub customer: Customer,
    pub billing: Address,
    /// Delivery address when it differs from billing; VAT follows the goods.
    pub shipping: Option<Address>,
    pub lines: Vec<Line>,
    pub payment_method: Option<PaymentMethod>,
    /// Coupon codes applied, for the booking's description and for discount rules.
    pub coupons: Vec<String>,
    /// Non-standard fields from the source (meta data, notes), by name.
    pub custom_fields: BTreeMap<String, String>,
    /// Total charged, incl. VAT, as the source states it.
    pub total: Money,
    /// VAT charged, as the source states it.
    pub total_tax: Money,
    /// For a refund: the document it refunds.
    pub refund_of: Option<RefundOf>,
    /// The shop's own invoice for this order, once it made one (PrestaShop does; WooCommerce
    /// through an invoicing plugin).
    #[serde(default)]
    pub invoice: Option<SourceInvoice>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInvoice {
    pub number: String,
    pub date: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundOf {
    pub source_ref: SourceRef,
    pub number: String,
    /// The refunded order's invoice number, when the shop made one.
    #[serde(default)]
    pub invoice_number: Option<String>,
    /// The refunded sale's booking day: its VAT rates are the credit note's.
    #[serde(default)]
    pub date: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub code: String,
    pub title: String,
}

impl Document {
    /// Sets each line's category from its product's. Shops keep categories on the product,
    /// not the order: `line_products` says which product each line (by `source_line_id`)
    /// sells, `categories` each product's category. A refund's lines name the order's
    /// lines they refund, so the order's `line_products` serve both.
    pub fn set_line_categories(
        &mut self,
        line_products: &BTreeMap<String, u64>,
        categories: &std::collections::HashMap<u64, String>,
    ) {
        for line in &mut self.lines {
            let product = line
                .source_line_id
                .as_ref()
                .and_then(|id| line_products.get(id));
            if let Some(category) = product.and_then(|p| categories.get(p)) {
                line.category = Some(category.clone());
            }
        }
    }

    /// Where the goods go: the delivery address when given, else billing.
    pub fn destination(&self) -> &Address {
        self.shipping.as_ref().unwrap_or(&self.billing)
    }

    /// Sum of the lines' net amounts and VAT: what the lines say the customer owes.
    pub fn lines_total(&self) -> Money {
        self.lines.iter().map(|l| l.total + l.tax).sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A private person (B2C).
    Private,
    /// A company (B2B).
    Business,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The source's customer id; `None` for guest checkouts.
    pub source_id: Option<String>,
    pub kind: CustomerKind,
    pub name: String,
    pub company: Option<String>,
    pub email: Option<Email>,
    /// An e-mail the source gave that is not a valid address, kept for the reason text.
    pub invalid_email: Option<String>,
    pub phone: Option<String>,
    pub vat_number: Option<VatNumber>,
    /// A VAT number the source gave that is not well-formed, kept for the reason text.
    pub invalid_vat_number: Option<String>,
    /// The shop's customer group (e.g. `wholesale`), for classification rules.
    #[serde(default)]
    pub group: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub company: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub region: Option<String>,
    pub country: Country,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Product,
    Shipping,
    Fee,
    /// A discount not already folded into product lines (e.g. a negative fee).
    Discount,
    /// A gift card redeemed on the order: paid with earlier money, not a discount.
    GiftCard,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub kind: LineKind,
    /// The source's line id, for refunds that point back at it.
    pub source_line_id: Option<String>,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    /// Net amount before coupon discounts (equals `total` when none applied).
    pub subtotal: Money,
    /// VAT on `subtotal`.
    pub subtotal_tax: Money,
    /// Net amount charged, after coupon discounts.
    pub total: Money,
    /// VAT charged on `total`.
    pub tax: Money,
    /// The VAT rate the shop applied, in percent, when it states one.
    pub tax_rate: Option<Decimal>,
    /// The shop's tax class ("standard", "reduced-rate", "zero-rate", …).
    pub tax_class: Option<String>,
    pub category: Option<String>,
    /// Non-standard fields of the line (meta data), by name: serial numbers, commodity codes.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
}

impl Line {
    /// The rate implied by the amounts when the source states none (net 0, or a rate beyond
    /// what a decimal holds → none).
    pub fn effective_rate(&self) -> Option<Decimal> {
        self.tax_rate.or_else(|| {
            let rate = self.tax.amount().checked_div(self.total.amount())?;
            Some(rate.checked_mul(Decimal::ONE_HUNDRED)?.round_dp(2))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(total: &str, tax: &str) -> Line {
        Line {
            kind: LineKind::Product,
            source_line_id: None,
            sku: None,
            description: "Item".into(),
            quantity: Decimal::ONE,
            subtotal: total.parse().unwrap(),
            subtotal_tax: tax.parse().unwrap(),
            total: total.parse().unwrap(),
            tax: tax.parse().unwrap(),
            tax_rate: None,
            tax_class: None,
            category: None,
            custom_fields: BTreeMap::new(),
        }
    }

    #[test]
    fn the_implied_rate_is_none_where_the_amounts_imply_none() {
        assert_eq!(
            line("10.00", "2.10").effective_rate(),
            Some(Decimal::new(21, 0))
        );
        assert_eq!(line("0", "2.10").effective_rate(), None);
        // Found by fuzzing: a tax a decimal cannot divide by such a net overflowed.
        let tiny_net = line("0.0000000000000000000000000001", "999999999999");
        assert_eq!(tiny_net.effective_rate(), None);
    }
}
