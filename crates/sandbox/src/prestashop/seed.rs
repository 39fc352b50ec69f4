//! The data a freshly installed and configured shop has: one language, the countries it sells
//! to (with PrestaShop's own ids), EUR and USD, the Dutch/OSS tax table, the core order states
//! of PrestaShop 1.7/8 (ids 1–13), carriers and a small coffee catalogue.

use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::model::{Carrier, Country, Currency, OrderState, Product, Tax, TaxRule, TaxRuleGroup};

pub(crate) const SHOP_NAME: &str = "De Gouden Boon";
/// The shop's own country (NL): a VAT number on an address elsewhere makes the order exempt.
pub(crate) const SHOP_COUNTRY_ID: u64 = 13;
pub(crate) const SHOP_ADDRESS: &str =
    "De Gouden Boon B.V.<br />Keizersgracht 100<br />1015 CV Amsterdam<br />Netherlands";

pub(crate) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("seed decimals are valid")
}

/// When the shop was installed (fixed, so base data is the same in every run).
pub(crate) fn installed_at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2023, 1, 9)
        .and_then(|d| d.and_hms_opt(10, 12, 31))
        .expect("valid install date")
}

/// (id, ISO, name, zone, call prefix, contains states, zip format).
const COUNTRIES: [(u64, &str, &str, u64, u32, bool, &str); 17] = [
    (1, "DE", "Germany", 1, 49, false, "NNNNN"),
    (2, "AT", "Austria", 1, 43, false, "NNNN"),
    (3, "BE", "Belgium", 1, 32, false, "NNNN"),
    (4, "CA", "Canada", 2, 1, true, "LNL NLN"),
    (6, "ES", "Spain", 1, 34, false, "NNNNN"),
    (7, "FI", "Finland", 1, 358, false, "NNNNN"),
    (8, "FR", "France", 1, 33, false, "NNNNN"),
    (10, "IT", "Italy", 1, 39, true, "NNNNN"),
    (12, "LU", "Luxemburg", 1, 352, false, "NNNN"),
    (13, "NL", "Netherlands", 1, 31, false, "NNNN LL"),
    (14, "PL", "Poland", 1, 48, false, "NN-NNN"),
    (17, "GB", "United Kingdom", 7, 44, false, ""),
    (18, "SE", "Sweden", 1, 46, false, "NNN NN"),
    (19, "CH", "Switzerland", 7, 41, false, "NNNN"),
    (20, "DK", "Denmark", 1, 45, false, "NNNN"),
    (21, "US", "United States", 2, 1, true, "NNNNN"),
    (23, "NO", "Norway", 7, 47, false, "NNNN"),
];

pub(crate) fn countries() -> Vec<Country> {
    COUNTRIES
        .iter()
        .map(|&(id, iso, name, zone, prefix, states, zip)| Country {
            id,
            iso_code: iso.to_string(),
            name: name.to_string(),
            id_zone: zone,
            call_prefix: prefix,
            contains_states: states,
            zip_code_format: zip.to_string(),
        })
        .collect()
}

pub(crate) fn currencies() -> Vec<Currency> {
    vec![
        Currency {
            id: 1,
            name: "Euro".to_string(),
            symbol: "€".to_string(),
            iso_code: "EUR".to_string(),
            numeric_iso_code: "978".to_string(),
            conversion_rate: Decimal::ONE,
        },
        Currency {
            id: 2,
            name: "US Dollar".to_string(),
            symbol: "$".to_string(),
            iso_code: "USD".to_string(),
            numeric_iso_code: "840".to_string(),
            conversion_rate: dec("1.085"),
        },
    ]
}

/// (ISO, standard tax, reduced tax) per EU country the shop ships to under OSS.
const TAXES: [(&str, &str, &str, &str); 7] = [
    ("NL", "BTW", "21", "9"),
    ("BE", "BTW", "21", "6"),
    ("DE", "MwSt.", "19", "7"),
    ("FR", "TVA", "20", "5.5"),
    ("AT", "USt.", "20", "10"),
    ("ES", "IVA", "21", "10"),
    ("IT", "IVA", "22", "10"),
];

pub(crate) const STANDARD_GROUP: u64 = 1;
pub(crate) const REDUCED_GROUP: u64 = 2;

/// Taxes (ids 1–14, standard then reduced per country), the two OSS tax rules groups and one
/// rule per group and country.
pub(crate) fn tax_table(countries: &[Country]) -> (Vec<Tax>, Vec<TaxRuleGroup>, Vec<TaxRule>) {
    let mut taxes = Vec::new();
    let mut rules = Vec::new();
    for (iso, label, standard, reduced) in TAXES {
        let id_country = countries
            .iter()
            .find(|c| c.iso_code == iso)
            .map_or(0, |c| c.id);
        for (group, rate) in [(STANDARD_GROUP, standard), (REDUCED_GROUP, reduced)] {
            let id = taxes.len() as u64 + 1;
            taxes.push(Tax {
                id,
                name: format!("{label} {iso} {rate}%"),
                rate: dec(rate),
            });
            rules.push(TaxRule {
                id: rules.len() as u64 + 1,
                id_tax_rules_group: group,
                id_country,
                id_tax: id,
            });
        }
    }
    let groups = vec![
        TaxRuleGroup {
            id: STANDARD_GROUP,
            name: "EU Standard Rate (OSS)".to_string(),
        },
        TaxRuleGroup {
            id: REDUCED_GROUP,
            name: "EU Reduced Rate (OSS)".to_string(),
        },
    ];
    (taxes, groups, rules)
}

