//! The modules end to end: WooCommerce emulator → ledger → rules → Exact Online emulator, with
//! the merchant's module settings. Judged by what Exact recorded and answered.

use std::path::Path;
use std::time::Duration;

use ledgerlink::demo::{demo_settings, DemoLedger, DemoWorld, CONNECTION};
use ledgerlink_engine::EngineOptions;
use ledgerlink_rules::settings::{
    ClassificationRule, CollectiveDebtor, ExtraField, FieldSource, PaymentTerm, PaymentTerms,
};
use ledgerlink_rules::BookingSettings;
use ledgerlink_sandbox::woocommerce::{AddressSpec, CustomerSpec, LineSpec, OrderSpec};
use ledgerlink_store::DocState;
use rust_decimal_macros::dec;
use serde_json::Value;

const DIVISION: i32 = 100001;

fn fast() -> EngineOptions {
    EngineOptions {
        lease: Duration::from_secs(30),
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
        batch: 50,
    }
}

async fn world(dir: &Path, settings: BookingSettings) -> DemoWorld {
    DemoWorld::start_with(
        &dir.join("ledger.sqlite"),
        fast(),
        DemoLedger::Exact,
        Some(settings),
    )
    .await
    .unwrap()
}

/// The merchant's modules: classification, extra fields, payment terms, a collective debtor.
fn settings() -> BookingSettings {
    let mut settings = demo_settings();
    settings.classifications = vec![ClassificationRule {
        kind: Some(ledgerlink_core::CustomerKind::Business),
        foreign: Some(true),
        classification: "B2B-EU".into(),
        ..ClassificationRule::default()
    }];
    settings.extra_fields = [
        (
            ExtraField::YourReference,
            FieldSource::Field("po_number".into()),
        ),
        (
            ExtraField::PaymentReference,
            FieldSource::Field("transaction_id".into()),
        ),
        (
            ExtraField::IntrastatTransactionA,
            FieldSource::Value("1".into()),
        ),
    ]
    .into();
    settings.payment_terms = Some(PaymentTerms {
        default: PaymentTerm {
            condition: Some("30".into()),
            due_days: Some(30),
            ..PaymentTerm::default()
        },
        ..PaymentTerms::default()
    });
    settings.customers.private.collective_debtor = Some(CollectiveDebtor {
        default: Some("9999".into()),
        by_country: Default::default(),
    });
    settings
}

