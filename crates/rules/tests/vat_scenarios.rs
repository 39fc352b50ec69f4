//! VAT scenarios as one table: countries × B2B/B2C × VAT number valid/invalid/unavailable ×
//! OSS on/off × export/special territory × shipping/discount. Each row is a document decided
//! by `decide_checked`; a booked row asserts every planned line's account, VAT code, treatment,
//! net and VAT to the cent and that the plan's total is the document's; a held row asserts
//! what its reason names. All failing rows are reported together.
//!
//! Accounts are the defaults of `BookingSettings`: revenue 8000 (domestic), 8020 (reverse
//! charge), 8030 (export), 8040 (OSS); shipping 8050; rounding 8990; discounts 8060 when a
//! row turns the discounts account on. VAT codes are the table `VAT_CODES` below. Booking
//! date 2026-11-02 unless a row says otherwise.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use ledgerlink_core::document::RefundOf;
use ledgerlink_core::{
    Address, BookingPlan, Customer, CustomerKind, Document, DocumentKind, EntryKind, Line,
    LineKind, Money, SourceRef,
};
use ledgerlink_rules::{decide_checked, BookingSettings, Checks, Decision, ViesVerdict};
use rust_decimal::Decimal;

use CustomerKind::{Business, Private};
use Expect::{Book, Hold, NotYet};

/// The merchant's VAT codes per treatment key, for every treatment the table reaches.
const VAT_CODES: &[(&str, &str)] = &[
    ("domestic/21", "1"),
    ("domestic/9", "2"),
    ("domestic/0", "0"),
    ("domestic/12", "12"),
    ("domestic/6", "6"),
    ("domestic/25", "25"),
    ("reverse_charge", "4"),
    ("export", "3"),
    ("none", "NV"),
    ("oss/DE/19", "ODE"),
    ("oss/DE/7", "RDE"),
    ("oss/BE/21", "OBE"),
    ("oss/BE/6", "RBE"),
    ("oss/FR/20", "OFR"),
    ("oss/FR/5.5", "RFR"),
    ("oss/NL/21", "ONL"),
    ("oss/NL/9", "RNL"),
    ("oss/XI/20", "OXI"),
    // Finland's reduced rate until the end of 2025 (13.5% since 2026-01-01).
    ("oss/FI/14", "RFI"),
];

const DISCOUNTS: &str = "8060";

// Delivery addresses: country and postcode.
const AMSTERDAM: (&str, &str) = ("NL", "1011 AA");
const BRUSSELS: (&str, &str) = ("BE", "1000");
const BERLIN: (&str, &str) = ("DE", "10115");
const PARIS: (&str, &str) = ("FR", "75001");
const HELSINKI: (&str, &str) = ("FI", "00100");
const COPENHAGEN: (&str, &str) = ("DK", "1050");
const BELFAST: (&str, &str) = ("XI", "BT1 1AA");
const OSLO: (&str, &str) = ("NO", "0150");
const ZURICH: (&str, &str) = ("CH", "8001");
const NEW_YORK: (&str, &str) = ("US", "10001");
const LONDON: (&str, &str) = ("GB", "SW1A 1AA");

// VAT numbers from ../shared/specs/vat/vat-number-test-vectors.json, as the vectors write them.
const BE_VALID: Option<&str> = Some("BE 0897290877");
const BE_CHECKSUM_INVALID: Option<&str> = Some("BE 0406.139.583");
const DE_VALID: Option<&str> = Some("DE 118619592");
const FR_VALID: Option<&str> = Some("FR 04409414364");
const NL_VALID: Option<&str> = Some("NL 806753742B01");
const XI_VALID: Option<&str> = Some("XI 432525179");

/// Distance sales booked this year before the document, in cents.
const SALES_5000: Option<i64> = Some(500_000);
const SALES_9990: Option<i64> = Some(999_000);

/// One line of the document: net before coupons, rate charged, coupon discount (all cents).
#[derive(Clone, Copy)]
struct LineSpec {
    kind: LineKind,
    net: i64,
    rate: &'static str,
    coupon: i64,
}

const fn product(net: i64, rate: &'static str) -> LineSpec {
    with_coupon(net, rate, 0)
}

const fn with_coupon(net: i64, rate: &'static str, coupon: i64) -> LineSpec {
    LineSpec {
        kind: LineKind::Product,
        net,
        rate,
        coupon,
    }
}

const fn shipping(net: i64, rate: &'static str) -> LineSpec {
    LineSpec {
        kind: LineKind::Shipping,
        net,
        rate,
        coupon: 0,
    }
}

/// What the engine learnt from VIES before the rules ran.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Vies {
    /// `vies_check = false`.
    Off,
    Valid,
    Invalid,
    /// `vies_check = true`, but no verdict: VIES did not answer.
    Unavailable,
}

/// A planned line: account, VAT code, treatment key, net cents, VAT cents.
type Planned = (&'static str, &'static str, &'static str, i64, i64);

enum Expect {
    /// Booked with these lines and this total (cents).
    Book(&'static [Planned], i64),
    /// Held; the reason contains each fragment.
    Hold(&'static [&'static str]),
    /// Not bookable yet; the reason contains each fragment.
    NotYet(&'static [&'static str]),
}