/// (id, name, template, module, color, flags: send_email, invoice, logable, shipped, paid,
/// delivery, pdf_invoice, pdf_delivery) — PrestaShop 1.7/8 core states.
type StateRow = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    [bool; 8],
);

const STATES: [StateRow; 13] = [
    (
        1,
        "Awaiting check payment",
        "cheque",
        "ps_checkpayment",
        "#4169E1",
        [true, false, false, false, false, false, false, false],
    ),
    (
        2,
        "Payment accepted",
        "payment",
        "",
        "#32CD32",
        [true, true, true, false, true, false, true, false],
    ),
    (
        3,
        "Processing in progress",
        "preparation",
        "",
        "#FF8C00",
        [true, true, true, false, true, true, false, false],
    ),
    (
        4,
        "Shipped",
        "shipped",
        "",
        "#8A2BE2",
        [true, true, true, true, true, true, false, false],
    ),
    (
        5,
        "Delivered",
        "",
        "",
        "#108510",
        [false, true, true, true, true, true, false, false],
    ),
    (
        6,
        "Canceled",
        "order_canceled",
        "",
        "#DC143C",
        [true, false, false, false, false, false, false, false],
    ),
    (
        7,
        "Refunded",
        "refund",
        "",
        "#ec2e15",
        [true, true, false, false, false, false, false, false],
    ),
    (
        8,
        "Payment error",
        "payment_error",
        "",
        "#8f0621",
        [true, false, false, false, false, false, false, false],
    ),
    (
        9,
        "On backorder (paid)",
        "outofstock",
        "",
        "#FF69B4",
        [true, true, true, false, true, false, false, false],
    ),
    (
        10,
        "Awaiting bank wire payment",
        "bankwire",
        "ps_wirepayment",
        "#4169E1",
        [true, false, false, false, false, false, false, false],
    ),
    (
        11,
        "Remote payment accepted",
        "payment",
        "",
        "#32CD32",
        [true, true, true, false, true, false, false, false],
    ),
    (
        12,
        "On backorder (not paid)",
        "outofstock",
        "",
        "#FF69B4",
        [true, false, false, false, false, false, false, false],
    ),
    (
        13,
        "Awaiting Cash On Delivery validation",
        "cashondelivery",
        "ps_cashondelivery",
        "#4169E1",
        [true, false, false, false, false, false, false, false],
    ),
];

pub(crate) fn order_states() -> Vec<OrderState> {
    STATES
        .iter()
        .map(|&(id, name, template, module, color, f)| OrderState {
            id,
            name: name.to_string(),
            template: template.to_string(),
            module_name: module.to_string(),
            color: color.to_string(),
            unremovable: true,
            send_email: f[0],
            hidden: false,
            invoice: f[1],
            logable: f[2],
            shipped: f[3],
            paid: f[4],
            delivery: f[5],
            pdf_invoice: f[6],
            pdf_delivery: f[7],
        })
        .collect()
}

pub(crate) fn carriers() -> Vec<Carrier> {
    let carrier = |id: u64, name: &str, delay: &str, free: bool, url: &str| Carrier {
        id,
        name: name.to_string(),
        delay: delay.to_string(),
        is_free: free,
        url: url.to_string(),
        id_tax_rules_group: STANDARD_GROUP,
    };
    vec![
        carrier(1, "De Gouden Boon", "Pick up in-store", true, ""),
        carrier(
            2,
            "PostNL",
            "Delivery next day!",
            false,
            "https://jouw.postnl.nl/track-and-trace/@",
        ),
        carrier(
            3,
            "DHL Parcel",
            "1-2 business days",
            false,
            "https://www.dhl.com/nl-en/home/tracking.html?tracking-id=@",
        ),
        carrier(
            4,
            "DHL Express",
            "2-4 business days worldwide",
            false,
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id=@",
        ),
        carrier(
            5,
            "Colissimo",
            "2-3 business days",
            false,
            "https://www.laposte.fr/outils/suivre-vos-envois?code=@",
        ),
    ]
}

/// (id, name, reference, EAN-13, price excl. tax, wholesale price, tax group, weight kg,
/// category, virtual).
type ProductRow = (
    u64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u64,
    &'static str,
    u64,
    bool,
);