fn business_order(phone: &str) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Lotte".into(),
            last_name: "Peeters".into(),
            company: "Brouwerij Peeters BV".into(),
            email: "inkoop@peeters.example.be".into(),
            phone: phone.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Grote Markt 1".into(),
            city: "Antwerpen".into(),
            postcode: "2000".into(),
            country: "BE".into(),
            ..AddressSpec::default()
        },
        shipping: Some(AddressSpec {
            address_1: "Havenlaan 40".into(),
            city: "Gent".into(),
            postcode: "9000".into(),
            country: "BE".into(),
            ..AddressSpec::default()
        }),
        vat_number: Some("BE0477472701".into()),
        transaction_id: "tr_8KQ2XY".into(),
        meta: vec![("po_number".into(), "PO-4711".into())],
        lines: vec![LineSpec {
            name: "Fust".into(),
            quantity: 4,
            unit_price: dec!(37.50),
            tax_rate: dec!(0),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

/// A date as Exact's OData writes it: `/Date(<ms since 1970>)/`.
fn odata_date(value: &Value) -> chrono::NaiveDate {
    let text = value.as_str().expect("a date");
    let millis: i64 = text
        .trim_start_matches("/Date(")
        .trim_end_matches(")/")
        .parse()
        .expect("milliseconds");
    chrono::DateTime::from_timestamp_millis(millis)
        .expect("a valid instant")
        .date_naive()
}

/// What Exact answered to each booking's POST: the entry as it stored it.
async fn posted_entries(world: &DemoWorld) -> Vec<Value> {
    let mut entries: Vec<Value> = world
        .engine
        .store()
        .audit_entries(CONNECTION, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.method == "POST" && e.url.ends_with("salesentry/SalesEntries"))
        .filter_map(|e| serde_json::from_str::<Value>(e.response_body.as_deref()?).ok())
        .map(|body| body["d"].clone())
        .collect();
    entries.sort_by_key(|e| e["EntryNumber"].as_i64());
    entries
}

#[tokio::test]
async fn module_settings_reach_exact_and_the_relation_is_kept_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), settings()).await;
    world
        .vies
        .register("BE", "0477472701", Some("Brouwerij Peeters BV"), None);
    world.shop.create_order(business_order("+32 3 123 45 67"));
    world.settle().await.unwrap();

    let entries = posted_entries(&world).await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let entry = &entries[0];
    assert_eq!(
        entry["PaymentCondition"].as_str().map(str::trim),
        Some("30")
    );
    assert_eq!(entry["PaymentReference"], "tr_8KQ2XY");
    assert!(
        entry["Description"].as_str().unwrap().contains("PO-4711"),
        "{entry}"
    );
    let entry_date = odata_date(&entry["EntryDate"]);
    assert_eq!(
        odata_date(&entry["DueDate"]),
        entry_date + chrono::Days::new(30)
    );
    let lines = entry["SalesEntryLines"]["results"]
        .as_array()
        .or_else(|| entry["SalesEntryLines"].as_array())
        .expect("the entry's lines");
    assert_eq!(lines[0]["IntraStatTransactionA"], "1", "{entry}");

    // The business got its own relation, classified, with its delivery address.
    let accounts = world.exact.accounts(DIVISION);
    let account = accounts
        .iter()
        .find(|a| a["Email"] == "inkoop@peeters.example.be")
        .expect("the relation was created");
    assert!(account["Classification1"].is_string(), "{account}");
    assert_eq!(
        world.exact.recorder().count("POST", "crm/Addresses"),
        1,
        "the delivery address"
    );

    // The same customer with a new phone number: the relation is updated, not duplicated.
    world.shop.create_order(business_order("+32 3 765 43 21"));
    world.settle().await.unwrap();
    assert_eq!(world.exact.recorder().count("PUT", "crm/Accounts"), 1);
    let updated = world
        .exact
        .accounts(DIVISION)
        .into_iter()
        .filter(|a| a["Email"] == "inkoop@peeters.example.be")
        .collect::<Vec<_>>();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["Phone"], "+32 3 765 43 21");
    // Unchanged data costs no update.
    world.shop.create_order(business_order("+32 3 765 43 21"));
    world.settle().await.unwrap();
    assert_eq!(world.exact.recorder().count("PUT", "crm/Accounts"), 1);
    assert_eq!(posted_entries(&world).await.len(), 3);
    // A new delivery address is added beside the old one; the relation itself is unchanged.
    let mut moved = business_order("+32 3 765 43 21");
    moved.shipping.as_mut().unwrap().address_1 = "Dokweg 7".into();
    world.shop.create_order(moved);
    world.settle().await.unwrap();
    assert_eq!(world.exact.recorder().count("POST", "crm/Addresses"), 2);
    assert_eq!(world.exact.recorder().count("PUT", "crm/Accounts"), 1);
    assert!(world
        .exact
        .sales_entries(DIVISION)
        .iter()
        .all(|e| !e.modified_after_creation));
}