struct Scenario {
    name: &'static str,
    home: &'static str,
    /// Delivery country and postcode.
    to: (&'static str, &'static str),
    /// Billing country, when it is not the delivery country.
    billed_in: Option<&'static str>,
    customer: CustomerKind,
    vat_number: Option<&'static str>,
    vies: Vies,
    oss_registered: bool,
    passed_last_year: bool,
    /// Distance sales booked this year before the document, in cents; `None` in a dry run.
    sales_this_year: Option<i64>,
    lines: &'static [LineSpec],
    discounts_account: bool,
    /// A refund (credit note) of order 1001, with the lines' amounts negated.
    refund: bool,
    status: &'static str,
    date: &'static str,
    /// Cents the shop's stated VAT, and its stated total on top of that, differ from the sum
    /// of its lines.
    stated_vat_off: i64,
    stated_total_off: i64,
    expect: Expect,
}

/// An NL merchant's paid order from a Dutch consumer; every row changes what it is about.
const BASE: Scenario = Scenario {
    name: "",
    home: "NL",
    to: AMSTERDAM,
    billed_in: None,
    customer: Private,
    vat_number: None,
    vies: Vies::Off,
    oss_registered: false,
    passed_last_year: false,
    sales_this_year: None,
    lines: &[],
    discounts_account: false,
    refund: false,
    status: "processing",
    date: "2026-11-02",
    stated_vat_off: 0,
    stated_total_off: 0,
    expect: Hold(&[]),
};