/// (id, parent, name): PrestaShop's Root (1) and Home (2), and the shop's categories.
pub(crate) const CATEGORIES: [(u64, u64, &str); 6] = [
    (1, 0, "Root"),
    (2, 1, "Home"),
    (CATEGORY_COFFEE, 2, "Coffee"),
    (CATEGORY_TEA, 2, "Tea"),
    (CATEGORY_GEAR, 2, "Equipment"),
    (CATEGORY_COURSES, 2, "Courses"),
];

pub(crate) const CATEGORY_COFFEE: u64 = 3;
pub(crate) const CATEGORY_TEA: u64 = 4;
pub(crate) const CATEGORY_GEAR: u64 = 5;
pub(crate) const CATEGORY_COURSES: u64 = 6;

pub(crate) const PRODUCTS: [ProductRow; 14] = [
    (
        1,
        "Espresso Beans 1 kg",
        "KOF-ESP-1000",
        "8712345000012",
        "18.500000",
        "9.100000",
        REDUCED_GROUP,
        "1.050000",
        CATEGORY_COFFEE,
        false,
    ),
    (
        2,
        "Filter Coffee 500 g",
        "KOF-FIL-0500",
        "8712345000029",
        "8.950000",
        "4.200000",
        REDUCED_GROUP,
        "0.530000",
        CATEGORY_COFFEE,
        false,
    ),
    (
        3,
        "Decaf Beans 250 g",
        "KOF-DEC-0250",
        "8712345000036",
        "6.450000",
        "2.950000",
        REDUCED_GROUP,
        "0.270000",
        CATEGORY_COFFEE,
        false,
    ),
    (
        4,
        "Green Tea Sencha 100 g",
        "TEA-SEN-0100",
        "8712345000043",
        "7.250000",
        "3.100000",
        REDUCED_GROUP,
        "0.120000",
        CATEGORY_TEA,
        false,
    ),
    (
        5,
        "Stroopwafels (8 pcs)",
        "SNK-STR-0008",
        "8712345000050",
        "3.490000",
        "1.400000",
        REDUCED_GROUP,
        "0.250000",
        CATEGORY_COFFEE,
        false,
    ),
    (
        6,
        "Ceramic Mug",
        "MUG-CER-0001",
        "8712345000067",
        "7.950000",
        "2.800000",
        STANDARD_GROUP,
        "0.350000",
        CATEGORY_GEAR,
        false,
    ),
    (
        7,
        "Burr Grinder Pro",
        "GRD-PRO-0001",
        "8712345000074",
        "189.000000",
        "96.000000",
        STANDARD_GROUP,
        "3.200000",
        CATEGORY_GEAR,
        false,
    ),
    (
        8,
        "Milk Jug 350 ml",
        "JUG-MLK-0350",
        "8712345000081",
        "14.950000",
        "6.000000",
        STANDARD_GROUP,
        "0.300000",
        CATEGORY_GEAR,
        false,
    ),
    (
        9,
        "Pour-over Dripper",
        "DRP-V60-0002",
        "8712345000098",
        "21.500000",
        "8.500000",
        STANDARD_GROUP,
        "0.400000",
        CATEGORY_GEAR,
        false,
    ),
    (
        10,
        "Paper Filters (100)",
        "FLT-PAP-0100",
        "8712345000104",
        "3.333333",
        "1.100000",
        STANDARD_GROUP,
        "0.150000",
        CATEGORY_GEAR,
        false,
    ),
    (
        11,
        "Espresso Machine Duo",
        "MCH-ESP-0002",
        "8712345000111",
        "649.000000",
        "390.000000",
        STANDARD_GROUP,
        "12.500000",
        CATEGORY_GEAR,
        false,
    ),
    (
        12,
        "Tamper 58 mm",
        "TMP-058-0001",
        "8712345000128",
        "29.900000",
        "11.000000",
        STANDARD_GROUP,
        "0.450000",
        CATEGORY_GEAR,
        false,
    ),
    (
        13,
        "Descaler 250 ml",
        "CLN-DSC-0250",
        "8712345000135",
        "6.499000",
        "2.100000",
        STANDARD_GROUP,
        "0.280000",
        CATEGORY_GEAR,
        false,
    ),
    (
        14,
        "Barista Course (online)",
        "CRS-BAR-ONLN",
        "",
        "49.000000",
        "0.000000",
        STANDARD_GROUP,
        "0.000000",
        CATEGORY_COURSES,
        true,
    ),
];

pub(crate) fn products() -> Vec<Product> {
    let at = installed_at();
    PRODUCTS
        .iter()
        .map(
            |&(id, name, reference, ean13, price, wholesale, group, weight, category, virt)| {
                Product {
                    id,
                    name: name.to_string(),
                    reference: reference.to_string(),
                    ean13: ean13.to_string(),
                    price: dec(price),
                    wholesale_price: dec(wholesale),
                    id_tax_rules_group: group,
                    weight: dec(weight),
                    id_category: category,
                    is_virtual: virt,
                    date_add: at + Duration::hours(id as i64),
                }
            },
        )
        .collect()
}