#[tokio::test]
async fn a_private_customer_waits_for_a_collective_relation_exact_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), settings()).await;
    world.shop.create_order(OrderSpec {
        customer: CustomerSpec {
            first_name: "Noor".into(),
            last_name: "Visser".into(),
            email: "noor@example.nl".into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Lange Nieuwstraat 2".into(),
            city: "Utrecht".into(),
            postcode: "3512 PH".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Kaars".into(),
            quantity: 3,
            unit_price: dec!(4.10),
            tax_rate: dec!(21),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    });
    world.settle().await.unwrap();
    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    assert_eq!(rows[0].state, DocState::Held);
    let reason = rows[0].reason.as_deref().unwrap();
    assert!(
        reason.contains("collective relation `9999` does not exist in Exact Online"),
        "{reason}"
    );
    // Never created: a collective relation is the bookkeeper's.
    assert_eq!(world.exact.recorder().count("POST", "crm/Accounts"), 0);
    assert!(world.exact.sales_entries(DIVISION).is_empty());
}

/// The shop's site time (the WooCommerce emulator's: UTC+1).
const SITE_OFFSET: chrono::Duration = chrono::Duration::hours(1);

/// The shop-local day `days_ago` days back.
fn site_day(days_ago: i64) -> chrono::NaiveDate {
    (chrono::Utc::now() + SITE_OFFSET).date_naive() - chrono::Duration::days(days_ago)
}

/// When an order of `days_ago` was made: now for today; else at noon on that shop-local day, so
/// that a test run near midnight does not put it on another day.
fn created(days_ago: i64) -> chrono::DateTime<chrono::Utc> {
    if days_ago == 0 {
        return chrono::Utc::now();
    }
    site_day(days_ago)
        .and_hms_opt(12, 0, 0)
        .expect("noon exists")
        .and_utc()
        - SITE_OFFSET
}