const SCENARIOS: &[Scenario] = &[
    // --- Domestic, NL merchant ---------------------------------------------------------------
    Scenario {
        name: "NL B2C at 21%",
        lines: &[product(2000, "21")],
        expect: Book(&[("8000", "1", "domestic/21", 2000, 420)], 2420),
        ..BASE
    },
    Scenario {
        name: "NL B2C at 9%",
        lines: &[product(1000, "9")],
        expect: Book(&[("8000", "2", "domestic/9", 1000, 90)], 1090),
        ..BASE
    },
    Scenario {
        name: "NL B2C at 0%",
        lines: &[product(1500, "0")],
        expect: Book(&[("8000", "0", "domestic/0", 1500, 0)], 1500),
        ..BASE
    },
    Scenario {
        name: "NL B2C at 21% and 9% with shipping at 21%",
        lines: &[product(2000, "21"), product(1000, "9"), shipping(495, "21")],
        expect: Book(
            &[
                ("8000", "1", "domestic/21", 2000, 420),
                ("8000", "2", "domestic/9", 1000, 90),
                ("8050", "1", "domestic/21", 495, 104),
            ],
            4109,
        ),
        ..BASE
    },
    Scenario {
        name: "NL B2C with coupons, no discounts account: booked net of discount",
        lines: &[
            with_coupon(2500, "21", 500),
            with_coupon(1999, "9", 199),
            shipping(500, "21"),
        ],
        expect: Book(
            &[
                ("8000", "1", "domestic/21", 2000, 420),
                ("8000", "2", "domestic/9", 1800, 162),
                ("8050", "1", "domestic/21", 500, 105),
            ],
            4987,
        ),
        ..BASE
    },
    Scenario {
        name: "NL B2C with coupons on the discounts account: list price and discount lines",
        lines: &[
            with_coupon(2500, "21", 500),
            with_coupon(1999, "9", 199),
            shipping(500, "21"),
        ],
        discounts_account: true,
        expect: Book(
            &[
                ("8000", "1", "domestic/21", 2500, 525),
                (DISCOUNTS, "1", "domestic/21", -500, -105),
                ("8000", "2", "domestic/9", 1999, 180),
                (DISCOUNTS, "2", "domestic/9", -199, -18),
                ("8050", "1", "domestic/21", 500, 105),
            ],
            4987,
        ),
        ..BASE
    },
    Scenario {
        name: "NL B2C at 19%, not an NL rate: held",
        lines: &[product(2000, "19")],
        expect: Hold(&["19% is not a VAT rate of NL", "21%, 9%"]),
        ..BASE
    },
    Scenario {
        name: "NL B2C still pending payment: not yet",
        lines: &[product(2000, "21")],
        status: "pending",
        expect: NotYet(&["status `pending`"]),
        ..BASE
    },
    // --- Intra-EU B2B ------------------------------------------------------------------------
    Scenario {
        name: "BE B2B, valid VAT number, 0% with shipping: reverse charge",
        to: BRUSSELS,
        customer: Business,
        vat_number: BE_VALID,
        lines: &[product(10000, "0"), shipping(1500, "0")],
        expect: Book(
            &[
                ("8020", "4", "reverse_charge", 10000, 0),
                ("8050", "4", "reverse_charge", 1500, 0),
            ],
            11500,
        ),
        ..BASE
    },
    Scenario {
        name: "DE B2B, VIES confirms the VAT number: reverse charge",
        to: BERLIN,
        customer: Business,
        vat_number: DE_VALID,
        vies: Vies::Valid,
        lines: &[product(25000, "0")],
        expect: Book(&[("8020", "4", "reverse_charge", 25000, 0)], 25000),
        ..BASE
    },
    Scenario {
        name: "FR B2B, valid VAT number, 0% with a coupon on the discounts account",
        to: PARIS,
        customer: Business,
        vat_number: FR_VALID,
        lines: &[with_coupon(10000, "0", 1000)],
        discounts_account: true,
        expect: Book(
            &[
                ("8020", "4", "reverse_charge", 10000, 0),
                (DISCOUNTS, "4", "reverse_charge", -1000, 0),
            ],
            9000,
        ),
        ..BASE
    },
    Scenario {
        name: "BE B2B, checksum-invalid VAT number at 0%: held",
        to: BRUSSELS,
        customer: Business,
        vat_number: BE_CHECKSUM_INVALID,
        lines: &[product(10000, "0")],
        expect: Hold(&["fails the check", "BE0406139583"]),
        ..BASE
    },
    Scenario {
        name: "DE B2B, VIES says the VAT number is invalid: held",
        to: BERLIN,
        customer: Business,
        vat_number: DE_VALID,
        vies: Vies::Invalid,
        lines: &[product(25000, "0")],
        expect: Hold(&["VIES says the VAT number DE118619592 is not valid"]),
        ..BASE
    },
    Scenario {
        name: "DE B2B, VIES unavailable: not booked with reverse charge",
        to: BERLIN,
        customer: Business,
        vat_number: DE_VALID,
        vies: Vies::Unavailable,
        lines: &[product(25000, "0")],
        expect: NotYet(&["VIES"]),
        ..BASE
    },
    Scenario {
        name: "BE B2B without a VAT number at 0%: held",
        to: BRUSSELS,
        customer: Business,
        lines: &[product(10000, "0")],
        expect: Hold(&["no valid VAT number", "reverse charge does not apply"]),
        ..BASE
    },
    Scenario {
        name: "BE B2B without a VAT number, BE VAT charged, OSS on: a consumer sale",
        to: BRUSSELS,
        customer: Business,
        oss_registered: true,
        lines: &[product(5000, "21")],
        expect: Book(&[("8040", "OBE", "oss/BE/21", 5000, 1050)], 6050),
        ..BASE
    },
    Scenario {
        name: "BE B2B with a VAT number of the merchant's own country (NL) at 0%",
        to: BRUSSELS,
        customer: Business,
        vat_number: NL_VALID,
        lines: &[product(10000, "0")],
        expect: Hold(&["NL806753742B01"]),
        ..BASE
    },
    Scenario {
        name: "DE B2B, valid VAT number, DE 19% charged, OSS on",
        to: BERLIN,
        customer: Business,
        vat_number: DE_VALID,
        oss_registered: true,
        lines: &[product(5000, "19")],
        expect: Hold(&["DE118619592"]),
        ..BASE
    },
    // --- Intra-EU B2C: OSS and the threshold -------------------------------------------------
    Scenario {
        name: "DE B2C, OSS on: 19% and 7%, shipping on the OSS code",
        to: BERLIN,
        oss_registered: true,
        lines: &[product(3000, "19"), product(1500, "7"), shipping(590, "19")],
        expect: Book(
            &[
                ("8040", "ODE", "oss/DE/19", 3000, 570),
                ("8040", "RDE", "oss/DE/7", 1500, 105),
                ("8050", "ODE", "oss/DE/19", 590, 112),
            ],
            5877,
        ),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS on, coupon on the discounts account",
        to: BERLIN,
        oss_registered: true,
        lines: &[with_coupon(5000, "19", 1000)],
        discounts_account: true,
        expect: Book(
            &[
                ("8040", "ODE", "oss/DE/19", 5000, 950),
                (DISCOUNTS, "ODE", "oss/DE/19", -1000, -190),
            ],
            4760,
        ),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS off, below the threshold, NL 21%: domestic",
        to: BERLIN,
        sales_this_year: SALES_5000,
        lines: &[product(3000, "21")],
        expect: Book(&[("8000", "1", "domestic/21", 3000, 630)], 3630),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS off, below the threshold, DE 19%: held naming oss_registered",
        to: BERLIN,
        sales_this_year: SALES_5000,
        lines: &[product(3000, "19")],
        expect: Hold(&["`oss_registered = false`", "NL VAT applies"]),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS off, this order passes the threshold, DE 19%: OSS",
        to: BERLIN,
        sales_this_year: SALES_9990,
        lines: &[product(2000, "19"), shipping(500, "19")],
        expect: Book(
            &[
                ("8040", "ODE", "oss/DE/19", 2000, 380),
                ("8050", "ODE", "oss/DE/19", 500, 95),
            ],
            2975,
        ),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS off, this order passes the threshold, NL 21%: held",
        to: BERLIN,
        sales_this_year: SALES_9990,
        lines: &[product(2000, "21"), shipping(500, "21")],
        expect: Hold(&[
            "NL VAT (21%)",
            "pass the threshold of 10000.00",
            "9990.00 before it, 25.00 in it",
            "DE's VAT applies",
        ]),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS off, this order reaches the threshold exactly: home VAT",
        to: BERLIN,
        sales_this_year: Some(998_000),
        lines: &[product(2000, "21")],
        expect: Book(&[("8000", "1", "domestic/21", 2000, 420)], 2420),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS off, distance sales unknown (dry run), NL 21%: home VAT",
        to: BERLIN,
        lines: &[product(2000, "21")],
        expect: Book(&[("8000", "1", "domestic/21", 2000, 420)], 2420),
        ..BASE
    },
    Scenario {
        name: "DE B2C, threshold passed last year, DE 7%: OSS",
        to: BERLIN,
        passed_last_year: true,
        sales_this_year: Some(0),
        lines: &[product(1000, "7")],
        expect: Book(&[("8040", "RDE", "oss/DE/7", 1000, 70)], 1070),
        ..BASE
    },
    Scenario {
        name: "DE B2C, threshold passed last year, NL 21%: held naming the setting",
        to: BERLIN,
        passed_last_year: true,
        sales_this_year: Some(0),
        lines: &[product(1000, "21")],
        expect: Hold(&["`oss_threshold_passed_last_year`", "DE's VAT applies"]),
        ..BASE
    },
    Scenario {
        name: "DE B2C, OSS on, 16% (not a DE rate): held",
        to: BERLIN,
        oss_registered: true,
        lines: &[product(2000, "16")],
        expect: Hold(&["16% is not a VAT rate of DE", "19%, 7%"]),
        ..BASE
    },
    Scenario {
        name: "DE B2C billed in NL, delivered to DE, OSS on: the delivery decides",
        to: BERLIN,
        billed_in: Some("NL"),
        oss_registered: true,
        lines: &[product(2000, "19")],
        expect: Book(&[("8040", "ODE", "oss/DE/19", 2000, 380)], 2380),
        ..BASE
    },
    Scenario {
        name: "DE B2C in Gailingen (78262, next to Büsingen), OSS on: mainland",
        to: ("DE", "78262"),
        oss_registered: true,
        lines: &[product(2000, "19")],
        expect: Book(&[("8040", "ODE", "oss/DE/19", 2000, 380)], 2380),
        ..BASE
    },
    Scenario {
        name: "FR B2C, OSS on: 20% and 5.5%",
        to: PARIS,
        oss_registered: true,
        lines: &[product(4000, "20"), product(1999, "5.5")],
        expect: Book(
            &[
                ("8040", "OFR", "oss/FR/20", 4000, 800),
                ("8040", "RFR", "oss/FR/5.5", 1999, 110),
            ],
            6909,
        ),
        ..BASE
    },
    Scenario {
        name: "FR B2C, OSS on, NL 9% charged: held",
        to: PARIS,
        oss_registered: true,
        lines: &[product(1000, "9")],
        expect: Hold(&["NL VAT (9%)", "FR's VAT applies"]),
        ..BASE
    },
    Scenario {
        name: "BE B2C, OSS on, 6%",
        to: BRUSSELS,
        oss_registered: true,
        lines: &[product(2000, "6")],
        expect: Book(&[("8040", "RBE", "oss/BE/6", 2000, 120)], 2120),
        ..BASE
    },
    Scenario {
        name: "BE B2C, OSS on, 21% (a rate of NL and BE alike): BE's",
        to: BRUSSELS,
        oss_registered: true,
        lines: &[product(1000, "21")],
        expect: Book(&[("8040", "OBE", "oss/BE/21", 1000, 210)], 1210),
        ..BASE
    },
    // --- Northern Ireland: inside the EU VAT area for goods ----------------------------------
    Scenario {
        name: "XI B2C, OSS off, below the threshold, NL 21%: domestic",
        to: BELFAST,
        sales_this_year: SALES_5000,
        lines: &[product(2000, "21")],
        expect: Book(&[("8000", "1", "domestic/21", 2000, 420)], 2420),
        ..BASE
    },
    Scenario {
        name: "XI B2C, OSS on, UK 20% with shipping: OSS",
        to: BELFAST,
        oss_registered: true,
        lines: &[product(2000, "20"), shipping(500, "20")],
        expect: Book(
            &[
                ("8040", "OXI", "oss/XI/20", 2000, 400),
                ("8050", "OXI", "oss/XI/20", 500, 100),
            ],
            3000,
        ),
        ..BASE
    },
    Scenario {
        name: "XI B2B, valid XI VAT number at 0%: reverse charge",
        to: BELFAST,
        customer: Business,
        vat_number: XI_VALID,
        lines: &[product(8000, "0")],
        expect: Book(&[("8020", "4", "reverse_charge", 8000, 0)], 8000),
        ..BASE
    },
    Scenario {
        name: "XI B2C, OSS on, NL 21% charged",
        to: BELFAST,
        oss_registered: true,
        lines: &[product(2000, "21")],
        expect: Hold(&["NL VAT (21%)", "XI's VAT applies"]),
        ..BASE
    },
    // --- Exports -----------------------------------------------------------------------------
    Scenario {
        name: "NO B2C, 0% with shipping: export",
        to: OSLO,
        lines: &[product(5000, "0"), shipping(1000, "0")],
        expect: Book(
            &[
                ("8030", "3", "export", 5000, 0),
                ("8050", "3", "export", 1000, 0),
            ],
            6000,
        ),
        ..BASE
    },
    Scenario {
        name: "CH B2B, 0%: export",
        to: ZURICH,
        customer: Business,
        lines: &[product(12000, "0")],
        expect: Book(&[("8030", "3", "export", 12000, 0)], 12000),
        ..BASE
    },
    Scenario {
        name: "US B2C, 0% with a coupon on the discounts account: export",
        to: NEW_YORK,
        lines: &[with_coupon(3000, "0", 300)],
        discounts_account: true,
        expect: Book(
            &[
                ("8030", "3", "export", 3000, 0),
                (DISCOUNTS, "3", "export", -300, 0),
            ],
            2700,
        ),
        ..BASE
    },
    Scenario {
        name: "GB B2C, 0%: export",
        to: LONDON,
        lines: &[product(4000, "0")],
        expect: Book(&[("8030", "3", "export", 4000, 0)], 4000),
        ..BASE
    },
    Scenario {
        name: "NO B2C, NL 21% charged: held",
        to: OSLO,
        lines: &[product(5000, "21")],
        expect: Hold(&["goods go to NO, outside the EU"]),
        ..BASE
    },
    Scenario {
        name: "GB B2C, OSS on, UK 20% charged: held",
        to: LONDON,
        oss_registered: true,
        lines: &[product(4000, "20")],
        expect: Hold(&["goods go to GB, outside the EU"]),
        ..BASE
    },
    // --- Special territories: a member state's code, outside its VAT area --------------------
    Scenario {
        name: "Canary Islands (ES 35001), 0% with shipping: export",
        to: ("ES", "35001"),
        lines: &[product(4500, "0"), shipping(800, "0")],
        expect: Book(
            &[
                ("8030", "3", "export", 4500, 0),
                ("8050", "3", "export", 800, 0),
            ],
            5300,
        ),
        ..BASE
    },
    Scenario {
        name: "Åland (FI, written AX-22100), 0%: export",
        to: ("FI", "AX-22100"),
        lines: &[product(3000, "0")],
        expect: Book(&[("8030", "3", "export", 3000, 0)], 3000),
        ..BASE
    },
    Scenario {
        name: "Büsingen (DE 78266), OSS on, 0%: export",
        to: ("DE", "78266"),
        oss_registered: true,
        lines: &[product(3000, "0")],
        expect: Book(&[("8030", "3", "export", 3000, 0)], 3000),
        ..BASE
    },
    Scenario {
        name: "Livigno (IT 23041), 0%: export",
        to: ("IT", "23041"),
        lines: &[product(3000, "0")],
        expect: Book(&[("8030", "3", "export", 3000, 0)], 3000),
        ..BASE
    },
    Scenario {
        name: "Mount Athos (GR 630 86), B2B with a DE VAT number, 0%: export",
        to: ("GR", "630 86"),
        customer: Business,
        vat_number: DE_VALID,
        lines: &[product(3000, "0")],
        expect: Book(&[("8030", "3", "export", 3000, 0)], 3000),
        ..BASE
    },
    Scenario {
        name: "Réunion (FR 97400), 0%: export",
        to: ("FR", "97400"),
        lines: &[product(3000, "0")],
        expect: Book(&[("8030", "3", "export", 3000, 0)], 3000),
        ..BASE
    },
    Scenario {
        name: "Heligoland (DE 27498), 0%: export",
        to: ("DE", "27498"),
        lines: &[product(3000, "0")],
        expect: Book(&[("8030", "3", "export", 3000, 0)], 3000),
        ..BASE
    },
    Scenario {
        name: "Canary Islands (ES 35001), 21% charged: held",
        to: ("ES", "35001"),
        lines: &[product(4500, "21")],
        expect: Hold(&["Canary Islands (postcode 35001)", "outside the EU VAT area"]),
        ..BASE
    },
    Scenario {
        name: "Åland (FI 22100), OSS on, FI 25.5% charged: held",
        to: ("FI", "22100"),
        oss_registered: true,
        lines: &[product(3000, "25.5")],
        expect: Hold(&["Åland Islands", "outside the EU VAT area"]),
        ..BASE
    },
    Scenario {
        name: "Büsingen (DE 78266), OSS on, DE 19% charged: held",
        to: ("DE", "78266"),
        oss_registered: true,
        lines: &[product(3000, "19")],
        expect: Hold(&["Büsingen am Hochrhein", "outside the EU VAT area"]),
        ..BASE
    },
    Scenario {
        name: "Livigno (IT 23041), OSS on, IT 22% charged: held",
        to: ("IT", "23041"),
        oss_registered: true,
        lines: &[product(3000, "22")],
        expect: Hold(&["Livigno", "outside the EU VAT area"]),
        ..BASE
    },
    Scenario {
        name: "Mount Athos (GR 63086), OSS on, GR 24% charged: held",
        to: ("GR", "63086"),
        oss_registered: true,
        lines: &[product(3000, "24")],
        expect: Hold(&["Mount Athos", "outside the EU VAT area"]),
        ..BASE
    },
    Scenario {
        name: "Réunion (FR 97400), OSS on, FR 20% charged: held",
        to: ("FR", "97400"),
        oss_registered: true,
        lines: &[product(3000, "20")],
        expect: Hold(&["Réunion", "outside the EU VAT area"]),
        ..BASE
    },
    Scenario {
        name: "Heligoland (DE 27498), NL 21% charged: held",
        to: ("DE", "27498"),
        lines: &[product(3000, "21")],
        expect: Hold(&["Heligoland", "outside the EU VAT area"]),
        ..BASE
    },
    // --- Reconciling with the shop's totals --------------------------------------------------
    Scenario {
        name: "NL B2C, the shop rounded VAT on its total (a cent less): the cent goes to the VAT",
        lines: &[product(1250, "21"), product(250, "21")],
        stated_vat_off: -1,
        expect: Book(
            &[
                ("8000", "1", "domestic/21", 1250, 262),
                ("8000", "1", "domestic/21", 250, 53),
            ],
            1815,
        ),
        ..BASE
    },
    Scenario {
        name: "NL B2C, total 2 cents above its lines: a rounding line within tolerance",
        lines: &[product(2000, "21")],
        stated_total_off: 2,
        expect: Book(
            &[
                ("8000", "1", "domestic/21", 2000, 420),
                ("8990", "NV", "none", 2, 0),
            ],
            2422,
        ),
        ..BASE
    },
    Scenario {
        name: "NL B2C, total 3 cents above its lines: held naming both totals",
        lines: &[product(2000, "21")],
        stated_total_off: 3,
        expect: Hold(&["does not add up", "EUR 24.23", "EUR 24.20"]),
        ..BASE
    },
    // --- Refunds: credit notes keep the sale's treatment -------------------------------------
    Scenario {
        name: "Refund of a DE OSS sale: oss/DE/19 credit note",
        to: BERLIN,
        oss_registered: true,
        refund: true,
        lines: &[product(3000, "19"), shipping(590, "19")],
        expect: Book(
            &[
                ("8040", "ODE", "oss/DE/19", -3000, -570),
                ("8050", "ODE", "oss/DE/19", -590, -112),
            ],
            -4272,
        ),
        ..BASE
    },
    Scenario {
        name: "Refund of a BE reverse-charge sale: reverse-charge credit note",
        to: BRUSSELS,
        customer: Business,
        vat_number: BE_VALID,
        refund: true,
        lines: &[product(10000, "0")],
        expect: Book(&[("8020", "4", "reverse_charge", -10000, 0)], -10000),
        ..BASE
    },
    Scenario {
        name: "Refund of the DE sale that passed the threshold (OSS off, 10,015 booked)",
        to: BERLIN,
        refund: true,
        sales_this_year: Some(1_001_500),
        lines: &[product(2000, "19"), shipping(500, "19")],
        expect: Book(
            &[
                ("8040", "ODE", "oss/DE/19", -2000, -380),
                ("8050", "ODE", "oss/DE/19", -500, -95),
            ],
            -2975,
        ),
        ..BASE
    },
    Scenario {
        name: "Refund on 2026-01-10 of a December 2025 FI OSS sale at 14%",
        to: HELSINKI,
        oss_registered: true,
        refund: true,
        date: "2026-01-10",
        lines: &[product(1000, "14")],
        expect: Book(&[("8040", "RFI", "oss/FI/14", -1000, -140)], -1140),
        ..BASE
    },
    // --- BE merchant -------------------------------------------------------------------------
    Scenario {
        name: "BE merchant, BE B2C at 6% and 12% with shipping at 21%",
        home: "BE",
        to: BRUSSELS,
        lines: &[product(2000, "6"), product(1000, "12"), shipping(500, "21")],
        expect: Book(
            &[
                ("8000", "6", "domestic/6", 2000, 120),
                ("8000", "12", "domestic/12", 1000, 120),
                ("8050", "1", "domestic/21", 500, 105),
            ],
            3845,
        ),
        ..BASE
    },
    Scenario {
        name: "BE merchant, BE B2C at 9% (an NL rate): held",
        home: "BE",
        to: BRUSSELS,
        lines: &[product(1000, "9")],
        expect: Hold(&["9% is not a VAT rate of BE", "21%, 12%, 6%"]),
        ..BASE
    },
    Scenario {
        name: "BE merchant, NL B2C, OSS on, 9%: oss/NL/9",
        home: "BE",
        oss_registered: true,
        lines: &[product(1000, "9")],
        expect: Book(&[("8040", "RNL", "oss/NL/9", 1000, 90)], 1090),
        ..BASE
    },
    Scenario {
        name: "BE merchant, NL B2C, OSS off, NL 9%: held naming oss_registered",
        home: "BE",
        sales_this_year: Some(0),
        lines: &[product(1000, "9")],
        expect: Hold(&["`oss_registered = false`", "BE VAT applies"]),
        ..BASE
    },
    Scenario {
        name: "BE merchant, NL B2B, valid NL VAT number at 0%: reverse charge",
        home: "BE",
        customer: Business,
        vat_number: NL_VALID,
        lines: &[product(6000, "0")],
        expect: Book(&[("8020", "4", "reverse_charge", 6000, 0)], 6000),
        ..BASE
    },
    // --- DK merchant (DKK) -------------------------------------------------------------------
    Scenario {
        name: "DK merchant, DK B2C at 25%",
        home: "DK",
        to: COPENHAGEN,
        lines: &[product(1000, "25")],
        expect: Book(&[("8000", "25", "domestic/25", 1000, 250)], 1250),
        ..BASE
    },
    Scenario {
        name: "DK merchant, DK B2C at 21% (an NL rate): held",
        home: "DK",
        to: COPENHAGEN,
        lines: &[product(1000, "21")],
        expect: Hold(&["21% is not a VAT rate of DK", "(its rates: 25%)"]),
        ..BASE
    },
    Scenario {
        name: "DK merchant, DE B2C, OSS on, 19%",
        home: "DK",
        to: BERLIN,
        oss_registered: true,
        lines: &[product(2000, "19")],
        expect: Book(&[("8040", "ODE", "oss/DE/19", 2000, 380)], 2380),
        ..BASE
    },
    Scenario {
        name: "DK merchant, DE B2C, OSS off, below the threshold, DK 25%: domestic",
        home: "DK",
        to: BERLIN,
        sales_this_year: Some(0),
        lines: &[product(2000, "25")],
        expect: Book(&[("8000", "25", "domestic/25", 2000, 500)], 2500),
        ..BASE
    },
    Scenario {
        name: "DK merchant, DE B2B, VIES confirms the VAT number: reverse charge",
        home: "DK",
        to: BERLIN,
        customer: Business,
        vat_number: DE_VALID,
        vies: Vies::Valid,
        lines: &[product(7000, "0")],
        expect: Book(&[("8020", "4", "reverse_charge", 7000, 0)], 7000),
        ..BASE
    },
];

