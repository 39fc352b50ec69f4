//! The shop's data and every change to it. Each change moves the emulator clock forward, so a
//! record's `date_upd` strictly increases with every change and `filter[date_upd]` cursors
//! never miss one.

use std::collections::BTreeMap;

use chrono::{Duration, DurationRound, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::calc::{add_tax, remove_tax, round2, round6};
use super::model::{
    Address, Carrier, Country, Currency, Customer, Order, OrderCarrier, OrderCartRule, OrderDetail,
    OrderHistory, OrderInvoice, OrderPayment, OrderSlip, OrderState, OrderTotals, Product,
    SlipDetail, Tax, TaxRule, TaxRuleGroup,
};
use super::seed;
use super::spec::{AddressSpec, CustomerSpec, OrderSpec, SlipSpec, StateFlags};

/// The shop's time zone is a fixed UTC+1 (PrestaShop stores local time without an offset).
pub(crate) const UTC_OFFSET_SECS: i64 = 3600;

/// Why the shop refused a change: the HTTP status the admin endpoints answer with (404 for an
/// unknown order, 400 otherwise) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopError {
    pub status: u16,
    pub message: String,
}

impl ShopError {
    fn not_found(message: String) -> Self {
        ShopError {
            status: 404,
            message,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        ShopError {
            status: 400,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ShopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status)
    }
}

impl std::error::Error for ShopError {}

fn next_id<T>(map: &BTreeMap<u64, T>) -> u64 {
    map.keys().next_back().map_or(1, |last| last + 1)
}

/// SplitMix64: deterministic pseudo-random values for references and keys.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn chars_from(seed: u64, alphabet: &[u8], len: usize) -> String {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = mix(state);
            alphabet[(state % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// An order reference as `Order::generateReference()` makes them: 9 capital letters.
fn reference_for(order_id: u64) -> String {
    chars_from(order_id ^ 0x5245_4645, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 9)
}

/// A customer's `secure_key` (an MD5 hex digest in PrestaShop).
fn secure_key_for(customer_id: u64) -> String {
    chars_from(customer_id ^ 0x5345_4355, b"0123456789abcdef", 32)
}

/// A bcrypt hash as PrestaShop 1.7+ stores `passwd`.
fn passwd_for(customer_id: u64) -> String {
    let alphabet = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    format!(
        "$2y$10${}",
        chars_from(customer_id ^ 0x5041_5353, alphabet, 53)
    )
}

fn now_local() -> NaiveDateTime {
    let now = Utc::now().naive_utc() + Duration::seconds(UTC_OFFSET_SECS);
    now.duration_trunc(Duration::seconds(1)).unwrap_or(now)
}

/// What makes two addresses of a customer the same address.
fn address_key(a: &Address) -> (u64, u64, [&str; 11]) {
    (
        a.id_customer,
        a.id_country,
        [
            &a.alias,
            &a.company,
            &a.lastname,
            &a.firstname,
            &a.vat_number,
            &a.address1,
            &a.address2,
            &a.postcode,
            &a.city,
            &a.phone,
            &a.phone_mobile,
        ],
    )
}

/// An order line before it is stored.
struct Line {
    product_id: u64,
    product_attribute_id: u64,
    name: String,
    reference: String,
    ean13: String,
    weight: Decimal,
    quantity: u32,
    original_price: Decimal,
    wholesale: Decimal,
    unit_excl: Decimal,
    unit_incl: Decimal,
    id_tax_rules_group: u64,
    id_tax: Option<u64>,
}

pub(crate) struct Shop {
    pub countries: Vec<Country>,
    pub currencies: Vec<Currency>,
    pub taxes: Vec<Tax>,
    pub tax_rule_groups: Vec<TaxRuleGroup>,
    pub tax_rules: Vec<TaxRule>,
    pub carriers: Vec<Carrier>,
    pub products: Vec<Product>,
    pub states: BTreeMap<u64, OrderState>,
    pub customers: BTreeMap<u64, Customer>,
    pub addresses: BTreeMap<u64, Address>,
    pub orders: BTreeMap<u64, Order>,
    pub details: BTreeMap<u64, OrderDetail>,
    pub histories: BTreeMap<u64, OrderHistory>,
    pub invoices: BTreeMap<u64, OrderInvoice>,
    pub payments: BTreeMap<u64, OrderPayment>,
    pub order_carriers: BTreeMap<u64, OrderCarrier>,
    pub cart_rules: BTreeMap<u64, OrderCartRule>,
    pub slips: BTreeMap<u64, OrderSlip>,
    next_cart: u64,
    next_cart_rule: u64,
    next_invoice_number: u64,
    next_delivery_number: u64,
    clock: NaiveDateTime,
}

impl Shop {
    pub fn new() -> Self {
        let countries = seed::countries();
        let (taxes, tax_rule_groups, tax_rules) = seed::tax_table(&countries);
        Shop {
            countries,
            currencies: seed::currencies(),
            taxes,
            tax_rule_groups,
            tax_rules,
            carriers: seed::carriers(),
            products: seed::products(),
            states: seed::order_states()
                .into_iter()
                .map(|s| (s.id, s))
                .collect(),
            customers: BTreeMap::new(),
            addresses: BTreeMap::new(),
            orders: BTreeMap::new(),
            details: BTreeMap::new(),
            histories: BTreeMap::new(),
            invoices: BTreeMap::new(),
            payments: BTreeMap::new(),
            order_carriers: BTreeMap::new(),
            cart_rules: BTreeMap::new(),
            slips: BTreeMap::new(),
            next_cart: 1,
            next_cart_rule: 1,
            next_invoice_number: 1,
            next_delivery_number: 1,
            clock: now_local() - Duration::seconds(1),
        }
    }

    /// The emulator clock (shop-local time): wall-clock seconds, but always at least one second
    /// after the previous tick.
    pub fn tick(&mut self) -> NaiveDateTime {
        self.clock = now_local().max(self.clock + Duration::seconds(1));
        self.clock
    }

    /// A tick that is also later than `after` (a record's last `date_upd`).
    fn tick_after(&mut self, after: NaiveDateTime) -> NaiveDateTime {
        self.clock = self.clock.max(after);
        self.tick()
    }

    pub fn order_details(&self, order_id: u64) -> impl Iterator<Item = &OrderDetail> {
        self.details
            .values()
            .filter(move |d| d.id_order == order_id)
    }

    /// The shop's country with this ISO code; a country it lacks is added (as an active one).
    fn country_id(&mut self, iso: &str) -> u64 {
        let iso = iso.trim().to_uppercase();
        if let Some(country) = self.countries.iter().find(|c| c.iso_code == iso) {
            return country.id;
        }
        let id = self.countries.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        self.countries.push(Country {
            id,
            iso_code: iso.clone(),
            name: iso,
            id_zone: 7,
            call_prefix: 0,
            contains_states: false,
            zip_code_format: String::new(),
        });
        id
    }

    /// The tax a line (or shipping, wrapping) gets: an explicit rate finds (or adds) a tax of
    /// that rate; otherwise the group's rule for the country decides, unless the order is
    /// VAT-exempt.
    fn tax_for(
        &mut self,
        group: u64,
        id_country: u64,
        exempt: bool,
        explicit: Option<Decimal>,
    ) -> (Option<u64>, Decimal) {
        let ruled = |shop: &Shop, group: Option<u64>| {
            shop.tax_rules
                .iter()
                .filter(|r| r.id_country == id_country)
                .filter(|r| group.is_none_or(|g| r.id_tax_rules_group == g))
                .find_map(|r| shop.taxes.iter().find(|t| t.id == r.id_tax))
                .cloned()
        };
        match explicit {
            Some(rate) if rate.is_zero() => (None, Decimal::ZERO),
            Some(rate) => {
                let known = ruled(self, Some(group))
                    .filter(|t| t.rate == rate)
                    .or_else(|| {
                        self.tax_rules
                            .iter()
                            .filter(|r| r.id_country == id_country)
                            .find_map(|r| {
                                self.taxes
                                    .iter()
                                    .find(|t| t.id == r.id_tax && t.rate == rate)
                            })
                            .cloned()
                    });
                let tax = known.unwrap_or_else(|| {
                    let iso = self
                        .countries
                        .iter()
                        .find(|c| c.id == id_country)
                        .map_or(String::new(), |c| c.iso_code.clone());
                    let tax = Tax {
                        id: self.taxes.iter().map(|t| t.id).max().unwrap_or(0) + 1,
                        name: format!("VAT {iso} {}%", rate.normalize()),
                        rate,
                    };
                    self.taxes.push(tax.clone());
                    tax
                });
                (Some(tax.id), tax.rate)
            }
            None if exempt => (None, Decimal::ZERO),
            None => {
                ruled(self, Some(group)).map_or((None, Decimal::ZERO), |t| (Some(t.id), t.rate))
            }
        }
    }

    fn resolve_customer(&mut self, spec: &CustomerSpec, at: NaiveDateTime) -> u64 {
        if spec.customer_id != 0 && self.customers.contains_key(&spec.customer_id) {
            return spec.customer_id;
        }
        let id = if spec.customer_id != 0 {
            spec.customer_id
        } else {
            next_id(&self.customers)
        };
        self.customers.insert(
            id,
            Customer {
                id,
                firstname: spec.firstname.clone(),
                lastname: spec.lastname.clone(),
                email: spec.email.clone(),
                company: spec.company.clone(),
                is_guest: spec.is_guest,
                secure_key: secure_key_for(id),
                passwd: passwd_for(id),
                date_add: at,
                date_upd: at,
            },
        );
        id
    }

    /// The customer's address with this content, added unless the customer already has it.
    fn resolve_address(&mut self, spec: &AddressSpec, id_customer: u64, at: NaiveDateTime) -> u64 {
        let id_country = self.country_id(&spec.country);
        let customer = self.customers.get(&id_customer);
        let or_customer = |value: &str, fallback: fn(&Customer) -> &str| {
            if value.is_empty() {
                customer.map_or(String::new(), |c| fallback(c).to_string())
            } else {
                value.to_string()
            }
        };
        let address = Address {
            id: 0,
            id_customer,
            id_country,
            alias: if spec.alias.is_empty() {
                "My address".to_string()
            } else {
                spec.alias.clone()
            },
            company: or_customer(&spec.company, |c| &c.company),
            lastname: or_customer(&spec.lastname, |c| &c.lastname),
            firstname: or_customer(&spec.firstname, |c| &c.firstname),
            vat_number: spec.vat_number.clone(),
            address1: spec.address1.clone(),
            address2: spec.address2.clone(),
            postcode: spec.postcode.clone(),
            city: spec.city.clone(),
            phone: spec.phone.clone(),
            phone_mobile: spec.phone_mobile.clone(),
            date_add: at,
            date_upd: at,
        };
        let key = address_key(&address);
        if let Some(existing) = self.addresses.values().find(|a| address_key(a) == key) {
            return existing.id;
        }
        let id = next_id(&self.addresses);
        self.addresses.insert(id, Address { id, ..address });
        id
    }

    /// Stores an order as `PaymentModule::validateOrder()` does and applies its first state.
    pub fn create_order(&mut self, spec: &OrderSpec) -> Result<u64, ShopError> {
        if !self.states.contains_key(&spec.state_id) {
            return Err(ShopError::invalid(format!(
                "unknown order state {}",
                spec.state_id
            )));
        }
        let currency = self
            .currencies
            .iter()
            .find(|c| c.iso_code.eq_ignore_ascii_case(&spec.currency))
            .cloned()
            .ok_or_else(|| ShopError::invalid(format!("unknown currency {}", spec.currency)))?;
        if spec.lines.is_empty() || spec.lines.iter().any(|l| l.quantity == 0) {
            return Err(ShopError::invalid(
                "an order needs lines with a quantity of at least 1".to_string(),
            ));
        }
        let carrier = match &spec.carrier {
            None => None,
            Some(c) => Some((
                c,
                self.carriers
                    .iter()
                    .find(|k| k.id == c.carrier_id)
                    .cloned()
                    .ok_or_else(|| {
                        ShopError::invalid(format!("unknown carrier {}", c.carrier_id))
                    })?,
            )),
        };

        let now = self.tick();
        let date_add = spec.date_add.unwrap_or(now);
        self.clock = self.clock.max(date_add);
        let id_customer = self.resolve_customer(&spec.customer, date_add);
        let id_address_delivery = self.resolve_address(&spec.delivery, id_customer, date_add);
        let id_address_invoice = match &spec.invoice {
            Some(invoice) => self.resolve_address(invoice, id_customer, date_add),
            None => id_address_delivery,
        };
        let id_country = self.country_id(&spec.delivery.country);
        let exempt =
            !spec.delivery.vat_number.trim().is_empty() && id_country != seed::SHOP_COUNTRY_ID;

        let mut lines = Vec::new();
        for line in &spec.lines {
            let product = self
                .products
                .iter()
                .find(|p| p.id == line.product_id)
                .cloned();
            let catalogue_price = product.as_ref().map_or(Decimal::ZERO, |p| {
                round6(p.price * currency.conversion_rate)
            });
            let unit_excl = round6(if line.unit_price_tax_excl.is_zero() {
                catalogue_price
            } else {
                line.unit_price_tax_excl
            });
            let group = match (line.id_tax_rules_group, &product) {
                (0, Some(p)) => p.id_tax_rules_group,
                (0, None) => seed::STANDARD_GROUP,
                (group, _) => group,
            };
            let (id_tax, rate) = self.tax_for(group, id_country, exempt, line.tax_rate);
            let pick = |given: &str, from: fn(&Product) -> &str| {
                if given.is_empty() {
                    product
                        .as_ref()
                        .map_or(String::new(), |p| from(p).to_string())
                } else {
                    given.to_string()
                }
            };
            lines.push(Line {
                product_id: line.product_id,
                product_attribute_id: line.product_attribute_id,
                name: pick(&line.name, |p| &p.name),
                reference: pick(&line.reference, |p| &p.reference),
                ean13: pick(&line.ean13, |p| &p.ean13),
                weight: product.as_ref().map_or(Decimal::ZERO, |p| p.weight),
                quantity: line.quantity,
                original_price: if product.is_some() {
                    catalogue_price
                } else {
                    unit_excl
                },
                wholesale: product
                    .as_ref()
                    .map_or(Decimal::ZERO, |p| p.wholesale_price),
                unit_excl,
                unit_incl: round6(add_tax(unit_excl, rate)),
                id_tax_rules_group: group,
                id_tax,
            });
        }

        let mut totals = OrderTotals::default();
        for line in &lines {
            let quantity = Decimal::from(line.quantity);
            totals.products += round2(line.unit_excl) * quantity;
            totals.products_wt += round2(line.unit_incl) * quantity;
        }
        if let Some((spec_carrier, carrier)) = &carrier {
            let (_, rate) = self.tax_for(
                carrier.id_tax_rules_group,
                id_country,
                exempt,
                spec_carrier.tax_rate,
            );
            totals.shipping_tax_excl = round2(spec_carrier.price_tax_excl);
            totals.shipping_tax_incl = round2(add_tax(totals.shipping_tax_excl, rate));
            totals.carrier_tax_rate = rate;
        }
        if !spec.wrapping_tax_excl.is_zero() {
            let (_, rate) = self.tax_for(
                seed::STANDARD_GROUP,
                id_country,
                exempt,
                spec.wrapping_tax_rate,
            );
            totals.wrapping_tax_excl = round2(spec.wrapping_tax_excl);
            totals.wrapping_tax_incl = round2(add_tax(totals.wrapping_tax_excl, rate));
        }
        let mut vouchers = Vec::new();
        let mut left = totals.products_wt;
        for discount in &spec.discounts {
            let value = round2(discount.amount_tax_incl)
                .min(left)
                .max(Decimal::ZERO);
            let value_tax_excl = round2(remove_tax(value, discount.tax_rate));
            left -= value;
            totals.discounts_tax_incl += value;
            totals.discounts_tax_excl += value_tax_excl;
            vouchers.push((discount.name.clone(), value, value_tax_excl));
        }
        totals.paid_tax_excl =
            totals.products + totals.shipping_tax_excl + totals.wrapping_tax_excl
                - totals.discounts_tax_excl;
        totals.paid_tax_incl =
            totals.products_wt + totals.shipping_tax_incl + totals.wrapping_tax_incl
                - totals.discounts_tax_incl;

        let id = next_id(&self.orders);
        let id_cart = self.next_cart;
        self.next_cart += 1;
        let secure_key = self
            .customers
            .get(&id_customer)
            .map_or_else(|| secure_key_for(id_customer), |c| c.secure_key.clone());
        let weight: Decimal = lines
            .iter()
            .map(|l| l.weight * Decimal::from(l.quantity))
            .sum();
        let order = Order {
            id,
            reference: if spec.reference.is_empty() {
                reference_for(id)
            } else {
                spec.reference.clone()
            },
            id_address_delivery,
            id_address_invoice,
            id_cart,
            id_currency: currency.id,
            id_customer,
            id_carrier: carrier.as_ref().map_or(0, |(_, c)| c.id),
            current_state: 0,
            module: spec.module.clone(),
            payment: spec.payment.clone(),
            invoice_number: 0,
            invoice_date: None,
            delivery_number: 0,
            delivery_date: None,
            valid: false,
            date_add,
            date_upd: date_add,
            shipping_number: spec.shipping_number.clone(),
            note: spec.note.clone(),
            secure_key,
            gift: !spec.wrapping_tax_excl.is_zero(),
            gift_message: spec.gift_message.clone(),
            totals,
            conversion_rate: currency.conversion_rate,
            transaction_id: spec.transaction_id.clone(),
        };
        self.orders.insert(id, order);
        for line in lines {
            let detail_id = next_id(&self.details);
            let quantity = Decimal::from(line.quantity);
            self.details.insert(
                detail_id,
                OrderDetail {
                    id: detail_id,
                    id_order: id,
                    id_order_invoice: 0,
                    product_id: line.product_id,
                    product_attribute_id: line.product_attribute_id,
                    product_name: line.name,
                    product_reference: line.reference,
                    product_ean13: line.ean13,
                    product_weight: line.weight,
                    quantity: line.quantity,
                    quantity_refunded: 0,
                    product_price: line.unit_excl,
                    original_product_price: line.original_price,
                    original_wholesale_price: line.wholesale,
                    unit_price_tax_excl: line.unit_excl,
                    unit_price_tax_incl: line.unit_incl,
                    total_price_tax_excl: round2(line.unit_excl) * quantity,
                    total_price_tax_incl: round2(line.unit_incl) * quantity,
                    total_refunded_tax_excl: Decimal::ZERO,
                    total_refunded_tax_incl: Decimal::ZERO,
                    id_tax_rules_group: line.id_tax_rules_group,
                    id_tax: line.id_tax,
                },
            );
        }
        if let Some((_, carrier)) = &carrier {
            let oc_id = next_id(&self.order_carriers);
            let (excl, incl) = {
                let order = &self.orders[&id];
                (
                    order.totals.shipping_tax_excl,
                    order.totals.shipping_tax_incl,
                )
            };
            self.order_carriers.insert(
                oc_id,
                OrderCarrier {
                    id: oc_id,
                    id_order: id,
                    id_carrier: carrier.id,
                    id_order_invoice: 0,
                    weight,
                    shipping_cost_tax_excl: excl,
                    shipping_cost_tax_incl: incl,
                    tracking_number: spec.shipping_number.clone(),
                    date_add,
                },
            );
        }
        for (name, value, value_tax_excl) in vouchers {
            let ocr_id = next_id(&self.cart_rules);
            let id_cart_rule = self.next_cart_rule;
            self.next_cart_rule += 1;
            self.cart_rules.insert(
                ocr_id,
                OrderCartRule {
                    id: ocr_id,
                    id_order: id,
                    id_cart_rule,
                    id_order_invoice: 0,
                    name,
                    value,
                    value_tax_excl,
                },
            );
        }
        self.apply_state(id, spec.state_id, date_add);
        Ok(id)
    }

    /// Adds the order history and applies the state's flags as
    /// `OrderHistory::changeIdOrderState()` does.
    fn apply_state(&mut self, order_id: u64, state_id: u64, at: NaiveDateTime) -> u64 {
        let history_id = next_id(&self.histories);
        self.histories.insert(
            history_id,
            OrderHistory {
                id: history_id,
                id_order: order_id,
                id_order_state: state_id,
                id_employee: 0,
                date_add: at,
            },
        );
        let Some(state) = self.states.get(&state_id).cloned() else {
            return history_id;
        };
        let needs_invoice = self
            .orders
            .get(&order_id)
            .is_some_and(|o| state.invoice && o.invoice_number == 0);
        if needs_invoice {
            self.issue_invoice(order_id, at);
        }
        let needs_delivery = self
            .orders
            .get(&order_id)
            .is_some_and(|o| state.delivery && o.delivery_number == 0);
        if needs_delivery {
            let number = self.next_delivery_number;
            self.next_delivery_number += 1;
            for invoice in self
                .invoices
                .values_mut()
                .filter(|i| i.id_order == order_id)
            {
                invoice.delivery_number = number;
                invoice.delivery_date = Some(at);
            }
            if let Some(order) = self.orders.get_mut(&order_id) {
                order.delivery_number = number;
                order.delivery_date = Some(at);
            }
        }
        let payment = self.orders.get_mut(&order_id).and_then(|order| {
            order.current_state = state_id;
            order.valid = state.logable;
            order.date_upd = at;
            let rest = order.totals.paid_tax_incl - order.totals.paid_real;
            if state.paid && rest > Decimal::ZERO {
                order.totals.paid_real = order.totals.paid_tax_incl;
                Some(OrderPayment {
                    id: 0,
                    order_reference: order.reference.clone(),
                    id_currency: order.id_currency,
                    amount: rest,
                    payment_method: order.payment.clone(),
                    conversion_rate: order.conversion_rate,
                    transaction_id: order.transaction_id.clone(),
                    date_add: at,
                })
            } else {
                None
            }
        });
        if let Some(payment) = payment {
            let id = next_id(&self.payments);
            self.payments.insert(id, OrderPayment { id, ..payment });
        }
        history_id
    }

    fn issue_invoice(&mut self, order_id: u64, at: NaiveDateTime) {
        let Some(order) = self.orders.get_mut(&order_id) else {
            return;
        };
        let number = self.next_invoice_number;
        self.next_invoice_number += 1;
        order.invoice_number = number;
        order.invoice_date = Some(at);
        let id = next_id(&self.invoices);
        self.invoices.insert(
            id,
            OrderInvoice {
                id,
                id_order: order_id,
                number,
                delivery_number: 0,
                delivery_date: None,
                totals: order.totals.clone(),
                date_add: at,
            },
        );
        for detail in self.details.values_mut().filter(|d| d.id_order == order_id) {
            detail.id_order_invoice = id;
        }
        for carrier in self
            .order_carriers
            .values_mut()
            .filter(|c| c.id_order == order_id)
        {
            carrier.id_order_invoice = id;
        }
        for rule in self
            .cart_rules
            .values_mut()
            .filter(|r| r.id_order == order_id)
        {
            rule.id_order_invoice = id;
        }
    }

    /// Moves the order to another state as the back office does (not to the state it is in).
    /// Returns the new `order_histories` id.
    pub fn set_state(&mut self, order_id: u64, state_id: u64) -> Result<u64, ShopError> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or_else(|| ShopError::not_found(format!("unknown order {order_id}")))?;
        if !self.states.contains_key(&state_id) {
            return Err(ShopError::invalid(format!(
                "unknown order state {state_id}"
            )));
        }
        if order.current_state == state_id {
            return Err(ShopError::invalid(
                "The order has already been assigned this status.".to_string(),
            ));
        }
        let at = self.tick_after(order.date_upd);
        Ok(self.apply_state(order_id, state_id, at))
    }

    /// Installs an order state as a module does (`unremovable` 0). Returns its id.
    pub fn add_state(&mut self, name: &str, flags: &StateFlags) -> u64 {
        let id = next_id(&self.states);
        self.states.insert(
            id,
            OrderState {
                id,
                name: name.to_string(),
                template: flags.template.clone(),
                module_name: flags.module_name.clone(),
                color: flags.color.clone(),
                unremovable: false,
                send_email: flags.send_email,
                hidden: flags.hidden,
                invoice: flags.invoice,
                logable: flags.logable,
                shipped: flags.shipped,
                paid: flags.paid,
                delivery: flags.delivery,
                pdf_invoice: flags.pdf_invoice,
                pdf_delivery: flags.pdf_delivery,
            },
        );
        id
    }

    /// Issues a credit slip (see [`SlipSpec`]). Returns its id.
    pub fn create_slip(&mut self, order_id: u64, spec: &SlipSpec) -> Result<u64, ShopError> {
        let order = self
            .orders
            .get(&order_id)
            .cloned()
            .ok_or_else(|| ShopError::not_found(format!("unknown order {order_id}")))?;
        if spec.lines.is_empty() && !spec.refund_shipping && spec.amount.is_none() {
            return Err(ShopError::invalid(
                "You must select a product, the shipping or an amount to refund.".to_string(),
            ));
        }
        let mut details = Vec::new();
        for line in &spec.lines {
            let detail = self
                .order_details(order_id)
                .find(|d| d.product_id == line.product_id)
                .ok_or_else(|| {
                    ShopError::invalid(format!(
                        "product {} is not part of order {order_id}",
                        line.product_id
                    ))
                })?;
            let left = detail.quantity - detail.quantity_refunded;
            if line.quantity == 0 || line.quantity > left {
                return Err(ShopError::invalid(format!(
                    "cannot refund {} of product {} ({left} left to refund)",
                    line.quantity, line.product_id
                )));
            }
            let quantity = Decimal::from(line.quantity);
            details.push(SlipDetail {
                id_order_detail: detail.id,
                quantity: line.quantity,
                amount_tax_excl: round2(detail.unit_price_tax_excl) * quantity,
                amount_tax_incl: round2(detail.unit_price_tax_incl) * quantity,
            });
        }
        let shipping_refunded = self
            .slips
            .values()
            .any(|s| s.id_order == order_id && s.shipping_cost);
        if spec.refund_shipping && (shipping_refunded || order.totals.shipping_tax_incl.is_zero()) {
            return Err(ShopError::invalid(
                "the order has no shipping left to refund".to_string(),
            ));
        }
        let products_excl: Decimal = details.iter().map(|d| d.amount_tax_excl).sum();
        let products_incl: Decimal = details.iter().map(|d| d.amount_tax_incl).sum();
        let (shipping_excl, shipping_incl) = if spec.refund_shipping {
            (
                order.totals.shipping_tax_excl,
                order.totals.shipping_tax_incl,
            )
        } else {
            (Decimal::ZERO, Decimal::ZERO)
        };
        let amount = match spec.amount {
            Some(amount) if amount <= Decimal::ZERO => {
                return Err(ShopError::invalid(
                    "the amount to refund must be positive".to_string(),
                ))
            }
            Some(amount) => round2(amount),
            None => products_incl,
        };
        let refunded: Decimal = self
            .slips
            .values()
            .filter(|s| s.id_order == order_id)
            .map(|s| s.amount + s.total_shipping_tax_incl)
            .sum();
        if refunded + amount + shipping_incl > order.totals.paid_tax_incl {
            return Err(ShopError::invalid(format!(
                "cannot refund more than the order's total ({})",
                order.totals.paid_tax_incl
            )));
        }
        for slip_detail in &details {
            if let Some(detail) = self.details.get_mut(&slip_detail.id_order_detail) {
                detail.quantity_refunded += slip_detail.quantity;
                detail.total_refunded_tax_excl += slip_detail.amount_tax_excl;
                detail.total_refunded_tax_incl += slip_detail.amount_tax_incl;
            }
        }
        let at = self.tick();
        let id = next_id(&self.slips);
        self.slips.insert(
            id,
            OrderSlip {
                id,
                id_customer: order.id_customer,
                id_order: order_id,
                conversion_rate: order.conversion_rate,
                total_products_tax_excl: products_excl,
                total_products_tax_incl: products_incl,
                total_shipping_tax_excl: shipping_excl,
                total_shipping_tax_incl: shipping_incl,
                amount,
                shipping_cost: spec.refund_shipping,
                partial: true,
                order_slip_type: if spec.amount.is_some() { 2 } else { 0 },
                date_add: at,
                date_upd: at,
                details,
            },
        );
        Ok(id)
    }
}