fn private_order(
    email: &str,
    country: &str,
    postcode: &str,
    price: rust_decimal::Decimal,
    rate: rust_decimal::Decimal,
    days_ago: i64,
) -> OrderSpec {
    OrderSpec {
        date_created: Some(created(days_ago)),
        customer: CustomerSpec {
            first_name: "Noor".into(),
            last_name: "Visser".into(),
            email: email.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Lange Nieuwstraat 2".into(),
            city: "Utrecht".into(),
            postcode: postcode.into(),
            country: country.into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Kaars".into(),
            quantity: 2,
            unit_price: price,
            tax_rate: rate,
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

/// Daily summaries on the collective debtor 9999, which the bookkeeper made in Exact.
async fn summary_world(dir: &Path) -> DemoWorld {
    let mut settings = settings();
    settings.posting.mode = ledgerlink_rules::settings::PostingMode::DailySummary;
    let world = world(dir, settings).await;
    world
        .exact
        .create_account(
            DIVISION,
            serde_json::json!({ "Code": "9999", "Name": "Webshop particulieren", "Status": "C" }),
        )
        .unwrap();
    world
}

#[tokio::test]
async fn private_sales_of_a_day_are_booked_as_one_summary_per_vat_treatment() {
    let dir = tempfile::tempdir().unwrap();
    let world = summary_world(dir.path()).await;
    world
        .vies
        .register("BE", "0477472701", Some("Brouwerij Peeters BV"), None);
    // Three Dutch and one German consumer two days ago, a Belgian business, and one Dutch
    // consumer today (whose day has not closed yet).
    let dutch: Vec<Value> = ["a@example.nl", "b@example.nl", "c@example.nl"]
        .iter()
        .map(|email| {
            world.shop.create_order(private_order(
                email,
                "NL",
                "3512 PH",
                dec!(10.00),
                dec!(21),
                2,
            ))
        })
        .collect();
    world.shop.create_order(private_order(
        "d@example.de",
        "DE",
        "10115",
        dec!(20.00),
        dec!(19),
        2,
    ));
    world.shop.create_order(business_order("+32 3 123 45 67"));
    world.shop.create_order(private_order(
        "e@example.nl",
        "NL",
        "3512 PH",
        dec!(5.00),
        dec!(21),
        0,
    ));
    world.settle().await.unwrap();

    let entries = world.exact.sales_entries(DIVISION);
    assert_eq!(
        entries.len(),
        3,
        "a domestic summary, an OSS summary, the business: {entries:#?}"
    );
    let prefix = format!("WC-S{}-", site_day(2).format("%Y%m%d"));
    let summaries: Vec<_> = entries
        .iter()
        .filter(|e| e.your_ref.as_deref().unwrap_or("").starts_with(&prefix))
        .collect();
    assert_eq!(summaries.len(), 2, "{entries:#?}");
    // Each Dutch order is 2 × 10.00 + 21% = 24.20; the German one 2 × 20.00 + 19% = 47.60.
    let mut totals: Vec<_> = summaries.iter().map(|e| e.amount_fc).collect();
    totals.sort();
    assert_eq!(totals, [dec!(47.60), dec!(72.60)]);
    assert!(summaries
        .iter()
        .all(|e| e.entry_date == site_day(2).to_string()));
    let collective = world
        .exact
        .accounts(DIVISION)
        .into_iter()
        .find(|a| a["Code"].as_str().map(str::trim) == Some("9999"))
        .unwrap();
    assert!(summaries
        .iter()
        .all(|e| collective["ID"] == e.customer.to_string()));

    // The ledger keeps which documents each summary covers; the members are booked with it.
    let store = world.engine.store();
    let rows = store.documents(CONNECTION, None).await.unwrap();
    let domestic = rows
        .iter()
        .find(|r| {
            r.kind == "summary"
                && r.plan_json.as_ref().is_some_and(|p| {
                    p["total"].as_str().and_then(|t| t.parse().ok()) == Some(dec!(72.60))
                })
        })
        .expect("the domestic summary");
    assert_eq!(domestic.state, DocState::Booked);
    let covered: Vec<String> = store
        .summary_members(domestic.id)
        .await
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m.state, DocState::Booked);
            assert_eq!(m.target_id, domestic.target_id);
            m.number.clone()
        })
        .collect();
    let numbers: Vec<String> = dutch
        .iter()
        .map(|o| o["number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(covered, numbers);
    let plan = domestic.plan_json.as_ref().unwrap();
    assert_eq!(plan["covers"].as_array().unwrap().len(), 3);
    // Exact's lines carry the covered orders in their notes.
    let posted = posted_entries(&world).await;
    let summary_entry = posted
        .iter()
        .find(|e| e["YourRef"] == domestic.number)
        .expect("the summary as Exact answered it");
    let lines = summary_entry["SalesEntryLines"]["results"]
        .as_array()
        .or_else(|| summary_entry["SalesEntryLines"].as_array())
        .unwrap();
    let notes = lines[0]["Notes"].as_str().unwrap_or_default();
    for number in &numbers {
        assert!(notes.contains(&format!("WC-{number}")), "{notes}");
    }

    // Today's order waits for its day to close; nothing of it is in Exact yet.
    let today = rows
        .iter()
        .find(|r| r.kind == "order" && r.state == DocState::Pooled)
        .expect("today's order is pooled");
    let open_summary = store
        .document(today.summary_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open_summary.state, DocState::Collecting);

    // A refund of a summarised order becomes a credit note crediting the summary entry.
    let refunded = dutch[0]["id"].as_u64().unwrap();
    world.shop.refund(
        refunded,
        ledgerlink_sandbox::woocommerce::RefundSpec {
            amount: Some(dec!(24.20)),
            reason: "Retour".into(),
            ..Default::default()
        },
    );
    world.settle().await.unwrap();
    let credit_notes: Vec<_> = world
        .exact
        .sales_entries(DIVISION)
        .into_iter()
        .filter(|e| e.entry_type == 21)
        .collect();
    assert_eq!(credit_notes.len(), 1);
    assert_eq!(credit_notes[0].amount_fc, dec!(-24.20));
    let credit_note = posted_entries(&world)
        .await
        .into_iter()
        .find(|e| e["Type"] == 21)
        .unwrap();
    assert!(
        credit_note["Description"]
            .as_str()
            .unwrap()
            .contains(&format!("credits {}", domestic.number)),
        "{credit_note}"
    );
    assert!(world
        .exact
        .sales_entries(DIVISION)
        .iter()
        .all(|e| !e.modified_after_creation));
}

#[tokio::test]
async fn a_summary_whose_response_was_lost_is_found_by_its_reference_not_posted_again() {
    use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
    let dir = tempfile::tempdir().unwrap();
    let world = summary_world(dir.path()).await;
    world.exact.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("salesentry/SalesEntries".into()),
        },
        fault: Fault::LoseResponse,
        times: 1,
    });
    for email in ["a@example.nl", "b@example.nl"] {
        world.shop.create_order(private_order(
            email,
            "NL",
            "3512 PH",
            dec!(10.00),
            dec!(21),
            2,
        ));
    }
    world.settle().await.unwrap();

    let entries = world.exact.sales_entries(DIVISION);
    assert_eq!(entries.len(), 1, "one summary entry, not two: {entries:#?}");
    assert_eq!(entries[0].amount_fc, dec!(48.40));
    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(row.state, DocState::Booked, "{} {}", row.kind, row.number);
        assert_eq!(row.target_id, Some(entries[0].entry_id.to_string()));
    }
    let summary = rows.iter().find(|r| r.kind == "summary").unwrap();
    let states: Vec<DocState> = world
        .engine
        .store()
        .transitions(summary.id)
        .await
        .unwrap()
        .iter()
        .map(|t| t.to_state)
        .collect();
    assert!(states.contains(&DocState::Uncertain), "{states:?}");
}

