//! The Tryton target against a real Tryton 8.2 server. If nothing answers on
//! `127.0.0.1:$TRYTON_PORT` (8000), `tools/tryton/setup.sh` builds and starts one (about 30 s,
//! once; it takes a lock, so parallel test processes wait for one set-up).
//!
//! The tests share that server and its database across runs — and with the end-to-end tests
//! and demos that book today's orders: each uses its own references and customers, and its
//! invoices are dated today. Tryton numbers invoices in date order per fiscal year (an
//! invoice dated before an already numbered one is refused), so the one test that needs a
//! backdated invoice (Tryton then warns that its payment date has passed, which the connector
//! confirms) dates it on the last day of last year, a date no later invoice in that year's
//! sequence can precede.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{Datelike, NaiveDate};
use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{
    Address, BookingPlan, Currency, CustomerKind, EntryKind, ErrorKind, Money, PlanCustomer,
    PlanLine,
};
use ledgerlink_store::{SqliteStore, Store, TokenRecord};
use ledgerlink_targets::tryton::{TrytonSettings, TrytonTarget};
use ledgerlink_targets::BookingRef;
use ledgerlink_testkit::tryton::{self, LossyProxy};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const CONNECTION: &str = "tryton-e2e";
const USER: &str = "connector";
const PASSWORD: &str = "connector-Secret-42";

struct Harness {
    store: Arc<dyn Store>,
    target: TrytonTarget,
    tryton: Tryton,
}

async fn harness() -> Harness {
    let url = tryton::server().await;
    harness_at(&url, PASSWORD).await
}

/// The connector reaches Tryton at `connector_url` (the server, or a proxy in front of it).
async fn harness_at(connector_url: &str, password: &str) -> Harness {
    let url = tryton::server().await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let settings = TrytonSettings {
        url: connector_url.to_string(),
        database: tryton::DATABASE.into(),
        username: USER.into(),
        password: password.to_string().into(),
    };
    let target =
        TrytonTarget::new(settings, store.clone(), CONNECTION, Duration::from_secs(30)).unwrap();
    Harness {
        store,
        target,
        tryton: Tryton::login(&url).await,
    }
}

/// Our own look at Tryton's books: a separate session of the same user.
struct Tryton {
    http: reqwest::Client,
    endpoint: String,
    authorization: String,
    context: Value,
}

impl Tryton {
    async fn login(url: &str) -> Tryton {
        let mut tryton = Tryton {
            http: reqwest::Client::new(),
            endpoint: format!("{url}/{}/rpc/", tryton::DATABASE),
            authorization: String::new(),
            context: json!({}),
        };
        let session = tryton
            .call(
                "common.db.login",
                json!([USER, {"password": PASSWORD}, "en"]),
            )
            .await;
        let token = format!("{USER}:{}:{}", session[0], session[1].as_str().unwrap());
        tryton.authorization = format!("Session {}", BASE64.encode(token));
        tryton.context = tryton
            .call("model.res.user.get_preferences", json!([true, {}]))
            .await;
        tryton
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        let mut request = self.http.post(&self.endpoint).json(&json!({
            "id": 1, "method": method, "params": params,
        }));
        if !self.authorization.is_empty() {
            request = request.header("authorization", &self.authorization);
        }
        let reply: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(reply["error"].is_null(), "{method}: {}", reply["error"]);
        reply["result"].clone()
    }

    async fn search_read(&self, model: &str, domain: Value, fields: &[&str]) -> Vec<Value> {
        let params = json!([domain, 0, null, [["id", "ASC"]], fields, self.context]);
        let found = self
            .call(&format!("model.{model}.search_read"), params)
            .await;
        found.as_array().unwrap().clone()
    }

    async fn invoice(&self, id: &str) -> Value {
        let fields = [
            "state",
            "number",
            "reference",
            "invoice_date",
            "untaxed_amount",
            "tax_amount",
            "total_amount",
            "move",
            "party",
            "invoice_address",
            "origin_invoices",
            "sequence_type_cache",
        ];
        let domain = json!([["id", "=", id.parse::<i64>().unwrap()]]);
        let mut found = self.search_read("account.invoice", domain, &fields).await;
        found.pop().expect("the invoice exists")
    }

    async fn invoices_with_reference(&self, reference: &str) -> Vec<Value> {
        let domain = json!([["type", "=", "out"], ["reference", "=", reference]]);
        self.search_read("account.invoice", domain, &["state", "number"])
            .await
    }