fn cents(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2))
}

fn country(code: &str) -> ledgerlink_core::Country {
    code.parse().expect("the table's countries are ISO codes")
}

fn address(country_code: &str, postcode: &str) -> Address {
    Address {
        name: "Sam Jansen".into(),
        company: None,
        line1: "Main street 1".into(),
        line2: None,
        postcode: postcode.into(),
        city: "City".into(),
        region: None,
        country: country(country_code),
    }
}

fn line(index: usize, spec: &LineSpec, sign: i64) -> Line {
    let rate: Decimal = spec.rate.parse().expect("the table's rates are decimals");
    let vat = |net: Money| net.percent(rate).round_cents();
    let subtotal = cents(sign * spec.net);
    let total = cents(sign * (spec.net - spec.coupon));
    Line {
        kind: spec.kind,
        source_line_id: Some(index.to_string()),
        sku: None,
        description: match spec.kind {
            LineKind::Shipping => "Shipping".into(),
            _ => format!("Item {}", index + 1),
        },
        quantity: Decimal::ONE,
        subtotal,
        subtotal_tax: vat(subtotal),
        total,
        tax: vat(total),
        tax_rate: Some(rate),
        tax_class: None,
        category: None,
        custom_fields: Default::default(),
    }
}

/// Order 1001 as the shop states it, or its refund 55 when the row is a refund.
fn document(row: &Scenario) -> Document {
    let sign = if row.refund { -1 } else { 1 };
    let lines: Vec<Line> = row
        .lines
        .iter()
        .enumerate()
        .map(|(i, spec)| line(i, spec, sign))
        .collect();
    let total_tax = lines.iter().map(|l| l.tax).sum::<Money>() + cents(row.stated_vat_off);
    let total = lines.iter().map(|l| l.total + l.tax).sum::<Money>()
        + cents(row.stated_vat_off + row.stated_total_off);
    let date = NaiveDate::parse_from_str(row.date, "%Y-%m-%d").expect("the table's dates");
    let created = date.and_hms_opt(10, 0, 0).expect("a time of day").and_utc();
    let order = SourceRef {
        kind: DocumentKind::Order,
        id: "1001".into(),
    };
    let (source_ref, number, status, refund_of) = if row.refund {
        let refund = SourceRef {
            kind: DocumentKind::Refund,
            id: "55".into(),
        };
        let refund_of = RefundOf {
            source_ref: order,
            number: "1001".into(),
            invoice_number: None,
            // The refunded sale, a month before its refund.
            date: date.checked_sub_days(chrono::Days::new(30)),
        };
        (refund, "1001-R55", "refunded", Some(refund_of))
    } else {
        (order, "1001", row.status, None)
    };
    let (to_country, postcode) = row.to;
    let delivery = address(to_country, postcode);
    let (billing, shipping) = match row.billed_in {
        Some(billed_in) => (address(billed_in, "1011 AA"), Some(delivery)),
        None => (delivery, None),
    };
    Document {
        source_ref,
        number: number.into(),
        status: status.into(),
        created_at: created,
        modified_at: created,
        paid_at: Some(created),
        date,
        currency: if row.home == "DK" { "DKK" } else { "EUR" }
            .parse()
            .expect("a currency code"),
        prices_include_tax: true,
        customer: Customer {
            source_id: Some("42".into()),
            kind: row.customer,
            name: "Sam Jansen".into(),
            company: (row.customer == Business).then(|| "Jansen Trading".into()),
            email: Some("sam@example.com".parse().expect("an e-mail address")),
            invalid_email: None,
            phone: None,
            vat_number: row.vat_number.map(|number| {
                number
                    .parse()
                    .expect("the table's VAT numbers are well-formed")
            }),
            invalid_vat_number: None,
            group: None,
        },
        billing,
        shipping,
        lines,
        payment_method: None,
        coupons: vec![],
        custom_fields: Default::default(),
        total,
        total_tax,
        refund_of,
        invoice: None,
    }
}