#[tokio::test]
async fn a_payment_registered_at_once_needs_a_cash_condition_in_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings();
    settings.customers.private.collective_debtor = None;
    let paid_with = |condition: &str| PaymentTerm {
        condition: Some(condition.into()),
        paid: true,
        ..PaymentTerm::default()
    };
    settings.payment_terms = Some(PaymentTerms {
        default: paid_with("30"),
        by_method: [("ideal".to_string(), paid_with("00"))].into(),
        ..PaymentTerms::default()
    });
    let world = world(dir.path(), settings).await;
    let on_credit = private_order(
        "credit@example.nl",
        "NL",
        "3512 PH",
        dec!(10.00),
        dec!(21),
        0,
    );
    world.shop.create_order(on_credit);
    world.shop.create_order(OrderSpec {
        payment_method: "ideal".into(),
        payment_method_title: "iDEAL".into(),
        ..private_order(
            "ideal@example.nl",
            "NL",
            "3512 PH",
            dec!(10.00),
            dec!(21),
            0,
        )
    });
    world.settle().await.unwrap();

    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    let held = rows
        .iter()
        .find(|r| r.state == DocState::Held)
        .expect("one held");
    let reason = held.reason.as_deref().unwrap();
    assert!(
        reason.contains("Payment condition `30`") && reason.contains("not Cash"),
        "{reason}"
    );
    let entries = posted_entries(&world).await;
    assert_eq!(entries.len(), 1, "only the iDEAL order: {entries:#?}");
    assert_eq!(
        entries[0]["PaymentCondition"].as_str().map(str::trim),
        Some("00")
    );
}