    /// Each invoice tax as (description, base, amount).
    async fn taxes(&self, invoice: &str) -> Vec<(String, Decimal, Decimal)> {
        let domain = json!([["invoice", "=", invoice.parse::<i64>().unwrap()]]);
        let fields = ["description", "base", "amount"];
        let taxes = self
            .search_read("account.invoice.tax", domain, &fields)
            .await;
        let mut taxes: Vec<_> = taxes
            .iter()
            .map(|t| {
                let description = t["description"].as_str().unwrap().to_string();
                (description, amount(&t["base"]), amount(&t["amount"]))
            })
            .collect();
        taxes.sort();
        taxes
    }

    /// The invoice's move as (account code, debit, credit), sorted.
    async fn move_lines(&self, invoice: &Value) -> Vec<(String, Decimal, Decimal)> {
        let domain = json!([["move", "=", invoice["move"]]]);
        let fields = ["account.code", "debit", "credit"];
        let lines = self.search_read("account.move.line", domain, &fields).await;
        let mut lines: Vec<_> = lines
            .iter()
            .map(|l| {
                let code = l["account."]["code"].as_str().unwrap().to_string();
                (code, amount(&l["debit"]), amount(&l["credit"]))
            })
            .collect();
        lines.sort();
        lines
    }

    async fn parties_with_email(&self, email: &str) -> usize {
        let domain = json!([["type", "=", "email"], ["value", "=", email]]);
        self.search_read("party.contact_mechanism", domain, &["party"])
            .await
            .len()
    }

    async fn id(&self, model: &str, domain: Value) -> i64 {
        let found = self.search_read(model, domain, &["id"]).await;
        assert_eq!(found.len(), 1, "{model}: {found:?}");
        found[0]["id"].as_i64().unwrap()
    }

    /// What a connector that crashed after creating the invoice, before posting it, leaves.
    async fn create_draft(&self, plan: &BookingPlan, email: &str) -> i64 {
        let party = self
            .search_read(
                "party.contact_mechanism",
                json!([["type", "=", "email"], ["value", "=", email]]),
                &["party"],
            )
            .await[0]["party"]
            .as_i64()
            .unwrap();
        let address = self
            .id("party.address", json!([["party", "=", party]]))
            .await;
        let configuration = self
            .call(
                "model.account.configuration.read",
                json!([[1], ["default_account_receivable"], self.context]),
            )
            .await;
        let mut lines = Vec::new();
        for line in &plan.lines {
            let account = self
                .id("account.account", json!([["code", "=", line.account]]))
                .await;
            let tax = self
                .id("account.tax", json!([["name", "=", line.vat_code]]))
                .await;
            lines.push(json!({
                "type": "line",
                "description": line.description,
                "quantity": 1,
                "unit_price": {"__class__": "Decimal", "decimal": line.amount.amount().to_string()},
                "account": account,
                "taxes": [["add", [tax]]],
            }));
        }
        let journal = self
            .id("account.journal", json!([["code", "=", "REV"]]))
            .await;
        let day = plan.entry_date;
        let values = json!({
            "type": "out",
            "party": party,
            "invoice_address": address,
            "account": configuration[0]["default_account_receivable"],
            "journal": journal,
            "invoice_date": {
                "__class__": "date", "year": day.year(), "month": day.month(), "day": day.day(),
            },
            "reference": plan.reference,
            "description": plan.description,
            "lines": [["create", lines]],
        });
        let ids = self
            .call(
                "model.account.invoice.create",
                json!([[values], self.context]),
            )
            .await;
        ids[0].as_i64().unwrap()
    }
}

fn amount(value: &Value) -> Decimal {
    value["decimal"]
        .as_str()
        .unwrap_or_else(|| panic!("not a Tryton Decimal: {value}"))
        .parse()
        .unwrap()
}

/// A reference no earlier run has used (the database outlives test runs).
fn unique_reference(prefix: &str) -> String {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &unique[..10])
}

/// Today on the emulated shops' clock (UTC+1): the Tryton ledger the tests share numbers
/// invoices in date order, so every test books on the same day as the shop-driven ones.
fn today() -> NaiveDate {
    ledgerlink_testkit::site_today()
}

/// 31 December of last year: backdated, and never before another invoice of that year.
fn last_day_of_last_year() -> NaiveDate {
    NaiveDate::from_ymd_opt(today().year() - 1, 12, 31).unwrap()
}

