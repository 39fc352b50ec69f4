//! A deterministic mix of realistic orders, as a Dutch shop selling across the EU and beyond
//! has them.

use super::seed::dec;
use super::spec::{
    AddressSpec, CarrierSpec, CustomerSpec, DiscountSpec, LineSpec, OrderSpec, SlipLine, SlipSpec,
    StateFlags,
};
use super::PrestaSandbox;

const POSTNL: u64 = 2;
const DHL_PARCEL: u64 = 3;
const DHL_EXPRESS: u64 = 4;
const COLISSIMO: u64 = 5;

const PAYMENT_ACCEPTED: u64 = 2;
const PROCESSING: u64 = 3;
const SHIPPED: u64 = 4;
const DELIVERED: u64 = 5;
const CANCELED: u64 = 6;
const AWAITING_BANK_WIRE: u64 = 10;
const AWAITING_CHECK: u64 = 1;

/// Catalogue lines; prices and taxes come from the shop (catalogue and tax rules).
fn lines(items: &[(u64, u32)]) -> Vec<LineSpec> {
    items
        .iter()
        .map(|&(product_id, quantity)| LineSpec {
            product_id,
            quantity,
            ..LineSpec::default()
        })
        .collect()
}

fn carrier(carrier_id: u64, price: &str) -> Option<CarrierSpec> {
    Some(CarrierSpec {
        carrier_id,
        price_tax_excl: dec(price),
        tax_rate: None,
    })
}

struct Who {
    first: &'static str,
    last: &'static str,
    email: &'static str,
    company: &'static str,
    street: &'static str,
    postcode: &'static str,
    city: &'static str,
    country: &'static str,
    phone: &'static str,
}

fn address(who: &Who) -> AddressSpec {
    AddressSpec {
        company: who.company.to_string(),
        address1: who.street.to_string(),
        postcode: who.postcode.to_string(),
        city: who.city.to_string(),
        country: who.country.to_string(),
        phone: who.phone.to_string(),
        ..AddressSpec::default()
    }
}

fn order(who: Who, state_id: u64, payment: (&str, &str, &str)) -> OrderSpec {
    OrderSpec {
        state_id,
        customer: CustomerSpec {
            customer_id: 0,
            firstname: who.first.to_string(),
            lastname: who.last.to_string(),
            email: who.email.to_string(),
            company: who.company.to_string(),
            is_guest: false,
        },
        delivery: address(&who),
        payment: payment.0.to_string(),
        module: payment.1.to_string(),
        transaction_id: payment.2.to_string(),
        ..OrderSpec::default()
    }
}

