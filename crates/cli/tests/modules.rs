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
            paid: false,
        },
        by_method: Default::default(),
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
