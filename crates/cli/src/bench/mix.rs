//! The seeded order mix the benchmarks book: a webshop's ordinary day. Three in ten orders come
//! from a customer the shop has not sold to before, one in five customers is a business, one
//! order in ten has 20 lines, one in twenty is refunded in full, and the private customers are
//! spread over the Netherlands and two OSS countries. The same seed gives the same orders.

use ledgerlink_sandbox::woocommerce::{
    AddressSpec, CustomerSpec, LineSpec, OrderSpec, RefundSpec, ShippingSpec, WooSandbox,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::Serialize;

pub const NEW_CUSTOMER_SHARE: f64 = 0.3;
pub const BUSINESS_SHARE: f64 = 0.2;
pub const LARGE_ORDER_SHARE: f64 = 0.1;
pub const REFUND_SHARE: f64 = 0.05;
/// Lines of a large order.
pub const LARGE_ORDER_LINES: usize = 20;

/// What a mix holds, for the report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MixCounts {
    pub orders: usize,
    pub new_customers: usize,
    pub business_orders: usize,
    pub large_orders: usize,
    pub refunds: usize,
}

#[derive(Clone)]
struct Buyer {
    customer: CustomerSpec,
    address: AddressSpec,
    /// The rate the shop charges this buyer (the destination's under OSS).
    rate: Decimal,
}

/// One order of the mix and whether it is refunded.
pub struct MixOrder {
    pub spec: OrderSpec,
    pub refunded: bool,
}

/// `count` orders, placed two to four days ago (so that a daily summary's day has closed).
pub fn orders(seed: u64, count: usize) -> (Vec<MixOrder>, MixCounts) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut buyers: Vec<Buyer> = Vec::new();
    let mut counts = MixCounts {
        orders: count,
        ..MixCounts::default()
    };
    let now = chrono::Utc::now();
    let mut orders = Vec::with_capacity(count);
    for n in 0..count {
        let buyer = if buyers.is_empty() || rng.gen_bool(NEW_CUSTOMER_SHARE) {
            counts.new_customers += 1;
            buyers.push(new_buyer(&mut rng, buyers.len()));
            buyers.last().cloned()
        } else {
            buyers.get(rng.gen_range(0..buyers.len())).cloned()
        }
        .expect("a buyer");
        if !buyer.customer.company.is_empty() {
            counts.business_orders += 1;
        }
        let large = rng.gen_bool(LARGE_ORDER_SHARE);
        counts.large_orders += usize::from(large);
        let line_count = if large {
            LARGE_ORDER_LINES
        } else {
            rng.gen_range(1..=3)
        };
        let lines = lines(&mut rng, line_count, n, buyer.rate);
        let refunded = rng.gen_bool(REFUND_SHARE);
        counts.refunds += usize::from(refunded);
        let minutes_ago = rng.gen_range(2 * 24 * 60..4 * 24 * 60);
        orders.push(MixOrder {
            spec: OrderSpec {
                date_created: Some(now - chrono::Duration::minutes(minutes_ago)),
                customer: buyer.customer,
                billing: buyer.address,
                lines,
                shipping_line: Some(shipping(buyer.rate)),
                ..OrderSpec::default()
            },
            refunded,
        });
    }
    (orders, counts)
}

fn new_buyer(rng: &mut StdRng, n: usize) -> Buyer {
    let business = rng.gen_bool(BUSINESS_SHARE);
    // Businesses are Dutch (domestic VAT); consumers also buy from Belgium and Germany (OSS).
    let (country, city, postcode, rate) = match (business, rng.gen_range(0..10)) {
        (false, 0) => ("BE", "Antwerpen", "2000", Decimal::from(21)),
        (false, 1) => ("DE", "Köln", "50667", Decimal::from(19)),
        _ => ("NL", "Utrecht", "3511 AB", Decimal::from(21)),
    };
    Buyer {
        customer: CustomerSpec {
            first_name: format!("Klant{n}"),
            last_name: "Jansen".into(),
            company: if business {
                format!("Jansen Handel {n} BV")
            } else {
                String::new()
            },
            email: format!("klant{n}@example.nl"),
            ..CustomerSpec::default()
        },
        address: AddressSpec {
            address_1: format!("Oudegracht {}", n % 400 + 1),
            city: city.into(),
            postcode: postcode.into(),
            country: country.into(),
            ..AddressSpec::default()
        },
        rate,
    }
}

/// Creates the orders in the shop and refunds those the mix refunds; returns the order ids.
pub fn place(shop: &WooSandbox, orders: Vec<MixOrder>) -> Vec<u64> {
    let mut ids = Vec::with_capacity(orders.len());
    for order in orders {
        let created = shop.create_order(order.spec);
        let id = created["id"].as_u64().expect("the shop numbers its orders");
        if order.refunded {
            shop.refund(
                id,
                RefundSpec {
                    amount: created["total"].as_str().and_then(|t| t.parse().ok()),
                    reason: "Returned".into(),
                    ..RefundSpec::default()
                },
            );
        }
        ids.push(id);
    }
    ids
}

/// A Dutch consumer's order of `lines` lines with shipping, for measuring one order at a time.
pub fn single_order(lines: usize) -> OrderSpec {
    let mut rng = StdRng::seed_from_u64(lines as u64);
    let rate = Decimal::from(21);
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Noor".into(),
            last_name: "Visser".into(),
            email: "noor.visser@example.nl".into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Lange Nieuwstraat 2".into(),
            city: "Utrecht".into(),
            postcode: "3512 PH".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: self::lines(&mut rng, lines, 0, rate),
        shipping_line: Some(shipping(rate)),
        ..OrderSpec::default()
    }
}

/// `count` articles from the shop's catalogue of 97, starting at `first`.
fn lines(rng: &mut StdRng, count: usize, first: usize, rate: Decimal) -> Vec<LineSpec> {
    (0..count)
        .map(|l| LineSpec {
            name: format!("Article {}", (first + l) % 97),
            sku: format!("ART-{:03}", (first + l) % 97),
            quantity: rng.gen_range(1..=4),
            unit_price: Decimal::new(rng.gen_range(195..12_000), 2),
            tax_rate: rate,
            ..LineSpec::default()
        })
        .collect()
}

fn shipping(rate: Decimal) -> ShippingSpec {
    ShippingSpec {
        total: Decimal::new(495, 2),
        tax_rate: rate,
        ..ShippingSpec::default()
    }
}
