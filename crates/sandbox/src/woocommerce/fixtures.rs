//! The seeded shop (tax table, catalogue) and a deterministic mix of realistic orders.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::model::{Product, TaxRate};
use super::spec::{
    AddressSpec, CouponSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, RefundSpec, ShippingSpec,
};
use super::WooSandbox;

/// (country, rate %, name, class, applies to shipping). Names follow the local abbreviation,
/// so rate codes read `NL-BTW-1`, `DE-MWST-1`; a country's classes share the name (and thus the
/// rate code), as in most real shops — `rate_id` is what tells them apart.
const TAX_RATES: [(&str, &str, &str, &str, bool); 15] = [
    ("NL", "21", "BTW", "standard", true),
    ("NL", "9", "BTW", "reduced-rate", false),
    ("NL", "0", "BTW", "zero-rate", false),
    ("BE", "21", "BTW", "standard", true),
    ("BE", "6", "BTW", "reduced-rate", false),
    ("DE", "19", "MwSt", "standard", true),
    ("DE", "7", "MwSt", "reduced-rate", false),
    ("FR", "20", "TVA", "standard", true),
    ("FR", "5.5", "TVA", "reduced-rate", false),
    ("AT", "20", "USt", "standard", true),
    ("AT", "10", "USt", "reduced-rate", false),
    ("ES", "21", "IVA", "standard", true),
    ("ES", "10", "IVA", "reduced-rate", false),
    ("IT", "22", "IVA", "standard", true),
    ("IT", "10", "IVA", "reduced-rate", false),
];

pub(crate) fn seed_tax_rates() -> Vec<TaxRate> {
    TAX_RATES
        .iter()
        .zip(1u64..)
        .map(|(&(country, rate, name, class, shipping), id)| TaxRate {
            id,
            country: country.to_string(),
            rate: dec(rate),
            name: name.to_string(),
            priority: 1,
            shipping,
            order: id as u32,
            class: class.to_string(),
        })
        .collect()
}

/// (id, name, sku, net price, tax class, category, virtual).
type ProductRow = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    (u64, &'static str, &'static str),
    bool,
);

const COFFEE: (u64, &str, &str) = (15, "Coffee", "coffee");
const TEA: (u64, &str, &str) = (16, "Tea", "tea");
const SNACKS: (u64, &str, &str) = (17, "Snacks", "snacks");
const GEAR: (u64, &str, &str) = (18, "Equipment", "equipment");
const COURSES: (u64, &str, &str) = (19, "Courses", "courses");
const GIFTS: (u64, &str, &str) = (20, "Gift cards", "gift-cards");

