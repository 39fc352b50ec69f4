//! Master data every division starts with: a Dutch chart of accounts (RGS-style codes), VAT
//! codes including One-Stop-Shop codes for the other 26 EU member states, journals, a few
//! items, payment conditions and account classifications. VAT percentages are fractions (0.21),
//! as Exact's VATCodes return them; VAT codes are right-padded to three characters, as in many
//! real divisions.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::entities::{Ctx, Division};
use super::odata::{Row, Val};

/// (country code, Dutch name, standard VAT rate in percent) of the EU-27, rates as of 2025.
pub const EU_COUNTRIES: &[(&str, &str, &str)] = &[
    ("AT", "Oostenrijk", "20"),
    ("BE", "België", "21"),
    ("BG", "Bulgarije", "20"),
    ("CY", "Cyprus", "19"),
    ("CZ", "Tsjechië", "21"),
    ("DE", "Duitsland", "19"),
    ("DK", "Denemarken", "25"),
    ("EE", "Estland", "24"),
    ("ES", "Spanje", "21"),
    ("FI", "Finland", "25.5"),
    ("FR", "Frankrijk", "20"),
    ("GR", "Griekenland", "24"),
    ("HR", "Kroatië", "25"),
    ("HU", "Hongarije", "27"),
    ("IE", "Ierland", "23"),
    ("IT", "Italië", "22"),
    ("LT", "Litouwen", "21"),
    ("LU", "Luxemburg", "17"),
    ("LV", "Letland", "21"),
    ("MT", "Malta", "18"),
    ("NL", "Nederland", "21"),
    ("PL", "Polen", "23"),
    ("PT", "Portugal", "23"),
    ("RO", "Roemenië", "21"),
    ("SE", "Zweden", "25"),
    ("SI", "Slovenië", "22"),
    ("SK", "Slowakije", "23"),
];

/// Dutch names of a few countries outside the EU, for `CountryName`.
const OTHER_COUNTRIES: &[(&str, &str)] = &[
    ("GB", "Verenigd Koninkrijk"),
    ("US", "Verenigde Staten"),
    ("CH", "Zwitserland"),
    ("NO", "Noorwegen"),
    ("CA", "Canada"),
    ("AU", "Australië"),
    ("JP", "Japan"),
    ("CN", "China"),
];

pub fn country_name(code: &str) -> Option<&'static str> {
    EU_COUNTRIES
        .iter()
        .map(|(c, n, _)| (*c, *n))
        .chain(OTHER_COUNTRIES.iter().copied())
        .find(|(c, _)| *c == code)
        .map(|(_, n)| n)
}

/// G/L account types (Exact `Type`) used by the seed.
const CASH: i64 = 10;
const BANK: i64 = 12;
const RECEIVABLE: i64 = 20;
const PAYABLE: i64 = 22;
const VAT: i64 = 24;
const REVENUE: i64 = 110;

pub fn gl_type_description(gl_type: i64) -> &'static str {
    match gl_type {
        CASH => "Cash",
        BANK => "Bank",
        RECEIVABLE => "Accounts receivable",
        PAYABLE => "Accounts payable",
        VAT => "VAT",
        REVENUE => "Revenue",
        _ => "General",
    }
}