fn line(account: &str, description: &str, net: Decimal, vat_code: &str, vat: Decimal) -> PlanLine {
    PlanLine {
        account: account.into(),
        description: description.into(),
        amount: Money::new(net),
        vat_code: vat_code.into(),
        vat_amount: Money::new(vat),
        vat_treatment: "test".into(),
        extra: Default::default(),
    }
}

fn private_customer(reference: &str) -> PlanCustomer {
    let email = format!("{}_klant@shop.example.nl", reference.to_lowercase());
    PlanCustomer {
        match_on: CustomerMatch::Email,
        match_value: email.clone(),
        kind: CustomerKind::Private,
        name: format!("Jan de Vries ({reference})"),
        email: Some(email.parse().unwrap()),
        phone: Some("06 1234 5678".into()),
        vat_number: None,
        vies_consultation: None,
        address: Address {
            name: "Jan de Vries".into(),
            company: None,
            line1: "Keizersgracht 123".into(),
            line2: Some("3e verdieping".into()),
            postcode: "1015 CJ".into(),
            city: "Amsterdam".into(),
            region: None,
            country: "NL".parse().unwrap(),
        },
        country: "NL".parse().unwrap(),
        delivery_address: None,
        classification: None,
        collective: false,
    }
}

fn business_customer(reference: &str, vat: &str, country: &str) -> PlanCustomer {
    PlanCustomer {
        match_on: CustomerMatch::VatNumber,
        match_value: vat.into(),
        kind: CustomerKind::Business,
        name: format!("Boulangerie Dupont ({reference})"),
        email: Some(
            format!("{}@dupont.example.be", reference.to_lowercase())
                .parse()
                .unwrap(),
        ),
        phone: None,
        vat_number: Some(vat.parse().unwrap()),
        vies_consultation: None,
        address: Address {
            name: "Marie Dupont".into(),
            company: Some("Boulangerie Dupont".into()),
            line1: "Rue de la Loi 16".into(),
            line2: None,
            postcode: "1000".into(),
            city: "Brussel".into(),
            region: None,
            country: country.parse().unwrap(),
        },
        country: country.parse().unwrap(),
        delivery_address: None,
        classification: None,
        collective: false,
    }
}

fn plan(
    reference: &str,
    kind: EntryKind,
    customer: PlanCustomer,
    lines: Vec<PlanLine>,
) -> BookingPlan {
    let total = lines.iter().map(|l| l.amount + l.vat_amount).sum();
    let total_vat = lines.iter().map(|l| l.vat_amount).sum();
    BookingPlan {
        reference: reference.into(),
        kind,
        corrects_reference: None,
        entry_date: today(),
        currency: Currency::EUR,
        journal: "REV".into(),
        description: format!("Webshop order {reference}"),
        customer,
        lines,
        total,
        total_vat,
        extra: Default::default(),
        payment: None,
        distance_sales: Money::ZERO,
        modules: Vec::new(),
        covers: Vec::new(),
    }
}

/// T-shirts at 21%, a book at 9%, shipping at 21%: 59.95 + 10.79 = 70.74.
fn domestic_plan(reference: &str) -> BookingPlan {
    plan(
        reference,
        EntryKind::SalesEntry,
        private_customer(reference),
        vec![
            line("8000", "T-shirt (2x)", dec!(40.00), "VAT 21%", dec!(8.40)),
            line("8000", "Boek", dec!(15.00), "VAT 9%", dec!(1.35)),
            line("8050", "Verzending", dec!(4.95), "VAT 21%", dec!(1.04)),
        ],
    )
}

async fn book(
    target: &TrytonTarget,
    plan: &BookingPlan,
) -> Result<BookingRef, ledgerlink_core::ConnectorError> {
    let prepared = target.prepare(plan).await?;
    target.post(&prepared).await
}