fn settings(row: &Scenario) -> BookingSettings {
    let mut settings = BookingSettings {
        home_country: country(row.home),
        oss_registered: row.oss_registered,
        oss_threshold_passed_last_year: row.passed_last_year,
        vies_check: row.vies != Vies::Off,
        vat_codes: VAT_CODES
            .iter()
            .map(|(key, code)| (key.to_string(), code.to_string()))
            .collect(),
        ..BookingSettings::default()
    };
    if row.discounts_account {
        settings.accounts.discounts = Some(DISCOUNTS.into());
    }
    settings
}

fn checks(row: &Scenario) -> Checks {
    let consultation = Some("WAPI-TEST-0001".to_string());
    Checks {
        vies: match row.vies {
            Vies::Off | Vies::Unavailable => None,
            Vies::Valid => Some(ViesVerdict::Valid { consultation }),
            Vies::Invalid => Some(ViesVerdict::Invalid { consultation }),
        },
        distance_sales_this_year: row.sales_this_year.map(cents),
        sale_had_destination_vat: None,
    }
}

/// A planned line as the table compares it: account, VAT code, treatment, net, VAT.
type Compared<'a> = (&'a str, &'a str, &'a str, Money, Money);

fn compared(plan: &BookingPlan) -> Vec<Compared<'_>> {
    plan.lines
        .iter()
        .map(|l| {
            let (account, code, treatment) = (&l.account, &l.vat_code, &l.vat_treatment);
            (
                account.as_str(),
                code.as_str(),
                treatment.as_str(),
                l.amount,
                l.vat_amount,
            )
        })
        .collect()
}