const PRODUCTS: [ProductRow; 20] = [
    (
        11,
        "Espresso Beans 1 kg",
        "KOF-ESP-1000",
        "18.50",
        "reduced-rate",
        COFFEE,
        false,
    ),
    (
        12,
        "Filter Coffee 500 g",
        "KOF-FIL-0500",
        "8.95",
        "reduced-rate",
        COFFEE,
        false,
    ),
    (
        13,
        "Decaf Beans 250 g",
        "KOF-DEC-0250",
        "6.45",
        "reduced-rate",
        COFFEE,
        false,
    ),
    (
        14,
        "Green Tea Sencha 100 g",
        "TEA-SEN-0100",
        "7.25",
        "reduced-rate",
        TEA,
        false,
    ),
    (
        15,
        "Tea Sampler (12 kinds)",
        "TEA-SMP-0012",
        "12.35",
        "reduced-rate",
        TEA,
        false,
    ),
    (
        16,
        "Stroopwafels (8 pcs)",
        "SNK-STR-0008",
        "3.49",
        "reduced-rate",
        SNACKS,
        false,
    ),
    (17, "Ceramic Mug", "MUG-CER-0001", "7.95", "", GEAR, false),
    (
        18,
        "Burr Grinder Pro",
        "GRD-PRO-0001",
        "189.00",
        "",
        GEAR,
        false,
    ),
    (
        19,
        "Milk Jug 350 ml",
        "JUG-MLK-0350",
        "14.95",
        "",
        GEAR,
        false,
    ),
    (
        20,
        "Pour-over Dripper",
        "DRP-V60-0002",
        "21.50",
        "",
        GEAR,
        false,
    ),
    (
        21,
        "Paper Filters (100)",
        "FLT-PAP-0100",
        "3.333",
        "",
        GEAR,
        false,
    ),
    (
        22,
        "Descaler 250 ml",
        "CLN-DSC-0250",
        "6.499",
        "",
        GEAR,
        false,
    ),
    (
        23,
        "Espresso Machine Duo",
        "MCH-ESP-0002",
        "649.00",
        "",
        GEAR,
        false,
    ),
    (
        24,
        "Glass Carafe 1 l",
        "CRF-GLS-1000",
        "24.95",
        "",
        GEAR,
        false,
    ),
    (25, "Tamper 58 mm", "TMP-058-0001", "29.90", "", GEAR, false),
    (26, "Knock Box", "KNB-BOX-0001", "19.95", "", GEAR, false),
    (
        27,
        "Cleaning Brush Set",
        "BRS-SET-0003",
        "9.99",
        "",
        GEAR,
        false,
    ),
    (
        28,
        "Barista Course (online)",
        "CRS-BAR-ONLN",
        "49.00",
        "",
        COURSES,
        true,
    ),
    (
        29,
        "Gift Card 25",
        "GFT-CRD-0025",
        "25.00",
        "zero-rate",
        GIFTS,
        true,
    ),
    (
        30,
        "Travel Tumbler",
        "TMB-TRV-0350",
        "17.95",
        "",
        GEAR,
        false,
    ),
];

pub(crate) fn seed_products(at: DateTime<Utc>) -> Vec<Product> {
    PRODUCTS
        .iter()
        .map(
            |&(id, name, sku, price, class, category, is_virtual)| Product {
                id,
                name: name.to_string(),
                sku: sku.to_string(),
                price: dec(price),
                tax_class: class.to_string(),
                category,
                is_virtual,
                date_created: at + Duration::minutes(id as i64),
            },
        )
        .collect()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("fixture decimals are valid")
}

/// The seeded rate (percent) for a country and tax class; 0 where the shop has none.
fn seeded_rate(country: &str, class: &str) -> Decimal {
    let class = if class.is_empty() { "standard" } else { class };
    TAX_RATES
        .iter()
        .find(|(c, _, _, k, _)| *c == country && *k == class)
        .map_or(Decimal::ZERO, |(_, rate, _, _, _)| dec(rate))
}

/// Catalogue lines taxed at the tax country's rates, or at 0 % when `taxed` is false
/// (VAT-exempt B2B, exports).
fn lines(country: &str, taxed: bool, items: &[(u64, u32)]) -> Vec<LineSpec> {
    items
        .iter()
        .map(|&(id, quantity)| {
            let (_, name, sku, price, class, _, _) = PRODUCTS
                .iter()
                .find(|p| p.0 == id)
                .copied()
                .expect("fixture products exist");
            LineSpec {
                product_id: id,
                variation_id: 0,
                name: name.to_string(),
                sku: sku.to_string(),
                quantity,
                unit_price: dec(price),
                tax_rate: if taxed {
                    seeded_rate(country, class)
                } else {
                    Decimal::ZERO
                },
                tax_class: class.to_string(),
            }
        })
        .collect()
}

fn shipping(title: &str, total: &str, tax_rate: Decimal) -> Option<ShippingSpec> {
    Some(ShippingSpec {
        method_title: title.to_string(),
        method_id: if total == "0" {
            "free_shipping"
        } else {
            "flat_rate"
        }
        .to_string(),
        total: dec(total),
        tax_rate,
    })
}

struct Who {
    id: u64,
    first: &'static str,
    last: &'static str,
    company: &'static str,
    email: &'static str,
    phone: &'static str,
    street: &'static str,
    postcode: &'static str,
    city: &'static str,
    state: &'static str,
    country: &'static str,
}

