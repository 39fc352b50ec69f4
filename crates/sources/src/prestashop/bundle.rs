//! What one order is made of in PrestaShop — the order, its lines, customer, addresses,
//! countries, currency and states, each a resource of its own — gathered in one value, so
//! that mapping is a pure function of it and the bundle is the payload kept with the document.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body;

/// One order with everything its mapping needs, in the webservice's JSON shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderBundle {
    /// `orders/{id}` (without its `secure_key`).
    pub order: Value,
    /// The order's `order_details` rows: the lines with their tax-incl./excl. totals.
    pub details: Vec<Value>,
    /// The order's `order_histories` rows, oldest first.
    pub histories: Vec<Value>,
    /// `customers/{id}`, with only the fields ledgerlink reads; `None` when the shop no
    /// longer has the customer.
    pub customer: Option<Value>,
    pub invoice_address: Value,
    pub delivery_address: Value,
    /// ISO code of the invoice address's country, as the shop has it.
    pub invoice_country: String,
    /// ISO code of the delivery address's country.
    pub delivery_country: String,
    /// ISO code of the order's currency.
    pub currency: String,
    /// The order's current state.
    pub state: OrderState,
    /// Every state in the order's history, by id.
    pub history_states: BTreeMap<u64, OrderState>,
    /// The rate (percent) of each tax the lines name in `associations/taxes`, by tax id.
    pub tax_rates: BTreeMap<u64, Decimal>,
}

/// An order state. States are the merchant's (and modules') to define, so what a state
/// means is read from its flags, never from its id or name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub id: u64,
    /// The name in the shop's lowest-numbered language.
    pub name: String,
    /// The module that installed the state (`ps_wirepayment`, `mollie`); empty for core ones.
    pub module_name: String,
    /// The order is paid: PrestaShop records the payment.
    pub paid: bool,
    /// PrestaShop numbers an invoice for the order.
    pub invoice: bool,
    /// The order counts as a valid sale (`orders.valid`).
    pub logable: bool,
    pub shipped: bool,
    /// PrestaShop numbers a delivery slip.
    pub delivery: bool,
}

impl OrderState {
    /// Reads an `order_states` entity.
    pub fn from_value(value: &Value) -> Result<OrderState, String> {
        let field = |name: &str| value.get(name).map(body::text).unwrap_or_default();
        let flag = |name: &str| field(name).trim() == "1";
        let id = field("id")
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("order state id `{}` is not a number", field("id")))?;
        Ok(OrderState {
            id,
            name: value
                .get("name")
                .map(body::language_text)
                .unwrap_or_default()
                .trim()
                .to_string(),
            module_name: field("module_name").trim().to_string(),
            paid: flag("paid"),
            invoice: flag("invoice"),
            logable: flag("logable"),
            shipped: flag("shipped"),
            delivery: flag("delivery"),
        })
    }

    /// A state the shop does not (or no longer) lists, known only by its id; `0` is an order
    /// that never got a state. It has no flags, so no trigger on flags fires for it.
    pub(crate) fn unknown(id: u64) -> OrderState {
        OrderState {
            id,
            name: if id == 0 {
                "none".into()
            } else {
                format!("state {id}")
            },
            module_name: String::new(),
            paid: false,
            invoice: false,
            logable: false,
            shipped: false,
            delivery: false,
        }
    }

    /// The flags that are set, in a fixed order (`paid,invoice,logable,shipped,delivery`).
    pub fn flags(&self) -> Vec<&'static str> {
        [
            ("paid", self.paid),
            ("invoice", self.invoice),
            ("logable", self.logable),
            ("shipped", self.shipped),
            ("delivery", self.delivery),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    /// The name as a status slug: lower case, words joined by `-` ("Payment accepted" →
    /// `payment-accepted`); letters outside ASCII are kept.
    pub fn slug(&self) -> String {
        let lower = self.name.to_lowercase();
        let slug = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if slug.is_empty() {
            format!("state-{}", self.id)
        } else {
            slug
        }
    }
}

/// The product each order detail sells, by detail id: a line's category is its product's.
pub fn line_products(bundle: &OrderBundle) -> BTreeMap<String, u64> {
    bundle
        .details
        .iter()
        .filter_map(|detail| {
            let id = body::text(detail.get("id")?);
            let product = body::text(detail.get("product_id")?)
                .trim()
                .parse::<u64>()
                .ok()?;
            (product != 0).then(|| (id.trim().to_string(), product))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str) -> OrderState {
        OrderState {
            name: name.into(),
            ..OrderState::unknown(3)
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(state("Payment accepted").slug(), "payment-accepted");
        assert_eq!(state("On backorder (paid)").slug(), "on-backorder-paid");
        assert_eq!(state("Paiement accepté").slug(), "paiement-accepté");
        assert_eq!(state(" ").slug(), "state-3");
        assert_eq!(OrderState::unknown(0).slug(), "none");
    }

    #[test]
    fn flags_in_a_fixed_order() {
        let state = OrderState {
            delivery: true,
            paid: true,
            logable: true,
            ..OrderState::unknown(4)
        };
        assert_eq!(state.flags().join(","), "paid,logable,delivery");
        assert!(OrderState::unknown(4).flags().is_empty());
    }
}