fn show(lines: &[Compared]) -> String {
    lines
        .iter()
        .map(|(account, code, treatment, net, vat)| {
            format!("({account}, {code}, {treatment}, {net}, {vat})")
        })
        .collect::<Vec<_>>()
        .join("\n      ")
}

fn show_decision(decision: &Decision) -> String {
    match decision {
        Decision::Book { plan } => {
            format!(
                "Book, total {}:\n      {}",
                plan.total,
                show(&compared(plan))
            )
        }
        Decision::NotYet { reason } => format!("NotYet: {reason}"),
        Decision::Skip { reason } => format!("Skip: {reason}"),
        Decision::Hold { reason } => format!("Hold: {reason}"),
    }
}

/// Whether `decision` for `document` is what `expect` says; `Err` tells how it is not.
fn outcome_is(
    expect: &Expect,
    decision: &Decision,
    document: &Document,
    refund: bool,
) -> Result<(), String> {
    match (expect, decision) {
        (Book(lines, total), Decision::Book { plan }) => {
            plan_is(lines, *total, plan, document, refund)
        }
        (Hold(fragments), Decision::Hold { reason }) => reason_has("hold", reason, fragments),
        (NotYet(fragments), Decision::NotYet { reason }) => {
            reason_has("not-yet", reason, fragments)
        }
        (_, other) => Err(format!("decided {}", show_decision(other))),
    }
}