#[tokio::test]
async fn a_domestic_order_is_booked_once_and_reads_back_to_the_cent() {
    let h = harness().await;
    let reference = unique_reference("DOM");
    let mut plan = domestic_plan(&reference);
    plan.entry_date = last_day_of_last_year();
    assert_eq!(h.target.find(&reference, plan.kind).await.unwrap(), None);

    let booked = book(&h.target, &plan).await.expect("booked");
    assert_eq!(booked.total, Some(Money::new(dec!(70.74))));
    assert!(
        booked.number.as_deref().unwrap().starts_with("INV"),
        "{booked:?}"
    );
    let found = h.target.find(&reference, plan.kind).await.unwrap();
    assert_eq!(
        found.as_ref(),
        Some(&booked),
        "found by reference after booking"
    );
    assert_eq!(
        h.target
            .find(&reference, EntryKind::CreditNote)
            .await
            .unwrap(),
        None,
        "an invoice is not a credit note"
    );

    let invoice = h.tryton.invoice(&booked.id).await;
    assert_eq!(invoice["state"], "posted");
    assert_eq!(invoice["reference"], reference.as_str());
    assert_eq!(invoice["number"].as_str(), booked.number.as_deref());
    assert_eq!(amount(&invoice["untaxed_amount"]), dec!(59.95));
    assert_eq!(amount(&invoice["tax_amount"]), dec!(10.79));
    assert_eq!(amount(&invoice["total_amount"]), dec!(70.74));
    assert_eq!(
        h.tryton.taxes(&booked.id).await,
        vec![
            ("BTW 21% (hoog tarief)".into(), dec!(44.95), dec!(9.44)),
            ("BTW 9% (laag tarief)".into(), dec!(15.00), dec!(1.35)),
        ]
    );
    assert_eq!(
        h.tryton.move_lines(&invoice).await,
        vec![
            ("1.2.1".into(), dec!(70.74), dec!(0)),
            ("6.3.6".into(), dec!(0), dec!(1.35)),
            ("6.3.6".into(), dec!(0), dec!(9.44)),
            ("8000".into(), dec!(0), dec!(15.00)),
            ("8000".into(), dec!(0), dec!(40.00)),
            ("8050".into(), dec!(0), dec!(4.95)),
        ]
    );
    assert_eq!(h.tryton.invoices_with_reference(&reference).await.len(), 1);

    // Backdated: Tryton warned that the payment date has passed, and was answered.
    let audit = h.store.audit_entries(CONNECTION, 1000).await.unwrap();
    let bodies: Vec<&str> = audit
        .iter()
        .filter_map(|e| e.request_body.as_deref())
        .collect();
    assert!(bodies
        .iter()
        .any(|b| b.contains("model.res.user.warning.skip")));

    // The same customer again: found by e-mail, not created twice.
    let again = unique_reference("DOM");
    let mut second = domestic_plan(&again);
    second.customer = plan.customer.clone();
    book(&h.target, &second).await.expect("second order booked");
    let email = plan.customer.email.as_ref().unwrap().as_str();
    assert_eq!(h.tryton.parties_with_email(email).await, 1);
}

#[tokio::test]
async fn an_intra_eu_reverse_charge_invoice_has_no_vat_and_the_customers_number() {
    let h = harness().await;
    let reference = unique_reference("ICP");
    let plan = plan(
        &reference,
        EntryKind::SalesEntry,
        business_customer(&reference, "BE0477472701", "BE"),
        vec![line(
            "8020",
            "Broodmanden (10x)",
            dec!(125.00),
            "VAT 0% intra-EU reverse charge",
            dec!(0),
        )],
    );
    let booked = book(&h.target, &plan).await.expect("booked");
    assert_eq!(booked.total, Some(Money::new(dec!(125.00))));
    let invoice = h.tryton.invoice(&booked.id).await;
    assert_eq!(invoice["state"], "posted");
    assert_eq!(amount(&invoice["tax_amount"]), dec!(0));
    assert_eq!(
        h.tryton.taxes(&booked.id).await,
        vec![(
            "BTW verlegd (intracommunautair)".into(),
            dec!(125.00),
            dec!(0)
        )]
    );
    let identifiers = h
        .tryton
        .search_read(
            "party.identifier",
            json!([["party", "=", invoice["party"]]]),
            &["type", "code_compact"],
        )
        .await;
    assert_eq!(identifiers[0]["type"], "eu_vat");
    assert_eq!(identifiers[0]["code_compact"], "BE0477472701");
    assert_eq!(
        h.tryton.move_lines(&invoice).await,
        vec![
            ("1.2.1".into(), dec!(125.00), dec!(0)),
            ("8020".into(), dec!(0), dec!(125.00)),
        ]
    );
}