#[tokio::test]
async fn revenue_follows_the_product_category_the_shop_keeps_on_the_product() {
    use ledgerlink_rules::settings::RevenueRule;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings();
    settings.customers.private.collective_debtor = None;
    settings.accounts.revenue_rules = vec![RevenueRule {
        category: Some("coffee".into()),
        account: "8010".into(),
        ..RevenueRule::default()
    }];
    let world = world(dir.path(), settings).await;
    let order = |email: &str| OrderSpec {
        lines: vec![
            LineSpec {
                product_id: 11,
                name: "Espresso Beans 1 kg".into(),
                quantity: 1,
                unit_price: dec!(18.50),
                tax_rate: dec!(9),
                tax_class: "reduced-rate".into(),
                ..LineSpec::default()
            },
            LineSpec {
                name: "Mok".into(),
                quantity: 1,
                unit_price: dec!(8.00),
                tax_rate: dec!(21),
                ..LineSpec::default()
            },
        ],
        ..private_order(email, "NL", "3512 PH", dec!(1.00), dec!(21), 0)
    };
    world.shop.create_order(order("koffie@example.nl"));
    world.shop.create_order(order("thee@example.nl"));
    world.settle().await.unwrap();

    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.state, DocState::Booked, "{:?}", row.reason);
        let plan = row.plan_json.as_ref().unwrap();
        let account_of = |description: &str| {
            plan["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["description"].as_str().unwrap().contains(description))
                .map(|l| l["account"].as_str().unwrap().to_string())
        };
        assert_eq!(account_of("Espresso").as_deref(), Some("8010"), "{plan}");
        assert_eq!(account_of("Mok").as_deref(), Some("8000"), "{plan}");
    }
    // The product's category is read once and remembered.
    assert_eq!(world.shop.recorder().count("GET", "/products"), 1);
}

#[tokio::test]
async fn an_emailed_invoice_is_booked_once_and_mailed_once_even_when_processing_fails() {
    use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings();
    settings.customers.private.collective_debtor = None;
    settings.payment_terms = Some(PaymentTerms {
        by_method: [(
            "bacs".to_string(),
            PaymentTerm {
                due_days: Some(14),
                send_invoice_email: true,
                ..PaymentTerm::default()
            },
        )]
        .into(),
        invoice_item: Some("ART-1001".into()),
        ..PaymentTerms::default()
    });
    let world = world(dir.path(), settings).await;
    let by_transfer = |email: &str| OrderSpec {
        payment_method: "bacs".into(),
        payment_method_title: "Direct bank transfer".into(),
        ..private_order(email, "NL", "3512 PH", dec!(10.00), dec!(21), 0)
    };
    // The first processing fails before Exact applies it, the second after: each is looked up
    // and finished, never created or mailed twice.
    for fault in [Fault::ServerError, Fault::LoseResponse] {
        world.exact.faults().arm(ArmedFault {
            on: FaultMatch {
                method: Some("POST".into()),
                path_contains: Some("PrintedSalesInvoices".into()),
            },
            fault,
            times: 1,
        });
    }
    world.shop.create_order(by_transfer("eerste@example.nl"));
    world.shop.create_order(by_transfer("tweede@example.nl"));
    // Paid by iDEAL: an ordinary sales entry, no invoice, no mail.
    world.shop.create_order(OrderSpec {
        payment_method: "ideal".into(),
        payment_method_title: "iDEAL".into(),
        ..private_order(
            "ideal@example.nl",
            "NL",
            "3512 PH",
            dec!(10.00),
            dec!(21),
            0,
        )
    });
    world.settle().await.unwrap();

    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    assert!(
        rows.iter().all(|r| r.state == DocState::Booked),
        "{:#?}",
        rows.iter()
            .map(|r| (&r.number, r.state, &r.reason))
            .collect::<Vec<_>>()
    );
    let invoices = world.exact.sales_invoices(DIVISION);
    assert_eq!(invoices.len(), 2, "{invoices:#?}");
    assert!(invoices.iter().all(|i| i.status == 50), "both processed");
    let mails = world.exact.sent_invoice_emails(DIVISION);
    let mut to: Vec<String> = mails.iter().map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["eerste@example.nl", "tweede@example.nl"],
        "one mail each"
    );
    // Booked in the sales journal: three entries, each to the cent of its order (24.20).
    let entries = world.exact.sales_entries(DIVISION);
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.amount_fc == dec!(24.20)));
    assert_eq!(entries.iter().filter(|e| e.invoice.is_some()).count(), 2);
    assert!(entries.iter().all(|e| !e.modified_after_creation));
    assert_eq!(
        world.exact.faults().injected().len(),
        2,
        "both faults struck"
    );
}