fn plan_is(
    lines: &[Planned],
    total: i64,
    plan: &BookingPlan,
    document: &Document,
    refund: bool,
) -> Result<(), String> {
    let planned = compared(plan);
    let wanted: Vec<Compared> = lines
        .iter()
        .map(|&(account, code, treatment, net, vat)| {
            (account, code, treatment, cents(net), cents(vat))
        })
        .collect();
    let mut problems = Vec::new();
    if planned != wanted {
        problems.push(format!(
            "lines are\n      {}\n    expected\n      {}",
            show(&planned),
            show(&wanted)
        ));
    }
    if plan.total != document.total || plan.total != cents(total) {
        problems.push(format!(
            "plan total {} (document {}, expected {})",
            plan.total,
            document.total,
            cents(total)
        ));
    }
    if plan.total_vat != document.total_tax {
        problems.push(format!(
            "plan VAT {} but the document's VAT is {}",
            plan.total_vat, document.total_tax
        ));
    }
    let (kind, corrects) = if refund {
        (EntryKind::CreditNote, Some("WC-1001"))
    } else {
        (EntryKind::SalesEntry, None)
    };
    if plan.kind != kind || plan.corrects_reference.as_deref() != corrects {
        problems.push(format!(
            "booked as {:?} correcting {:?}, expected {kind:?} correcting {corrects:?}",
            plan.kind, plan.corrects_reference
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Whether a hold or not-yet `reason` contains every fragment the row names.
fn reason_has(what: &str, reason: &str, fragments: &[&str]) -> Result<(), String> {
    if fragments.is_empty() {
        return Err(format!("the row names nothing the {what} reason must say"));
    }
    let missing: Vec<&&str> = fragments.iter().filter(|f| !reason.contains(**f)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{what} reason lacks {missing:?}: {reason}"))
    }
}

fn check(row: &Scenario) -> Result<(), String> {
    let document = document(row);
    let decision = decide_checked(&document, &settings(row), &checks(row));
    outcome_is(&row.expect, &decision, &document, row.refund)
}

#[test]
fn vat_scenarios() {
    let rows = SCENARIOS;
    assert!(rows.len() >= 40, "only {} scenarios", rows.len());
    let mut names = BTreeSet::new();
    let mut failures: Vec<String> = rows
        .iter()
        .filter(|row| !names.insert(row.name))
        .map(|row| format!("{:?} is in the table twice", row.name))
        .collect();
    failures.extend(rows.iter().filter_map(|row| {
        check(row)
            .err()
            .map(|error| format!("{}:\n    {error}", row.name))
    }));
    assert!(
        failures.is_empty(),
        "{} of {} VAT scenarios failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