#[tokio::test]
async fn a_credit_note_is_booked_negative_and_linked_to_its_invoice() {
    let h = harness().await;
    let original_reference = unique_reference("ORD");
    let original = domestic_plan(&original_reference);
    let invoice = book(&h.target, &original)
        .await
        .expect("the order is booked");

    let refund_reference = format!("{original_reference}-R1");
    let mut refund = plan(
        &refund_reference,
        EntryKind::CreditNote,
        original.customer.clone(),
        vec![
            line("8000", "T-shirt (2x)", dec!(-40.00), "VAT 21%", dec!(-8.40)),
            line("8050", "Verzending", dec!(-4.95), "VAT 21%", dec!(-1.04)),
        ],
    );
    refund.corrects_reference = Some(original_reference.clone());
    assert_eq!(
        h.target.find(&refund_reference, refund.kind).await.unwrap(),
        None
    );
    let credit = book(&h.target, &refund)
        .await
        .expect("the credit note is booked");
    assert_eq!(credit.total, Some(Money::new(dec!(-54.39))));
    assert!(
        credit.number.as_deref().unwrap().starts_with("CN"),
        "{credit:?}"
    );
    assert_eq!(
        h.target
            .find(&refund_reference, EntryKind::CreditNote)
            .await
            .unwrap(),
        Some(credit.clone())
    );
    assert_eq!(
        h.target
            .find(&refund_reference, EntryKind::SalesEntry)
            .await
            .unwrap(),
        None
    );

    let note = h.tryton.invoice(&credit.id).await;
    assert_eq!(note["state"], "posted");
    assert_eq!(note["sequence_type_cache"], "credit_note");
    assert_eq!(
        note["origin_invoices"],
        json!([invoice.id.parse::<i64>().unwrap()])
    );
    assert_eq!(amount(&note["untaxed_amount"]), dec!(-44.95));
    assert_eq!(amount(&note["tax_amount"]), dec!(-9.44));
    assert_eq!(
        h.tryton.move_lines(&note).await,
        vec![
            ("1.2.1".into(), dec!(0), dec!(54.39)),
            ("6.3.6".into(), dec!(9.44), dec!(0)),
            ("8000".into(), dec!(40.00), dec!(0)),
            ("8050".into(), dec!(4.95), dec!(0)),
        ]
    );
}

#[tokio::test]
async fn a_draft_left_by_a_crash_is_posted_not_duplicated() {
    let h = harness().await;
    let reference = unique_reference("CRASH");
    let plan = domestic_plan(&reference);
    let prepared = h.target.prepare(&plan).await.expect("prepared");
    let email = plan.customer.email.as_ref().unwrap().as_str();
    let draft = h.tryton.create_draft(&plan, email).await;
    assert_eq!(
        h.target.find(&reference, plan.kind).await.unwrap(),
        None,
        "a draft is not a booking"
    );

    let booked = h.target.post(&prepared).await.expect("the draft is posted");
    assert_eq!(booked.id, draft.to_string(), "the draft itself is posted");
    assert_eq!(booked.total, Some(plan.total));
    let invoices = h.tryton.invoices_with_reference(&reference).await;
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(invoices[0]["state"], "posted");

    // Posting again (an answer lost after the post) returns the same booking.
    let again = h.target.post(&prepared).await.expect("already booked");
    assert_eq!(again, booked);
    assert_eq!(h.tryton.invoices_with_reference(&reference).await.len(), 1);
}