/// Creates twelve orders (and, first, the Mollie module's "Partially refunded" state) and
/// returns their ids:
///
/// 1. NL B2C, 9 % and 21 % lines, iDEAL; paid, then shipped, then delivered.
/// 2. NL B2C with a 5.00 voucher, PayPal, processing.
/// 3. BE B2B: VAT number on the delivery address (head office invoiced elsewhere), so no VAT;
///    bank wire awaited, then paid.
/// 4. DE B2C at German rates (OSS, 19 % / 7 %), paid then shipped.
/// 5. FR B2C at French rates (20 % / 5.5 %) with gift wrapping, processing.
/// 6. NO export, no VAT.
/// 7. US export in USD (conversion rate 1.085), no VAT.
/// 8. NL B2C, paid; a credit slip for one broken mug, then the module state.
/// 9. NL awaiting bank wire (not valid, nothing paid, no invoice).
/// 10. NL awaiting check payment, then canceled.
/// 11. NL with 6-decimal catalogue prices (3.333333, 6.499) and an online course.
/// 12. NL B2B with a Dutch VAT number (domestic: VAT charged), paid then shipped.
pub fn demo_mix(shop: &PrestaSandbox) -> Vec<u64> {
    let ideal = ("iDEAL", "mollie", "tr_WDqYK6vllg");
    let paypal = ("PayPal", "ps_checkout", "8AB12345CD678901E");
    let card = (
        "Credit card",
        "stripe_official",
        "pi_3OqXbN2eZvKYlo2C1FOzDx4w",
    );
    let wire = ("Bank transfer", "ps_wirepayment", "");
    let check = ("Payments by check", "ps_checkpayment", "");

    let partially_refunded = shop.add_order_state(
        "Partially refunded (Mollie)",
        StateFlags {
            module_name: "mollie".to_string(),
            color: "#6F8C9F".to_string(),
            paid: true,
            invoice: true,
            logable: true,
            send_email: false,
            ..StateFlags::default()
        },
    );

    let mut specs: Vec<(OrderSpec, Vec<u64>)> = Vec::new();

    let mut o = order(
        Who {
            first: "Sanne",
            last: "de Vries",
            email: "sanne.devries@example.nl",
            company: "",
            street: "Oudegracht 112",
            postcode: "3511 AV",
            city: "Utrecht",
            country: "NL",
            phone: "+31 6 12345678",
        },
        PAYMENT_ACCEPTED,
        ideal,
    );
    o.lines = lines(&[(1, 2), (6, 2)]);
    o.carrier = carrier(POSTNL, "4.95");
    o.shipping_number = "3SDEVR0001234".to_string();
    specs.push((o, vec![SHIPPED, DELIVERED]));

    let mut o = order(
        Who {
            first: "Daan",
            last: "Jansen",
            email: "daan.jansen@example.nl",
            company: "",
            street: "Prinsengracht 263",
            postcode: "1016 GV",
            city: "Amsterdam",
            country: "NL",
            phone: "+31 6 23456789",
        },
        PROCESSING,
        paypal,
    );
    o.lines = lines(&[(2, 3), (5, 2), (8, 1)]);
    o.carrier = carrier(POSTNL, "4.95");
    o.discounts = vec![DiscountSpec {
        name: "WELCOME5".to_string(),
        amount_tax_incl: dec("5.00"),
        tax_rate: dec("21"),
    }];
    specs.push((o, Vec::new()));

    let mut o = order(
        Who {
            first: "Jan",
            last: "Peeters",
            email: "jan@hetanker.example.be",
            company: "Brasserie Het Anker BV",
            street: "Guido Gezellelaan 49",
            postcode: "2800",
            city: "Mechelen",
            country: "BE",
            phone: "+32 15 123456",
        },
        AWAITING_BANK_WIRE,
        wire,
    );
    o.delivery.vat_number = "BE0123456749".to_string();
    o.invoice = Some(AddressSpec {
        alias: "Head office".to_string(),
        company: "Brasserie Het Anker BV".to_string(),
        vat_number: "BE0123456749".to_string(),
        address1: "Meir 24".to_string(),
        postcode: "2000".to_string(),
        city: "Antwerpen".to_string(),
        country: "BE".to_string(),
        phone: "+32 3 2123456".to_string(),
        ..AddressSpec::default()
    });
    o.lines = lines(&[(11, 1), (12, 1)]);
    o.carrier = carrier(DHL_PARCEL, "12.50");
    specs.push((o, vec![PAYMENT_ACCEPTED]));

    let mut o = order(
        Who {
            first: "Lena",
            last: "Schmidt",
            email: "lena.schmidt@example.de",
            company: "",
            street: "Ehrenstraße 7",
            postcode: "50672",
            city: "Köln",
            country: "DE",
            phone: "+49 221 987654",
        },
        PAYMENT_ACCEPTED,
        paypal,
    );
    o.lines = lines(&[(9, 1), (4, 2)]);
    o.carrier = carrier(DHL_PARCEL, "7.95");
    o.shipping_number = "JJD000390007771234".to_string();
    specs.push((o, vec![SHIPPED]));

    let mut o = order(
        Who {
            first: "Camille",
            last: "Dubois",
            email: "camille.dubois@example.fr",
            company: "",
            street: "12 Rue de la République",
            postcode: "69002",
            city: "Lyon",
            country: "FR",
            phone: "+33 4 78 12 34 56",
        },
        PROCESSING,
        card,
    );
    o.lines = lines(&[(8, 1), (3, 2)]);
    o.carrier = carrier(COLISSIMO, "9.95");
    o.wrapping_tax_excl = dec("2.50");
    o.gift_message = "Joyeux anniversaire !".to_string();
    specs.push((o, Vec::new()));

    let mut o = order(
        Who {
            first: "Ingrid",
            last: "Hansen",
            email: "ingrid.hansen@example.no",
            company: "",
            street: "Karl Johans gate 22",
            postcode: "0159",
            city: "Oslo",
            country: "NO",
            phone: "+47 22 123456",
        },
        PAYMENT_ACCEPTED,
        card,
    );
    o.lines = lines(&[(7, 1)]);
    o.carrier = carrier(DHL_EXPRESS, "24.95");
    specs.push((o, Vec::new()));

    let mut o = order(
        Who {
            first: "Michael",
            last: "Johnson",
            email: "m.johnson@example.com",
            company: "",
            street: "1020 SW Taylor St",
            postcode: "97205",
            city: "Portland",
            country: "US",
            phone: "+1 503 555 0142",
        },
        PAYMENT_ACCEPTED,
        paypal,
    );
    o.currency = "USD".to_string();
    o.lines = lines(&[(11, 1), (6, 2)]);
    o.carrier = carrier(DHL_EXPRESS, "49.00");
    specs.push((o, Vec::new()));

    let mut o = order(
        Who {
            first: "Fleur",
            last: "Visser",
            email: "fleur.visser@example.nl",
            company: "",
            street: "Lange Voorhout 9",
            postcode: "2514 EA",
            city: "Den Haag",
            country: "NL",
            phone: "+31 6 34567890",
        },
        PAYMENT_ACCEPTED,
        ideal,
    );
    o.lines = lines(&[(1, 1), (6, 3), (10, 2)]);
    o.carrier = carrier(POSTNL, "4.95");
    specs.push((o, Vec::new()));

    let mut o = order(
        Who {
            first: "Thomas",
            last: "Mulder",
            email: "thomas.mulder@example.nl",
            company: "",
            street: "Vismarkt 3",
            postcode: "9712 CA",
            city: "Groningen",
            country: "NL",
            phone: "+31 50 3123456",
        },
        AWAITING_BANK_WIRE,
        wire,
    );
    o.lines = lines(&[(11, 1)]);
    o.carrier = carrier(POSTNL, "0");
    specs.push((o, Vec::new()));

    let mut o = order(
        Who {
            first: "Jeroen",
            last: "Vos",
            email: "jeroen.vos@example.nl",
            company: "",
            street: "Molenstraat 40",
            postcode: "6511 HJ",
            city: "Nijmegen",
            country: "NL",
            phone: "+31 24 3123456",
        },
        AWAITING_CHECK,
        check,
    );
    o.lines = lines(&[(6, 6)]);
    o.carrier = carrier(POSTNL, "4.95");
    specs.push((o, vec![CANCELED]));

    let mut o = order(
        Who {
            first: "Emma",
            last: "Smit",
            email: "emma.smit@example.nl",
            company: "",
            street: "Stratumseind 21",
            postcode: "5611 EN",
            city: "Eindhoven",
            country: "NL",
            phone: "+31 40 2123456",
        },
        PAYMENT_ACCEPTED,
        ideal,
    );
    o.lines = lines(&[(10, 3), (13, 2), (14, 1)]);
    o.carrier = carrier(POSTNL, "4.95");
    specs.push((o, Vec::new()));

    let mut o = order(
        Who {
            first: "Pieter",
            last: "Bakker",
            email: "inkoop@koffiebar-deboon.example.nl",
            company: "Koffiebar De Boon B.V.",
            street: "Witte de Withstraat 50",
            postcode: "3012 BR",
            city: "Rotterdam",
            country: "NL",
            phone: "+31 10 4123456",
        },
        PAYMENT_ACCEPTED,
        wire,
    );
    o.delivery.vat_number = "NL859048123B01".to_string();
    o.lines = lines(&[(7, 1), (12, 2), (1, 5)]);
    o.carrier = carrier(DHL_PARCEL, "6.95");
    o.note = "Graag leveren tussen 9 en 12 uur.".to_string();
    specs.push((o, vec![SHIPPED]));

    let mut ids = Vec::new();
    for (spec, later) in specs {
        let id = shop.create_order(spec);
        for state in later {
            if let Err(error) = shop.set_order_state(id, state) {
                tracing::warn!(id, state, %error, "demo order state change refused");
            }
        }
        ids.push(id);
    }

    // One mug of order 8 arrived broken: a partial refund, then Mollie's state.
    if let Some(&refunded) = ids.get(7) {
        shop.create_order_slip(
            refunded,
            SlipSpec {
                lines: vec![SlipLine {
                    product_id: 6,
                    quantity: 1,
                }],
                refund_shipping: false,
                amount: None,
            },
        );
        if let Err(error) = shop.set_order_state(refunded, partially_refunded) {
            tracing::warn!(refunded, %error, "demo order state change refused");
        }
    }
    ids
}