/// (code, description, type, balance type, balance side, default VAT code)
type GlSeed = (
    &'static str,
    &'static str,
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const GL_ACCOUNTS: &[GlSeed] = &[
    ("1000", "Kas", CASH, "B", "D", None),
    ("1100", "Bank", BANK, "B", "D", None),
    ("1300", "Debiteuren", RECEIVABLE, "B", "D", None),
    ("1500", "Af te dragen BTW hoog", VAT, "B", "C", None),
    ("1510", "Af te dragen BTW laag", VAT, "B", "C", None),
    ("1520", "Te vorderen BTW", VAT, "B", "D", None),
    ("1530", "Af te dragen BTW OSS", VAT, "B", "C", None),
    ("1600", "Crediteuren", PAYABLE, "B", "C", None),
    ("8000", "Omzet hoog tarief", REVENUE, "W", "C", Some("1")),
    ("8010", "Omzet laag tarief", REVENUE, "W", "C", Some("2")),
    ("8020", "Omzet ICP (verlegd)", REVENUE, "W", "C", Some("4")),
    (
        "8030",
        "Omzet export buiten EU",
        REVENUE,
        "W",
        "C",
        Some("3"),
    ),
    ("8040", "Omzet OSS", REVENUE, "W", "C", None),
    ("8050", "Verzendkosten", REVENUE, "W", "C", Some("1")),
    ("8060", "Kortingen", REVENUE, "W", "D", Some("1")),
    ("8070", "Betaalkosten", REVENUE, "W", "C", Some("0")),
    (
        "8990",
        "Afrondingsverschillen",
        REVENUE,
        "W",
        "C",
        Some("0"),
    ),
];

/// Pads a VAT code as Exact stores it (three characters, left-aligned).
pub fn pad_vat_code(code: &str) -> String {
    format!("{code:<3}")
}

fn audited(ctx: &Ctx, division: i32) -> Row {
    let mut row = Row::new();
    ctx.stamp_created(&mut row, division);
    row
}

fn gl_rows(ctx: &Ctx, division: i32) -> Vec<Row> {
    GL_ACCOUNTS
        .iter()
        .map(|&(code, description, gl_type, balance_type, side, vat)| {
            let mut row = audited(ctx, division);
            row.insert("ID", Val::Guid(Uuid::new_v4()));
            row.insert("Code", Val::str(code));
            row.insert("Description", Val::str(description));
            row.insert("SearchCode", Val::str(code));
            row.insert("Type", Val::Int(gl_type));
            row.insert("TypeDescription", Val::str(gl_type_description(gl_type)));
            row.insert("BalanceType", Val::str(balance_type));
            row.insert("BalanceSide", Val::str(side));
            row.insert("IsBlocked", Val::Bool(false));
            row.insert("UseCostcenter", Val::Int(0));
            row.insert("UseCostunit", Val::Int(0));
            if let Some(vat) = vat {
                row.insert("VATCode", Val::str(pad_vat_code(vat)));
            }
            row
        })
        .collect()
}

struct VatSeed {
    code: String,
    description: String,
    percentage: Decimal,
    calc_type: &'static str,
    transaction_type: &'static str,
    gl_to_pay: Option<&'static str>,
    gl_to_claim: Option<&'static str>,
    eu_sales_listing: &'static str,
    oss_country: Option<&'static str>,
    legal_text: Option<&'static str>,
}

fn percent(text: &str) -> Decimal {
    text.parse::<Decimal>()
        .expect("seed percentages are decimals")
        / Decimal::from(100)
}

fn vat_seeds() -> Vec<VatSeed> {
    let domestic = |code: &str,
                    description: &str,
                    pct: &str,
                    calc_type,
                    transaction_type,
                    gl_to_pay,
                    gl_to_claim,
                    eu_sales_listing,
                    legal_text| VatSeed {
        code: code.into(),
        description: description.into(),
        percentage: percent(pct),
        calc_type,
        transaction_type,
        gl_to_pay,
        gl_to_claim,
        eu_sales_listing,
        oss_country: None,
        legal_text,
    };
    let mut seeds = vec![
        domestic("0", "Geen BTW", "0", "N", "B", None, None, "N", None),
        domestic(
            "1",
            "BTW hoog 21%",
            "21",
            "E",
            "B",
            Some("1500"),
            Some("1520"),
            "N",
            None,
        ),
        domestic(
            "2",
            "BTW laag 9%",
            "9",
            "E",
            "B",
            Some("1510"),
            Some("1520"),
            "N",
            None,
        ),
        domestic(
            "3",
            "BTW 0% export buiten EU",
            "0",
            "B",
            "S",
            None,
            None,
            "N",
            Some("Export buiten de EU, 0% BTW"),
        ),
        domestic(
            "4",
            "ICP verlegd 0%",
            "0",
            "B",
            "S",
            None,
            None,
            "L",
            Some("Intracommunautaire levering, BTW verlegd"),
        ),
        domestic(
            "5",
            "Voorbelasting hoog 21%",
            "21",
            "E",
            "P",
            None,
            Some("1520"),
            "N",
            None,
        ),
    ];
    for &(country, name, rate) in EU_COUNTRIES.iter().filter(|c| c.0 != "NL") {
        seeds.push(VatSeed {
            code: format!("O{country}"),
            description: format!("OSS {name} {rate}%"),
            percentage: percent(rate),
            calc_type: "E",
            transaction_type: "S",
            gl_to_pay: Some("1530"),
            gl_to_claim: None,
            eu_sales_listing: "N",
            oss_country: Some(country),
            legal_text: None,
        });
    }
    // Merchants add OSS codes for the reduced rates they sell at; the demo shop sells food
    // and books at these.
    for &(letter, country, name, rate) in OSS_REDUCED {
        seeds.push(VatSeed {
            code: format!("{letter}{country}"),
            description: format!("OSS {name} verlaagd {rate}%"),
            percentage: percent(rate),
            calc_type: "E",
            transaction_type: "S",
            gl_to_pay: Some("1530"),
            gl_to_claim: None,
            eu_sales_listing: "N",
            oss_country: Some(country),
            legal_text: None,
        });
    }
    seeds
}

/// Reduced OSS rates seeded besides the standard ones: (code letter, country, name, rate %).
const OSS_REDUCED: &[(&str, &str, &str, &str)] = &[
    ("R", "BE", "België", "6"),
    ("S", "BE", "België", "12"),
    ("R", "DE", "Duitsland", "7"),
    ("R", "FR", "Frankrijk", "5.5"),
    ("S", "FR", "Frankrijk", "10"),
    ("T", "FR", "Frankrijk", "2.1"),
];

fn vat_rows(ctx: &Ctx, division: i32, gl: &[Row]) -> Vec<Row> {
    let gl_ref = |code: &str| -> (Val, Val, Val) {
        gl.iter()
            .find(|r| r.get("Code").and_then(Val::as_str) == Some(code))
            .map_or((Val::Null, Val::Null, Val::Null), |r| {
                (r["ID"].clone(), r["Code"].clone(), r["Description"].clone())
            })
    };
    vat_seeds()
        .into_iter()
        .map(|seed| {
            let mut row = audited(ctx, division);
            row.insert("ID", Val::Guid(Uuid::new_v4()));
            row.insert("Code", Val::str(pad_vat_code(&seed.code)));
            row.insert("Description", Val::str(seed.description));
            row.insert("Percentage", Val::Num(seed.percentage));
            row.insert("Type", Val::str(seed.calc_type));
            row.insert("VATTransactionType", Val::str(seed.transaction_type));
            row.insert("EUSalesListing", Val::str(seed.eu_sales_listing));
            row.insert("CalculationBasis", Val::Int(0));
            row.insert("Charged", Val::Bool(false));
            row.insert("IsBlocked", Val::Bool(false));
            row.insert("TaxReturnType", Val::Int(1));
            row.insert("OssCountry", Val::opt_str(seed.oss_country));
            row.insert("LegalText", Val::opt_str(seed.legal_text));
            if let Some(code) = seed.gl_to_pay {
                let (id, code, description) = gl_ref(code);
                row.insert("GLToPay", id);
                row.insert("GLToPayCode", code);
                row.insert("GLToPayDescription", description);
            }
            if let Some(code) = seed.gl_to_claim {
                let (id, code, description) = gl_ref(code);
                row.insert("GLToClaim", id);
                row.insert("GLToClaimCode", code);
                row.insert("GLToClaimDescription", description);
            }
            row
        })
        .collect()
}

/// (code, description, type, suspense G/L account code)
const JOURNALS: &[(&str, &str, i64, &str)] = &[
    ("70", "Verkoopboek", 20, "1300"),
    ("20", "Bank", 12, "1100"),
    ("90", "Memoriaal", 90, "1000"),
];

fn journal_rows(ctx: &Ctx, division: i32, gl: &[Row]) -> Vec<Row> {
    JOURNALS
        .iter()
        .map(|&(code, description, journal_type, gl_code)| {
            let mut row = audited(ctx, division);
            row.insert("ID", Val::Guid(Uuid::new_v4()));
            row.insert("Code", Val::str(code));
            row.insert("Description", Val::str(description));
            row.insert("Type", Val::Int(journal_type));
            row.insert("Currency", Val::str("EUR"));
            row.insert("CurrencyDescription", Val::str("Euro"));
            row.insert("AllowVariableCurrency", Val::Bool(journal_type == 20));
            row.insert("AllowVariableExchangeRate", Val::Bool(journal_type == 20));
            row.insert("AllowVAT", Val::Bool(journal_type == 90));
            row.insert("AutoSave", Val::Bool(false));
            row.insert("IsBlocked", Val::Bool(false));
            if let Some(account) = gl
                .iter()
                .find(|r| r.get("Code").and_then(Val::as_str) == Some(gl_code))
            {
                row.insert("GLAccount", account["ID"].clone());
                row.insert("GLAccountCode", account["Code"].clone());
                row.insert("GLAccountDescription", account["Description"].clone());
                row.insert("GLAccountType", account["Type"].clone());
            }
            if journal_type == 12 {
                row.insert("BankAccountIBAN", Val::str("NL91ABNA0417164300"));
                row.insert("BankAccountIncludingMask", Val::str("NL91ABNA0417164300"));
                row.insert("BankName", Val::str("ABN AMRO"));
            }
            row
        })
        .collect()
}

/// (code, description, price, revenue G/L code, VAT code)
const ITEMS: &[(&str, &str, &str, &str, &str)] = &[
    ("ART-1001", "T-shirt katoen", "19.95", "8000", "1"),
    ("ART-2001", "Kookboek", "24.95", "8010", "2"),
    ("VERZEND", "Verzendkosten", "4.95", "8050", "1"),
];

fn item_rows(ctx: &Ctx, division: i32, gl: &[Row], vat: &[Row]) -> Vec<Row> {
    ITEMS
        .iter()
        .map(|&(code, description, price, gl_code, vat_code)| {
            let mut row = audited(ctx, division);
            row.insert("ID", Val::Guid(Uuid::new_v4()));
            row.insert("Code", Val::str(code));
            row.insert("Description", Val::str(description));
            row.insert(
                "StandardSalesPrice",
                Val::Num(price.parse().expect("seed prices are decimals")),
            );
            row.insert("CostPriceCurrency", Val::str("EUR"));
            row.insert("IsSalesItem", Val::Bool(true));
            row.insert("IsPurchaseItem", Val::Bool(false));
            row.insert("IsStockItem", Val::Bool(false));
            row.insert("IsWebshopItem", Val::Int(1));
            row.insert("Unit", Val::str("pc"));
            row.insert("UnitDescription", Val::str("Stuk"));
            row.insert("UnitType", Val::str("O"));
            if let Some(account) = gl
                .iter()
                .find(|r| r.get("Code").and_then(Val::as_str) == Some(gl_code))
            {
                row.insert("GLRevenue", account["ID"].clone());
                row.insert("GLRevenueCode", account["Code"].clone());
                row.insert("GLRevenueDescription", account["Description"].clone());
            }
            let padded = pad_vat_code(vat_code);
            if let Some(code) = vat
                .iter()
                .find(|r| r.get("Code").and_then(Val::as_str) == Some(padded.as_str()))
            {
                row.insert("SalesVatCode", code["Code"].clone());
                row.insert("SalesVatCodeDescription", code["Description"].clone());
            }
            row
        })
        .collect()
}

/// (code, description, payment method, payment days): conditions Dutch divisions commonly have.
const PAYMENT_CONDITIONS: &[(&str, &str, &str, i64)] = &[
    ("00", "Contant", "K", 0),
    ("14", "14 dagen", "B", 14),
    ("30", "30 dagen", "B", 30),
    ("IN", "Incasso", "I", 14),
];

fn payment_condition_rows(ctx: &Ctx, division: i32) -> Vec<Row> {
    PAYMENT_CONDITIONS
        .iter()
        .map(|&(code, description, method, days)| {
            let mut row = audited(ctx, division);
            row.insert("ID", Val::Guid(Uuid::new_v4()));
            row.insert("Code", Val::str(code));
            row.insert("Description", Val::str(description));
            row.insert("PaymentMethod", Val::str(method));
            row.insert("PaymentDays", Val::Int(days));
            row.insert("PaymentEndOfMonths", Val::Int(0));
            row.insert("DiscountPaymentDays", Val::Int(0));
            row.insert("DiscountPercentage", Val::Num(Decimal::ZERO));
            row
        })
        .collect()
}

/// An account classification name (sequence number, description) with its classifications
/// (code, description); the name with sequence number N serves accounts' `ClassificationN`.
type ClassificationSeed = (i64, &'static str, &'static [(&'static str, &'static str)]);

const CLASSIFICATIONS: &[ClassificationSeed] = &[
    (
        1,
        "Klantsoort",
        &[
            ("B2C", "Particulier"),
            ("B2B", "Zakelijk"),
            ("B2B-EU", "Zakelijk EU"),
            ("GROOTHANDEL", "Groothandel"),
        ],
    ),
    (
        2,
        "Regio",
        &[
            ("NL", "Nederland"),
            ("EU", "Europese Unie"),
            ("EXPORT", "Buiten de EU"),
        ],
    ),
];

/// The classification names and the classifications under them.
fn classification_rows(ctx: &Ctx, division: i32) -> (Vec<Row>, Vec<Row>) {
    let mut names = Vec::new();
    let mut classifications = Vec::new();
    for &(sequence, name, codes) in CLASSIFICATIONS {
        let name_id = Uuid::new_v4();
        let mut row = audited(ctx, division);
        row.insert("ID", Val::Guid(name_id));
        row.insert("SequenceNumber", Val::Int(sequence));
        row.insert("Description", Val::str(name));
        names.push(row);
        for &(code, description) in codes {
            let mut row = audited(ctx, division);
            row.insert("ID", Val::Guid(Uuid::new_v4()));
            row.insert("Code", Val::str(code));
            row.insert("Description", Val::str(description));
            row.insert("AccountClassificationName", Val::Guid(name_id));
            row.insert("AccountClassificationNameDescription", Val::str(name));
            classifications.push(row);
        }
    }
    (names, classifications)
}

/// A new division with the standard master data (fresh GUIDs, as every real division has its own).
pub fn division(code: i32, name: &str, ctx: &Ctx) -> Division {
    let gl_accounts = gl_rows(ctx, code);
    let vat_codes = vat_rows(ctx, code, &gl_accounts);
    let journals = journal_rows(ctx, code, &gl_accounts);
    let items = item_rows(ctx, code, &gl_accounts, &vat_codes);
    let (classification_names, classifications) = classification_rows(ctx, code);
    Division {
        code,
        name: name.to_string(),
        currency: "EUR".into(),
        created_ms: ctx.now,
        owner: Uuid::new_v4(),
        accounts: Vec::new(),
        classification_names,
        classifications,
        addresses: Vec::new(),
        payment_conditions: payment_condition_rows(ctx, code),
        items,
        gl_accounts,
        vat_codes,
        journals,
        entries: Vec::new(),
        entry_numbers: Default::default(),
        invoices: Vec::new(),
        invoice_emails: Vec::new(),
    }
}
