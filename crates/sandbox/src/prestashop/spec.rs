//! What a test (or `POST /__sandbox/...`) says about an order, an order state or a credit
//! slip; the emulator turns it into what PrestaShop would have stored, with every amount
//! computed the way PrestaShop computes it.
//!
//! Every field has a default, so JSON may leave out whatever does not matter. Amounts are
//! `rust_decimal::Decimal`; in JSON write them as strings ("12.50").

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An order as `PaymentModule::validateOrder()` would store it after checkout.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderSpec {
    /// The state the order is validated with (`order_states` id). Default 2, "Payment
    /// accepted". Its flags apply at once: `paid` records a payment, `invoice` numbers an
    /// invoice, `delivery` a delivery slip, `logable` makes the order `valid`.
    pub state_id: u64,
    /// ISO code of one of the shop's currencies (EUR, USD). Default `EUR`. Prices in the lines,
    /// carrier, wrapping and discounts are in this currency.
    pub currency: String,
    /// Shop-local creation time; `None` uses the emulator clock.
    pub date_add: Option<NaiveDateTime>,
    /// The 9-letter order reference; empty: one derived from the order id.
    pub reference: String,
    pub customer: CustomerSpec,
    /// The delivery address; taxes follow it (PrestaShop's default `PS_TAX_ADDRESS_TYPE`).
    pub delivery: AddressSpec,
    /// `None`: the invoice goes to the delivery address (same `id_address_invoice`).
    pub invoice: Option<AddressSpec>,
    pub lines: Vec<LineSpec>,
    /// `None`: no carrier (a virtual cart: `id_carrier` 0, no shipping).
    pub carrier: Option<CarrierSpec>,
    /// Cart rules (vouchers) used on the order.
    pub discounts: Vec<DiscountSpec>,
    /// Gift wrapping price excluding tax; non-zero makes the order a gift.
    pub wrapping_tax_excl: Decimal,
    /// Tax rate (percent) on the wrapping; `None`: the shop's standard rate for the delivery
    /// country (or none, as for the lines).
    pub wrapping_tax_rate: Option<Decimal>,
    pub gift_message: String,
    /// Payment method as shown (`payment`), e.g. "Bank transfer".
    pub payment: String,
    /// The payment module (`module`), e.g. `ps_wirepayment`.
    pub module: String,
    /// Stored on the order payment when the order gets paid.
    pub transaction_id: String,
    pub note: String,
    /// The carrier's tracking number (`shipping_number`, `order_carriers.tracking_number`).
    pub shipping_number: String,
}

impl Default for OrderSpec {
    fn default() -> Self {
        OrderSpec {
            state_id: 2,
            currency: "EUR".to_string(),
            date_add: None,
            reference: String::new(),
            customer: CustomerSpec::default(),
            delivery: AddressSpec::default(),
            invoice: None,
            lines: Vec::new(),
            carrier: None,
            discounts: Vec::new(),
            wrapping_tax_excl: Decimal::ZERO,
            wrapping_tax_rate: None,
            gift_message: String::new(),
            payment: "Bank transfer".to_string(),
            module: "ps_wirepayment".to_string(),
            transaction_id: String::new(),
            note: String::new(),
            shipping_number: String::new(),
        }
    }
}

/// The person ordering. `customer_id` 0 creates a new customer; another id refers to a
/// customer of the shop, who is created from this data if the shop does not know the id yet.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerSpec {
    pub customer_id: u64,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub company: String,
    /// A guest checkout (customer group 2 "Guest" instead of 3 "Customer").
    pub is_guest: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressSpec {
    /// Default "My address".
    pub alias: String,
    /// Empty: the customer's name.
    pub firstname: String,
    pub lastname: String,
    pub company: String,
    /// The intra-community VAT number. On the delivery address of another country than the
    /// shop's (NL) it makes the order VAT-exempt, as PrestaShop's VAT number management does.
    pub vat_number: String,
    pub address1: String,
    pub address2: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2. Default `NL`. A country the shop lacks is added to it.
    pub country: String,
    pub phone: String,
    pub phone_mobile: String,
}

impl Default for AddressSpec {
    fn default() -> Self {
        AddressSpec {
            alias: "My address".to_string(),
            firstname: String::new(),
            lastname: String::new(),
            company: String::new(),
            vat_number: String::new(),
            address1: String::new(),
            address2: String::new(),
            postcode: String::new(),
            city: String::new(),
            country: "NL".to_string(),
            phone: String::new(),
            phone_mobile: String::new(),
        }
    }
}

/// One order line (`order_details` row). For a catalogue product, an empty name or reference,
/// a zero price and a zero tax rules group are taken from the catalogue.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LineSpec {
    pub product_id: u64,
    pub product_attribute_id: u64,
    pub name: String,
    pub reference: String,
    pub ean13: String,
    pub quantity: u32,
    /// Unit price excluding tax, in the order currency; up to 6 decimals.
    pub unit_price_tax_excl: Decimal,
    /// Tax rate in percent. `None`: the shop's tax rules decide (the product's tax rules group
    /// for the delivery country; none for VAT-exempt B2B and countries without a rule).
    pub tax_rate: Option<Decimal>,
    pub id_tax_rules_group: u64,
}

/// The carrier and what it charged.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct CarrierSpec {
    /// One of the shop's carriers (`carriers` id). Default 2, PostNL.
    pub carrier_id: u64,
    /// Shipping excluding tax.
    pub price_tax_excl: Decimal,
    /// `None`: the carrier's tax rules group decides, as for lines.
    pub tax_rate: Option<Decimal>,
}

impl Default for CarrierSpec {
    fn default() -> Self {
        CarrierSpec {
            carrier_id: 2,
            price_tax_excl: Decimal::ZERO,
            tax_rate: None,
        }
    }
}

/// A voucher (cart rule with a fixed amount including tax, at one tax rate).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscountSpec {
    pub name: String,
    /// The amount including tax; capped at what the products cost.
    pub amount_tax_incl: Decimal,
    /// Percent; the amount excluding tax is `round(amount / (1 + rate), 2)`.
    pub tax_rate: Decimal,
}

/// The flags of an order state, as a module installs one (`OrderState` fields).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct StateFlags {
    pub module_name: String,
    pub color: String,
    pub template: String,
    pub paid: bool,
    pub shipped: bool,
    pub delivery: bool,
    pub invoice: bool,
    pub logable: bool,
    pub pdf_invoice: bool,
    pub pdf_delivery: bool,
    pub send_email: bool,
    pub hidden: bool,
}

impl Default for StateFlags {
    fn default() -> Self {
        StateFlags {
            module_name: String::new(),
            color: "#4169E1".to_string(),
            template: String::new(),
            paid: false,
            shipped: false,
            delivery: false,
            invoice: false,
            logable: false,
            pdf_invoice: false,
            pdf_delivery: false,
            send_email: false,
            hidden: false,
        }
    }
}

/// A credit slip as the back office's "Partial refund" issues it.
///
/// Each line refunds `quantity` units of the order's first line with that `product_id`, at the
/// line's own rounded unit prices (`round(unit, 2) × quantity`, excl. and incl. tax), so
/// refunding everything gives back exactly the order's product totals. `refund_shipping`
/// refunds the whole shipping (once per order). `amount`, when given, is the amount refunded
/// for the products ("amount of your choice", `order_slip_type` 2) instead of their total.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SlipSpec {
    pub lines: Vec<SlipLine>,
    pub refund_shipping: bool,
    pub amount: Option<Decimal>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SlipLine {
    pub product_id: u64,
    pub quantity: u32,
}
