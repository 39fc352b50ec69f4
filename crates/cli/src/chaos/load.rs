//! The chaos run's orders: a seeded mix of what shops really send — domestic and EU sales to
//! consumers and businesses, exports, refunds, status changes — with the inputs that break
//! naive connectors mixed in: unicode names, prices with three decimals, zero-amount lines and
//! one order of a thousand lines.

use ledgerlink_sandbox::woocommerce::{AddressSpec, CustomerSpec, LineSpec, OrderSpec};
use rand::rngs::StdRng;
use rand::Rng;
use rust_decimal::Decimal;

/// How an order moves after it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Paid at once.
    Paid,
    /// Pending first, paid later.
    PaidLater,
    /// Pending, then cancelled: never booked.
    Cancelled,
}

pub struct PlannedOrder {
    pub spec: OrderSpec,
    pub fate: Fate,
    /// Refund part of it once it is paid.
    pub refund: bool,
}

fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn address(country: &str, postcode: &str, city: &str) -> AddressSpec {
    AddressSpec {
        address_1: "Hoofdstraat 1".into(),
        city: city.into(),
        postcode: postcode.into(),
        country: country.into(),
        ..AddressSpec::default()
    }
}

fn line(name: &str, quantity: u32, unit_price: Decimal, rate: u32) -> LineSpec {
    LineSpec {
        name: name.into(),
        quantity,
        unit_price,
        tax_rate: Decimal::from(rate),
        tax_class: if rate == 9 || rate == 7 || rate == 6 || rate == 10 {
            "reduced-rate".into()
        } else {
            String::new()
        },
        ..LineSpec::default()
    }
}

/// The `n`-th order of the run.
pub fn order(rng: &mut StdRng, n: usize, thousand_lines: bool) -> PlannedOrder {
    let email = format!("klant{n}@example.nl");
    let customer = |first: &str, last: &str, company: &str| CustomerSpec {
        first_name: first.into(),
        last_name: last.into(),
        company: company.into(),
        email: email.clone(),
        ..CustomerSpec::default()
    };
    let kind = rng.gen_range(0..100);
    let price = money(rng.gen_range(100..20_000));
    let mut spec = if thousand_lines {
        OrderSpec {
            customer: customer("Grote", "Bestelling", ""),
            billing: address("NL", "1011 AA", "Amsterdam"),
            lines: (0..1000)
                .map(|i| line(&format!("Onderdeel {i}"), 1, money(100 + i), 21))
                .collect(),
            ..OrderSpec::default()
        }
    } else if kind < 35 {
        OrderSpec {
            customer: customer("Jan", "de Vries", ""),
            billing: address("NL", "3511 AA", "Utrecht"),
            lines: vec![line("Mok", 2, price, 21), line("Boek", 1, money(1_495), 9)],
            ..OrderSpec::default()
        }
    } else if kind < 45 {
        OrderSpec {
            customer: customer("Pieter", "Bakker", "Bakkerij Bakker BV"),
            billing: address("NL", "2511 AA", "Den Haag"),
            lines: vec![line("Meel 25 kg", 4, price, 9)],
            ..OrderSpec::default()
        }
    } else if kind < 55 {
        OrderSpec {
            customer: customer("Lotte", "Peeters", "Brouwerij Peeters BV"),
            billing: address("BE", "2000", "Antwerpen"),
            vat_number: Some("BE0477472701".into()),
            lines: vec![line("Fust", 3, price, 0)],
            ..OrderSpec::default()
        }
    } else if kind < 70 {
        let (country, postcode, city, rate) = [
            ("DE", "10115", "Berlin", 19),
            ("FR", "75001", "Paris", 20),
            ("BE", "1000", "Brussel", 21),
        ][rng.gen_range(0..3)];
        OrderSpec {
            customer: customer("Lena", "Schmidt", ""),
            billing: address(country, postcode, city),
            lines: vec![line("Kaars", 1, price, rate)],
            ..OrderSpec::default()
        }
    } else if kind < 80 {
        OrderSpec {
            customer: customer("John", "Smith", ""),
            billing: address("US", "10001", "New York"),
            lines: vec![line("Poster", 1, price, 0)],
            ..OrderSpec::default()
        }
    } else {
        // The inputs that break naive connectors.
        OrderSpec {
            customer: customer("Zoë", "Ångström-Łukasiewicz 🚲", "Café „Ümlaut“ & Co"),
            billing: address("NL", "9711 AA", "Groningen"),
            lines: vec![
                line("Ｆｕｌｌｗｉｄｔｈ 名前", 3, Decimal::new(3_333, 3), 21),
                line("Gratis monster", 1, Decimal::ZERO, 21),
                line("Thee\u{200b}zakjes", 7, Decimal::new(1_999, 3), 9),
            ],
            ..OrderSpec::default()
        }
    };
    let fate = match rng.gen_range(0..100) {
        0..=79 => Fate::Paid,
        80..=89 => Fate::PaidLater,
        _ => Fate::Cancelled,
    };
    spec.status = match fate {
        Fate::Paid => "processing".into(),
        Fate::PaidLater | Fate::Cancelled => "pending".into(),
    };
    PlannedOrder {
        spec,
        fate,
        refund: fate != Fate::Cancelled && !thousand_lines && rng.gen_bool(0.08),
    }
}