#[tokio::test]
async fn a_lost_answer_to_the_post_is_uncertain_and_found_by_reference() {
    tryton::server().await;
    let proxy = LossyProxy::start(
        tryton::server()
            .await
            .trim_start_matches("http://")
            .to_string(),
        "model.account.invoice.post",
    )
    .await;
    let h = harness_at(&proxy.url, PASSWORD).await;
    let reference = unique_reference("LOST");
    let plan = domestic_plan(&reference);
    let prepared = h.target.prepare(&plan).await.expect("prepared");

    proxy.arm();
    let error = h
        .target
        .post(&prepared)
        .await
        .expect_err("the answer was lost");
    assert_eq!(error.kind, ErrorKind::Uncertain, "{error:?}");
    let found = h
        .target
        .find(&reference, plan.kind)
        .await
        .unwrap()
        .expect("the post landed and is found by reference");
    assert_eq!(found.total, Some(plan.total));
    // Were it posted again regardless, the booking that landed is the answer.
    assert_eq!(
        h.target.post(&prepared).await.expect("already booked"),
        found
    );
    assert_eq!(h.tryton.invoices_with_reference(&reference).await.len(), 1);
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_transient_error() {
    // Bound, then closed: nothing listens on this port.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = harness_at(&format!("http://127.0.0.1:{port}"), PASSWORD).await;
    let error = h
        .target
        .find("NOWHERE-1", EntryKind::SalesEntry)
        .await
        .expect_err("nothing answers");
    assert!(
        matches!(error.kind, ErrorKind::Transient { .. }),
        "{error:?}"
    );
    assert!(error.message_for_user.contains("did not answer"), "{error}");
}

#[tokio::test]
async fn a_stale_draft_gives_way_to_the_current_plan() {
    let h = harness().await;
    let reference = unique_reference("STALE");
    let mut older = domestic_plan(&reference);
    // The earlier attempt created the customer, then its draft.
    h.target.prepare(&older).await.expect("prepared");
    older.lines[0].amount = Money::new(dec!(20.00));
    let email = older.customer.email.as_ref().unwrap().as_str().to_string();
    let stale = h.tryton.create_draft(&older, &email).await;

    let plan = domestic_plan(&reference);
    let booked = book(&h.target, &plan).await.expect("booked");
    assert_ne!(booked.id, stale.to_string());
    assert_eq!(booked.total, Some(plan.total));
    let invoices = h.tryton.invoices_with_reference(&reference).await;
    assert_eq!(invoices.len(), 1, "the stale draft is gone: {invoices:?}");
}

#[tokio::test]
async fn a_rounding_difference_is_booked_as_the_shop_charged_it() {
    let h = harness().await;
    let reference = unique_reference("ROUND");
    // 0.50 × 21% = 0.105: the shop rounds half up to 0.11, Tryton half to even to 0.10.
    let plan = plan(
        &reference,
        EntryKind::SalesEntry,
        private_customer(&reference),
        vec![line("8000", "Sticker", dec!(0.50), "VAT 21%", dec!(0.11))],
    );
    let booked = book(&h.target, &plan).await.expect("booked");
    assert_eq!(booked.total, Some(Money::new(dec!(0.61))));
    let invoice = h.tryton.invoice(&booked.id).await;
    assert_eq!(amount(&invoice["tax_amount"]), dec!(0.11));
    assert_eq!(
        h.tryton.taxes(&booked.id).await,
        vec![("BTW 21% (hoog tarief)".into(), dec!(0.50), dec!(0.11))]
    );
    assert!(h
        .tryton
        .move_lines(&invoice)
        .await
        .contains(&("6.3.6".into(), dec!(0), dec!(0.11))));
}

#[tokio::test]
async fn vat_beyond_rounding_is_refused_and_nothing_is_left_in_tryton() {
    let h = harness().await;
    let reference = unique_reference("RATE");
    // The shop charged 21%, but the settings map the treatment to the 9% tax.
    let plan = plan(
        &reference,
        EntryKind::SalesEntry,
        private_customer(&reference),
        vec![line("8000", "Lamp", dec!(100.00), "VAT 9%", dec!(21.00))],
    );
    let error = book(&h.target, &plan).await.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Rejected, "{error:?}");
    assert!(
        error
            .message_for_user
            .contains("more than a rounding difference")
            && error.message_for_user.contains("VAT 9%")
            && error.message_for_user.contains("9.00")
            && error.message_for_user.contains("21.00"),
        "{}",
        error.message_for_user
    );
    assert!(h
        .tryton
        .invoices_with_reference(&reference)
        .await
        .is_empty());
}

