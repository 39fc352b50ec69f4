//! What the shop stores: one struct per database entity the webservice exposes.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

#[derive(Clone, Debug)]
pub(crate) struct Country {
    pub id: u64,
    pub iso_code: String,
    pub name: String,
    pub id_zone: u64,
    pub call_prefix: u32,
    pub contains_states: bool,
    pub zip_code_format: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Currency {
    pub id: u64,
    pub name: String,
    pub symbol: String,
    pub iso_code: String,
    pub numeric_iso_code: String,
    pub conversion_rate: Decimal,
}

#[derive(Clone, Debug)]
pub(crate) struct Tax {
    pub id: u64,
    pub name: String,
    pub rate: Decimal,
}

#[derive(Clone, Debug)]
pub(crate) struct TaxRuleGroup {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct TaxRule {
    pub id: u64,
    pub id_tax_rules_group: u64,
    pub id_country: u64,
    pub id_tax: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Carrier {
    pub id: u64,
    pub name: String,
    pub delay: String,
    pub is_free: bool,
    pub url: String,
    pub id_tax_rules_group: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Product {
    pub id: u64,
    pub name: String,
    pub reference: String,
    pub ean13: String,
    pub price: Decimal,
    pub wholesale_price: Decimal,
    pub id_tax_rules_group: u64,
    pub weight: Decimal,
    pub id_category: u64,
    pub is_virtual: bool,
    pub date_add: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderState {
    pub id: u64,
    pub name: String,
    pub template: String,
    pub module_name: String,
    pub color: String,
    pub unremovable: bool,
    pub send_email: bool,
    pub hidden: bool,
    pub invoice: bool,
    pub logable: bool,
    pub shipped: bool,
    pub paid: bool,
    pub delivery: bool,
    pub pdf_invoice: bool,
    pub pdf_delivery: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub id: u64,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub company: String,
    pub is_guest: bool,
    pub secure_key: String,
    pub passwd: String,
    pub date_add: NaiveDateTime,
    pub date_upd: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct Address {
    pub id: u64,
    pub id_customer: u64,
    pub id_country: u64,
    pub alias: String,
    pub company: String,
    pub lastname: String,
    pub firstname: String,
    pub vat_number: String,
    pub address1: String,
    pub address2: String,
    pub postcode: String,
    pub city: String,
    pub phone: String,
    pub phone_mobile: String,
    pub date_add: NaiveDateTime,
    pub date_upd: NaiveDateTime,
}

/// The money columns of `ps_orders`, every one already rounded as PrestaShop stores it.
#[derive(Clone, Debug, Default)]
pub(crate) struct OrderTotals {
    pub discounts_tax_incl: Decimal,
    pub discounts_tax_excl: Decimal,
    pub paid_tax_incl: Decimal,
    pub paid_tax_excl: Decimal,
    pub paid_real: Decimal,
    pub products: Decimal,
    pub products_wt: Decimal,
    pub shipping_tax_incl: Decimal,
    pub shipping_tax_excl: Decimal,
    pub carrier_tax_rate: Decimal,
    pub wrapping_tax_incl: Decimal,
    pub wrapping_tax_excl: Decimal,
}

#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub id: u64,
    pub reference: String,
    pub id_address_delivery: u64,
    pub id_address_invoice: u64,
    pub id_cart: u64,
    pub id_currency: u64,
    pub id_customer: u64,
    pub id_carrier: u64,
    pub current_state: u64,
    pub module: String,
    pub payment: String,
    pub invoice_number: u64,
    pub invoice_date: Option<NaiveDateTime>,
    pub delivery_number: u64,
    pub delivery_date: Option<NaiveDateTime>,
    pub valid: bool,
    pub date_add: NaiveDateTime,
    pub date_upd: NaiveDateTime,
    pub shipping_number: String,
    pub note: String,
    pub secure_key: String,
    pub gift: bool,
    pub gift_message: String,
    pub totals: OrderTotals,
    pub conversion_rate: Decimal,
    pub transaction_id: String,
}

/// One `ps_order_detail` row (an `order_rows` entry of its order).
#[derive(Clone, Debug)]
pub(crate) struct OrderDetail {
    pub id: u64,
    pub id_order: u64,
    pub id_order_invoice: u64,
    pub product_id: u64,
    pub product_attribute_id: u64,
    pub product_name: String,
    pub product_reference: String,
    pub product_ean13: String,
    pub product_weight: Decimal,
    pub quantity: u32,
    pub quantity_refunded: u32,
    pub product_price: Decimal,
    pub original_product_price: Decimal,
    pub original_wholesale_price: Decimal,
    pub unit_price_tax_excl: Decimal,
    pub unit_price_tax_incl: Decimal,
    pub total_price_tax_excl: Decimal,
    pub total_price_tax_incl: Decimal,
    pub total_refunded_tax_excl: Decimal,
    pub total_refunded_tax_incl: Decimal,
    pub id_tax_rules_group: u64,
    /// The tax applied (`associations/taxes`); `None` when the line is untaxed.
    pub id_tax: Option<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderHistory {
    pub id: u64,
    pub id_order: u64,
    pub id_order_state: u64,
    pub id_employee: u64,
    pub date_add: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderInvoice {
    pub id: u64,
    pub id_order: u64,
    pub number: u64,
    pub delivery_number: u64,
    pub delivery_date: Option<NaiveDateTime>,
    pub totals: OrderTotals,
    pub date_add: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderPayment {
    pub id: u64,
    pub order_reference: String,
    pub id_currency: u64,
    pub amount: Decimal,
    pub payment_method: String,
    pub conversion_rate: Decimal,
    pub transaction_id: String,
    pub date_add: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderCarrier {
    pub id: u64,
    pub id_order: u64,
    pub id_carrier: u64,
    pub id_order_invoice: u64,
    pub weight: Decimal,
    pub shipping_cost_tax_excl: Decimal,
    pub shipping_cost_tax_incl: Decimal,
    pub tracking_number: String,
    pub date_add: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderCartRule {
    pub id: u64,
    pub id_order: u64,
    pub id_cart_rule: u64,
    pub id_order_invoice: u64,
    pub name: String,
    pub value: Decimal,
    pub value_tax_excl: Decimal,
}

#[derive(Clone, Debug)]
pub(crate) struct SlipDetail {
    pub id_order_detail: u64,
    pub quantity: u32,
    pub amount_tax_excl: Decimal,
    pub amount_tax_incl: Decimal,
}

#[derive(Clone, Debug)]
pub(crate) struct OrderSlip {
    pub id: u64,
    pub id_customer: u64,
    pub id_order: u64,
    pub conversion_rate: Decimal,
    pub total_products_tax_excl: Decimal,
    pub total_products_tax_incl: Decimal,
    pub total_shipping_tax_excl: Decimal,
    pub total_shipping_tax_incl: Decimal,
    pub amount: Decimal,
    pub shipping_cost: bool,
    pub partial: bool,
    pub order_slip_type: u8,
    pub date_add: NaiveDateTime,
    pub date_upd: NaiveDateTime,
    pub details: Vec<SlipDetail>,
}