fn order(who: Who, status: &str, payment: (&str, &str, &str)) -> OrderSpec {
    OrderSpec {
        status: status.to_string(),
        customer: CustomerSpec {
            customer_id: who.id,
            first_name: who.first.to_string(),
            last_name: who.last.to_string(),
            company: who.company.to_string(),
            email: who.email.to_string(),
            phone: who.phone.to_string(),
        },
        billing: AddressSpec {
            address_1: who.street.to_string(),
            address_2: String::new(),
            city: who.city.to_string(),
            state: who.state.to_string(),
            postcode: who.postcode.to_string(),
            country: who.country.to_string(),
        },
        payment_method: payment.0.to_string(),
        payment_method_title: payment.1.to_string(),
        transaction_id: payment.2.to_string(),
        ..OrderSpec::default()
    }
}

/// Creates a realistic, deterministic mix of 15 orders and two refunds, and returns every
/// order as the API shows it afterwards:
///
/// 1. NL B2C, 9 % + 21 % lines, iDEAL, completed — later partly refunded (one mug, with tax).
/// 2. NL B2C from a shop entering prices incl. tax, PayPal payment fee, processing.
/// 3. NL B2B (VAT number, 21 % charged), bank transfer, processing.
/// 4. BE B2B with VAT number, reverse charge (no VAT), completed.
/// 5. DE B2B with VAT number, reverse charge, Stripe, processing.
/// 6. DE B2C at German rates (OSS), completed — later an amount-only refund of 5.00.
/// 7. FR B2C at French rates (20 % / 5.5 %), processing.
/// 8. – 10. Exports to NO, US, CH without VAT.
/// 11. NL at the custom status `in-production`, with coupon WELCOME10.
/// 12. NL `pending` (unpaid bank transfer).
/// 13. NL with 3-decimal unit prices and a negative fee (loyalty discount).
/// 14. NL with 20 lines (incl. a 0 % gift card), completed.
/// 15. NL `on-hold`.
pub fn demo_mix(shop: &WooSandbox) -> Vec<Value> {
    let ideal = ("mollie_wc_gateway_ideal", "iDEAL", "tr_WDqYK6vllg");
    let paypal = ("paypal", "PayPal", "8AB12345CD678901E");
    let stripe = (
        "stripe",
        "Credit card (Stripe)",
        "pi_3OqXbN2eZvKYlo2C1FOzDx4w",
    );
    let bank = ("bacs", "Direct bank transfer", "");
    let nl21 = dec("21");
    let zero = Decimal::ZERO;

    let mut specs = Vec::new();

    let mut o = order(
        Who {
            id: 0,
            first: "Sanne",
            last: "de Vries",
            company: "",
            email: "sanne.devries@example.nl",
            phone: "+31 6 12345678",
            street: "Oudegracht 112",
            postcode: "3511 AV",
            city: "Utrecht",
            state: "",
            country: "NL",
        },
        "completed",
        ideal,
    );
    o.lines = lines("NL", true, &[(11, 2), (17, 2)]);
    o.shipping_line = shipping("PostNL", "4.95", nl21);
    specs.push(o);

    let mut o = order(
        Who {
            id: 2,
            first: "Daan",
            last: "Jansen",
            company: "",
            email: "daan.jansen@example.nl",
            phone: "+31 6 23456789",
            street: "Prinsengracht 263",
            postcode: "1016 GV",
            city: "Amsterdam",
            state: "",
            country: "NL",
        },
        "processing",
        paypal,
    );
    o.prices_include_tax = true;
    o.lines = lines("NL", true, &[(12, 3), (16, 2), (19, 1)]);
    o.shipping_line = shipping("PostNL", "4.13", nl21);
    o.fees = vec![FeeSpec {
        name: "Payment fee PayPal".to_string(),
        total: dec("0.29"),
        tax_rate: nl21,
        tax_class: String::new(),
    }];
    specs.push(o);

    let mut o = order(
        Who {
            id: 3,
            first: "Pieter",
            last: "Bakker",
            company: "Koffiebar De Boon B.V.",
            email: "inkoop@koffiebar-deboon.example.nl",
            phone: "+31 10 4123456",
            street: "Witte de Withstraat 50",
            postcode: "3012 BR",
            city: "Rotterdam",
            state: "",
            country: "NL",
        },
        "processing",
        bank,
    );
    o.vat_number = Some("NL859048123B01".to_string());
    o.lines = lines("NL", true, &[(18, 1), (25, 2), (24, 2)]);
    o.shipping_line = shipping("DHL Parcel", "6.95", nl21);
    o.customer_note = "Graag leveren tussen 9 en 12 uur.".to_string();
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Jan",
            last: "Peeters",
            company: "Brasserie Het Anker BV",
            email: "jan@hetanker.example.be",
            phone: "+32 15 123456",
            street: "Guido Gezellelaan 49",
            postcode: "2800",
            city: "Mechelen",
            state: "",
            country: "BE",
        },
        "completed",
        bank,
    );
    o.vat_number = Some("BE0123456749".to_string());
    o.lines = lines("BE", false, &[(23, 1), (25, 1)]);
    o.shipping_line = shipping("DHL Parcel", "12.50", zero);
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Jürgen",
            last: "Müller",
            company: "Rösterei Müller GmbH",
            email: "einkauf@roesterei-mueller.example.de",
            phone: "+49 40 1234567",
            street: "Schanzenstraße 12",
            postcode: "20357",
            city: "Hamburg",
            state: "",
            country: "DE",
        },
        "processing",
        stripe,
    );
    o.vat_number = Some("DE123456788".to_string());
    o.lines = lines("DE", false, &[(11, 10), (12, 10)]);
    o.shipping_line = shipping("DHL", "9.95", zero);
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Lena",
            last: "Schmidt",
            company: "",
            email: "lena.schmidt@example.de",
            phone: "+49 221 987654",
            street: "Ehrenstraße 7",
            postcode: "50672",
            city: "Köln",
            state: "",
            country: "DE",
        },
        "completed",
        paypal,
    );
    o.lines = lines("DE", true, &[(20, 1), (14, 2)]);
    o.shipping_line = shipping("DHL", "7.95", dec("19"));
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Camille",
            last: "Dubois",
            company: "",
            email: "camille.dubois@example.fr",
            phone: "+33 4 78 12 34 56",
            street: "12 Rue de la République",
            postcode: "69002",
            city: "Lyon",
            state: "",
            country: "FR",
        },
        "processing",
        stripe,
    );
    o.lines = lines("FR", true, &[(24, 1), (15, 1)]);
    o.shipping_line = shipping("Colissimo", "9.95", dec("20"));
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Ingrid",
            last: "Hansen",
            company: "",
            email: "ingrid.hansen@example.no",
            phone: "+47 22 123456",
            street: "Karl Johans gate 22",
            postcode: "0159",
            city: "Oslo",
            state: "",
            country: "NO",
        },
        "completed",
        stripe,
    );
    o.lines = lines("NO", false, &[(18, 1)]);
    o.shipping_line = shipping("DHL Express", "24.95", zero);
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Michael",
            last: "Johnson",
            company: "",
            email: "m.johnson@example.com",
            phone: "+1 503 555 0142",
            street: "1020 SW Taylor St",
            postcode: "97205",
            city: "Portland",
            state: "OR",
            country: "US",
        },
        "processing",
        paypal,
    );
    o.lines = lines("US", false, &[(23, 1), (26, 1)]);
    o.shipping_line = shipping("DHL Express", "49.00", zero);
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Lukas",
            last: "Meier",
            company: "",
            email: "lukas.meier@example.ch",
            phone: "+41 44 123 45 67",
            street: "Langstrasse 88",
            postcode: "8004",
            city: "Zürich",
            state: "ZH",
            country: "CH",
        },
        "processing",
        bank,
    );
    o.lines = lines("CH", false, &[(11, 4), (17, 4)]);
    o.shipping_line = shipping("PostNL International", "19.95", zero);
    specs.push(o);

    let mut o = order(
        Who {
            id: 4,
            first: "Fleur",
            last: "Visser",
            company: "",
            email: "fleur.visser@example.nl",
            phone: "+31 6 34567890",
            street: "Lange Voorhout 9",
            postcode: "2514 EA",
            city: "Den Haag",
            state: "",
            country: "NL",
        },
        "in-production",
        ideal,
    );
    o.lines = lines("NL", true, &[(28, 1), (20, 1), (13, 2)]);
    o.coupons = vec![CouponSpec {
        code: "welcome10".to_string(),
        amount: dec("10.00"),
    }];
    o.shipping_line = shipping("PostNL", "4.95", nl21);
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Thomas",
            last: "Mulder",
            company: "",
            email: "thomas.mulder@example.nl",
            phone: "+31 50 3123456",
            street: "Vismarkt 3",
            postcode: "9712 CA",
            city: "Groningen",
            state: "",
            country: "NL",
        },
        "pending",
        bank,
    );
    o.lines = lines("NL", true, &[(23, 1)]);
    o.shipping_line = shipping("Free shipping", "0", zero);
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Emma",
            last: "Smit",
            company: "",
            email: "emma.smit@example.nl",
            phone: "+31 40 2123456",
            street: "Stratumseind 21",
            postcode: "5611 EN",
            city: "Eindhoven",
            state: "",
            country: "NL",
        },
        "completed",
        ideal,
    );
    o.lines = lines("NL", true, &[(21, 3), (22, 2), (27, 1)]);
    o.shipping_line = shipping("PostNL", "4.95", nl21);
    o.fees = vec![FeeSpec {
        name: "Loyalty discount".to_string(),
        total: dec("-2.50"),
        tax_rate: nl21,
        tax_class: String::new(),
    }];
    specs.push(o);

    let mut o = order(
        Who {
            id: 5,
            first: "Lisa",
            last: "de Boer",
            company: "",
            email: "lisa.deboer@example.nl",
            phone: "+31 23 5123456",
            street: "Grote Markt 2",
            postcode: "2011 RD",
            city: "Haarlem",
            state: "",
            country: "NL",
        },
        "completed",
        ideal,
    );
    let all: Vec<(u64, u32)> = (11u64..=30).map(|id| (id, 1 + (id % 3) as u32)).collect();
    o.lines = lines("NL", true, &all);
    o.shipping_line = shipping("Free shipping", "0", zero);
    specs.push(o);

    let mut o = order(
        Who {
            id: 0,
            first: "Jeroen",
            last: "Vos",
            company: "",
            email: "jeroen.vos@example.nl",
            phone: "+31 24 3123456",
            street: "Molenstraat 40",
            postcode: "6511 HJ",
            city: "Nijmegen",
            state: "",
            country: "NL",
        },
        "on-hold",
        bank,
    );
    o.lines = lines("NL", true, &[(17, 6)]);
    o.shipping_line = shipping("PostNL", "4.95", nl21);
    specs.push(o);

    let ids: Vec<u64> = specs
        .into_iter()
        .filter_map(|spec| shop.create_order(spec)["id"].as_u64())
        .collect();

    // A partial refund of one mug (with its tax) on the first order...
    if let Some(&first) = ids.first() {
        let mug = shop.order(first).and_then(|o| {
            o["line_items"]
                .as_array()?
                .iter()
                .find(|l| l["product_id"] == 17)?["id"]
                .as_u64()
        });
        if let Some(mug) = mug {
            shop.refund(
                first,
                RefundSpec {
                    amount: None,
                    lines: vec![(mug, 1)],
                    reason: "Mug arrived broken".to_string(),
                    refund_shipping: false,
                },
            );
        }
    }
    // ...and an amount-only goodwill refund on the German B2C order.
    if let Some(&german) = ids.get(5) {
        shop.refund(
            german,
            RefundSpec {
                amount: Some(dec("5.00")),
                lines: Vec::new(),
                reason: "Goodwill: late delivery".to_string(),
                refund_shipping: false,
            },
        );
    }
    ids.iter().filter_map(|id| shop.order(*id)).collect()
}