#[tokio::test]
async fn refusals_name_what_is_wrong_in_trytons_words_where_it_has_them() {
    let h = harness().await;

    let reference_1 = unique_reference("ACC");
    let mut unknown_account = domestic_plan(&reference_1);
    unknown_account.lines[0].account = "999999".into();
    let error = h
        .target
        .prepare(&unknown_account)
        .await
        .expect_err("no such account");
    assert_eq!(error.kind, ErrorKind::Config);
    assert!(
        error.message_for_user.contains("`999999` does not exist"),
        "{error}"
    );

    let mut unknown_tax = domestic_plan(&reference_1);
    unknown_tax.lines[1].vat_code = "BTW laag".into();
    let error = h
        .target
        .prepare(&unknown_tax)
        .await
        .expect_err("no such tax");
    assert_eq!(error.kind, ErrorKind::Config);
    assert!(error.message_for_user.contains("`BTW laag`"), "{error}");

    let mut not_revenue = domestic_plan(&reference_1);
    not_revenue.lines[2].account = "1.2.1".into();
    let error = h
        .target
        .prepare(&not_revenue)
        .await
        .expect_err("a receivable account");
    assert!(
        error.message_for_user.contains("not of a revenue type"),
        "{error}"
    );

    // Well-formed, but its check digits are wrong: Tryton's own words come back.
    let reference_2 = unique_reference("VAT");
    let bad_vat = plan(
        &reference_2,
        EntryKind::SalesEntry,
        business_customer(&reference_2, "NL123456789B01", "NL"),
        vec![line("8000", "Lamp", dec!(100.00), "VAT 21%", dec!(21.00))],
    );
    let error = h
        .target
        .prepare(&bad_vat)
        .await
        .expect_err("an invalid VAT number");
    assert_eq!(error.kind, ErrorKind::Rejected, "{error:?}");
    assert_eq!(
        error.message_for_user,
        format!(
            "The European VAT Number \"NL123456789B01\" for party \"Boulangerie Dupont ({reference_2})\" is not valid."
        )
    );

    // No fiscal year for the date: Tryton refuses to post, and says why.
    let reference_3 = unique_reference("OLD");
    let mut long_ago = domestic_plan(&reference_3);
    long_ago.entry_date = NaiveDate::from_ymd_opt(2001, 5, 1).unwrap();
    let error = book(&h.target, &long_ago)
        .await
        .expect_err("no fiscal year in 2001");
    assert_eq!(error.kind, ErrorKind::Rejected, "{error:?}");
    assert!(error.message_for_user.contains("05/01/2001"), "{error}");
    assert_eq!(
        h.target.find(&reference_3, long_ago.kind).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn an_expired_session_is_renewed_and_a_wrong_password_is_an_auth_error() {
    let h = harness().await;
    let reference = unique_reference("SESSION");
    assert_eq!(
        h.target
            .find(&reference, EntryKind::SalesEntry)
            .await
            .unwrap(),
        None
    );
    let stored = h
        .store
        .token(CONNECTION)
        .await
        .unwrap()
        .expect("session stored");
    let user_id = stored.access_token.split(':').nth(1).unwrap().to_string();
    let expired = format!(
        "{USER}:{user_id}:0000000000000000000000000000000000000000000000000000000000000000"
    );
    h.store
        .save_token(
            CONNECTION,
            &TokenRecord {
                access_token: expired.clone(),
                ..stored.clone()
            },
        )
        .await
        .unwrap();

    let plan = domestic_plan(&reference);
    book(&h.target, &plan)
        .await
        .expect("booked after logging in again");
    let renewed = h.store.token(CONNECTION).await.unwrap().unwrap();
    assert_ne!(renewed.access_token, expired);
    assert_ne!(renewed.access_token, stored.access_token);
    let audit = h.store.audit_entries(CONNECTION, 1000).await.unwrap();
    assert!(
        audit.iter().any(|e| e.status == Some(401)),
        "Tryton refused the old session"
    );

    let url = tryton::server().await;
    let wrong = harness_at(&url, "not-the-password").await;
    let error = wrong
        .target
        .find(&reference, EntryKind::SalesEntry)
        .await
        .expect_err("refused");
    assert_eq!(error.kind, ErrorKind::Auth, "{error:?}");
    assert!(error.message_for_user.contains("`connector`"), "{error}");
}

#[tokio::test]
async fn the_audit_log_has_every_call_and_no_password_or_session() {
    let h = harness().await;
    let reference = unique_reference("AUDIT");
    book(&h.target, &domestic_plan(&reference))
        .await
        .expect("booked");
    let session = h
        .store
        .token(CONNECTION)
        .await
        .unwrap()
        .unwrap()
        .access_token;
    let secret_part = session.rsplit(':').next().unwrap().to_string();
    let audit = h.store.audit_entries(CONNECTION, 1000).await.unwrap();
    assert!(audit.iter().all(|e| e.system == "tryton"));
    let texts: Vec<String> = audit
        .iter()
        .map(|e| {
            format!(
                "{} {:?} {:?} {:?}",
                e.url, e.request_body, e.response_body, e.error
            )
        })
        .collect();
    for text in &texts {
        assert!(
            !text.contains(PASSWORD),
            "password in the audit log: {text}"
        );
        assert!(
            !text.contains(&secret_part),
            "session in the audit log: {text}"
        );
    }
    let login = texts
        .iter()
        .find(|t| t.contains("common.db.login"))
        .expect("the login is recorded");
    assert!(login.contains("[redacted]"), "{login}");
    for method in [
        "model.res.user.get_preferences",
        "model.account.invoice.create",
        "model.account.invoice.post",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(method)),
            "{method} is recorded"
        );
    }
}

