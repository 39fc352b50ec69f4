//! What a test (or `POST /__sandbox/orders`) says about an order; the emulator turns it into
//! the order WooCommerce would have stored after checkout, with all totals computed.
//!
//! Every field has a default, so JSON may leave out whatever does not matter. Amounts are
//! `rust_decimal::Decimal`; in JSON write them as strings ("12.50") — plain numbers are accepted
//! too but pass through a float.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderSpec {
    /// Status slug without `wc-`: core (`pending`, `processing`, `on-hold`, `completed`,
    /// `cancelled`, `refunded`, `failed`) or any custom slug (`in-production`), which the shop
    /// then registers. Default `processing` (a paid checkout).
    pub status: String,
    /// ISO currency code. Default `EUR`.
    pub currency: String,
    /// How the shop entered its prices. When true, each `unit_price` (excl. tax) is first turned
    /// into the gross shelf price the shop would have entered (`round(unit × (1 + rate), 2)`) and
    /// WooCommerce's inclusive calculation runs on that, so line total + line tax equals the
    /// gross price exactly and the net amount is derived from it.
    pub prices_include_tax: bool,
    /// Creation time; `None` uses the emulator clock.
    pub date_created: Option<DateTime<Utc>>,
    pub customer: CustomerSpec,
    pub billing: AddressSpec,
    /// `None`: ship to the billing address. Taxes follow the shipping country (WooCommerce's
    /// default "calculate tax based on customer shipping address").
    pub shipping: Option<AddressSpec>,
    /// Stored as order meta `_billing_vat_number` (plus `_vat_number_is_validated` /
    /// `_vat_number_is_valid` = "true"), the keys the official "EU VAT Number" extension writes;
    /// it is the most widely used convention and other plugins read it too.
    pub vat_number: Option<String>,
    pub lines: Vec<LineSpec>,
    pub shipping_line: Option<ShippingSpec>,
    pub fees: Vec<FeeSpec>,
    pub coupons: Vec<CouponSpec>,
    pub payment_method: String,
    pub payment_method_title: String,
    pub transaction_id: String,
    pub customer_note: String,
    /// Extra order meta (key, value), e.g. what other plugins store.
    pub meta: Vec<(String, String)>,
}

impl Default for OrderSpec {
    fn default() -> Self {
        OrderSpec {
            status: "processing".to_string(),
            currency: "EUR".to_string(),
            prices_include_tax: false,
            date_created: None,
            customer: CustomerSpec::default(),
            billing: AddressSpec::default(),
            shipping: None,
            vat_number: None,
            lines: Vec::new(),
            shipping_line: None,
            fees: Vec::new(),
            coupons: Vec::new(),
            payment_method: "bacs".to_string(),
            payment_method_title: "Direct bank transfer".to_string(),
            transaction_id: String::new(),
            customer_note: String::new(),
            meta: Vec::new(),
        }
    }
}

/// The person ordering. `customer_id` 0 is a guest checkout; another id refers to a registered
/// customer, who is created (from this data) if the shop does not know the id yet.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerSpec {
    pub customer_id: u64,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub email: String,
    pub phone: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressSpec {
    pub address_1: String,
    pub address_2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    /// ISO 3166-1 alpha-2. Default `NL`.
    pub country: String,
}

impl Default for AddressSpec {
    fn default() -> Self {
        AddressSpec {
            address_1: String::new(),
            address_2: String::new(),
            city: String::new(),
            state: String::new(),
            postcode: String::new(),
            country: "NL".to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LineSpec {
    pub product_id: u64,
    pub variation_id: u64,
    pub name: String,
    pub sku: String,
    pub quantity: u32,
    /// Unit price excluding tax; any number of decimals (WooCommerce allows e.g. 3.333).
    pub unit_price: Decimal,
    /// Tax rate in percent. It selects the shop's tax rate for the tax country and class (a rate
    /// the shop does not have yet is added to its tax table); 0 without a configured 0 % rate
    /// means no tax applies (VAT-exempt B2B, exports): the line gets no `taxes[]` entry.
    pub tax_rate: Decimal,
    /// Tax class slug: "" (standard), "reduced-rate" or "zero-rate".
    pub tax_class: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingSpec {
    pub method_title: String,
    /// Default `flat_rate`.
    pub method_id: String,
    /// Excluding tax (WooCommerce shipping costs are always entered excluding tax).
    pub total: Decimal,
    pub tax_rate: Decimal,
}

impl Default for ShippingSpec {
    fn default() -> Self {
        ShippingSpec {
            method_title: "Flat rate".to_string(),
            method_id: "flat_rate".to_string(),
            total: Decimal::ZERO,
            tax_rate: Decimal::ZERO,
        }
    }
}

/// A fee line (payment surcharge, or a negative fee used as a discount).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeeSpec {
    pub name: String,
    /// Excluding tax; may be negative.
    pub total: Decimal,
    /// Percent; 0 makes the fee `tax_status: "none"`.
    pub tax_rate: Decimal,
    pub tax_class: String,
}

/// A fixed-cart coupon. `amount` is spread over the lines in proportion to their subtotals
/// (whole cents, the remainder one cent at a time from the first line on), as WooCommerce does.
/// It is in the shop's entry basis: excluding tax, or including tax when `prices_include_tax`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CouponSpec {
    pub code: String,
    pub amount: Decimal,
}

/// A refund as the shop admin makes it ("Refund manually": `refunded_payment` stays false).
///
/// Line refunds take the line's unit total and unit tax (per rate, from the rounded line tax)
/// times the quantity, rounded to cents, like the admin screen. `refund_shipping` adds every
/// shipping line with its tax. `amount`, when given, is the refund amount and takes precedence
/// over the sum of the lines (as the API documents); with no lines it is an amount-only refund.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundSpec {
    pub amount: Option<Decimal>,
    /// (order line item id, quantity)
    pub lines: Vec<(u64, u32)>,
    pub reason: String,
    pub refund_shipping: bool,
}