#[tokio::test]
async fn a_party_ledgerlink_created_follows_the_shop_without_touching_posted_invoices() {
    let h = harness().await;
    let first_reference = unique_reference("MOV");
    let first = domestic_plan(&first_reference);
    let booked_first = book(&h.target, &first).await.expect("first booked");

    // The customer moved and changed their name in the shop.
    let second_reference = unique_reference("MOV");
    let mut second = domestic_plan(&second_reference);
    second.customer = first.customer.clone();
    second.customer.name = format!("{} van Dijk", first.customer.name);
    second.customer.address.line1 = "Prinsengracht 7".into();
    second.customer.address.line2 = None;
    second.customer.address.city = "Haarlem".into();
    second.customer.address.postcode = "2011 AA".into();
    let booked_second = book(&h.target, &second).await.expect("second booked");

    let email = first.customer.email.as_ref().unwrap().as_str();
    assert_eq!(
        h.tryton.parties_with_email(email).await,
        1,
        "updated, not duplicated"
    );
    let party = h
        .tryton
        .id("party.contact_mechanism", json!([["value", "=", email]]))
        .await;
    let parties = h
        .tryton
        .search_read(
            "party.contact_mechanism",
            json!([["id", "=", party]]),
            &["party"],
        )
        .await;
    let party_id = parties[0]["party"].as_i64().unwrap();
    let named = h
        .tryton
        .search_read("party.party", json!([["id", "=", party_id]]), &["name"])
        .await;
    assert_eq!(named[0]["name"], second.customer.name.as_str());

    let address_city = |invoice: Value| {
        let tryton = &h.tryton;
        async move {
            let address = invoice["invoice_address"].as_i64().unwrap();
            let found = tryton
                .search_read("party.address", json!([["id", "=", address]]), &["city"])
                .await;
            found[0]["city"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(
        address_city(h.tryton.invoice(&booked_second.id).await).await,
        "Haarlem"
    );
    assert_eq!(
        address_city(h.tryton.invoice(&booked_first.id).await).await,
        "Amsterdam",
        "the posted invoice keeps the address it was made with"
    );

    // Unchanged data costs no write.
    let writes_before = party_writes(&h).await;
    let mut third = domestic_plan(&unique_reference("MOV"));
    third.customer = second.customer.clone();
    book(&h.target, &third).await.expect("third booked");
    assert_eq!(party_writes(&h).await, writes_before);
}

/// The connector's writes to parties and their addresses, from its audit log.
async fn party_writes(h: &Harness) -> usize {
    h.store
        .audit_entries(CONNECTION, 10_000)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.request_body.as_deref())
        .filter(|b| {
            b.contains("model.party.party.write") || b.contains("model.party.address.create")
        })
        .count()
}

#[tokio::test]
async fn the_ledgers_own_accounts_journals_and_taxes_are_listed_for_a_person_to_choose() {
    let h = harness().await;
    let codes = h.target.ledger_codes().await.unwrap();
    let has = |list: &[ledgerlink_targets::LedgerCode], code: &str| {
        list.iter()
            .any(|c| c.code == code && !c.description.is_empty())
    };
    for account in ["8000", "8020", "8030", "8050", "8990"] {
        assert!(
            has(&codes.accounts, account),
            "{account}: {:?}",
            codes.accounts
        );
    }
    assert!(
        codes.journals.iter().any(|j| j.code == "REV"),
        "{:?}",
        codes.journals
    );
    for tax in ["VAT 21%", "VAT 9%", "VAT 0% export"] {
        assert!(
            codes.vat_codes.iter().any(|t| t.code == tax),
            "{tax}: {:?}",
            codes.vat_codes
        );
    }
    let sorted =
        |list: &[ledgerlink_targets::LedgerCode]| list.windows(2).all(|w| w[0].code <= w[1].code);
    assert!(sorted(&codes.accounts) && sorted(&codes.journals) && sorted(&codes.vat_codes));
}
