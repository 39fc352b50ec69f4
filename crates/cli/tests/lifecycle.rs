//! The rest of a document's life: missed webhooks, deletion before booking, backfill over a
//! date range, and what the audit log keeps.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use ledgerlink::demo::{DemoWorld, CONNECTION};
use ledgerlink_engine::EngineOptions;
use ledgerlink_sandbox::woocommerce::{AddressSpec, CustomerSpec, LineSpec, OrderSpec};
use ledgerlink_store::DocState;
use rust_decimal_macros::dec;

const DIVISION: i32 = 100001;

async fn world(dir: &std::path::Path) -> DemoWorld {
    let options = EngineOptions {
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        ..EngineOptions::default()
    };
    DemoWorld::start(&dir.join("ledger.sqlite"), options)
        .await
        .unwrap()
}

fn order(email: &str, status: &str) -> OrderSpec {
    OrderSpec {
        status: status.into(),
        customer: CustomerSpec {
            first_name: "Sem".into(),
            last_name: "de Boer".into(),
            email: email.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Markt 3".into(),
            city: "Delft".into(),
            postcode: "2611 GP".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Theepot".into(),
            quantity: 1,
            unit_price: dec!(24.95),
            tax_rate: dec!(21),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

#[tokio::test]
async fn the_sweeper_books_orders_whose_webhooks_never_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world
        .shop
        .create_order(order("missed1@example.nl", "processing"));
    world
        .shop
        .create_order(order("missed2@example.nl", "completed"));
    // No webhook is delivered: only the sweeper can find them.
    assert_eq!(world.engine.sweep(CONNECTION).await.unwrap(), 2);
    world.engine.run_until_idle(10).await.unwrap();
    assert_eq!(world.exact.sales_entries(DIVISION).len(), 2);
    let cursor = world
        .engine
        .store()
        .cursor(CONNECTION, "orders.modified_after")
        .await
        .unwrap();
    assert!(cursor.is_some(), "the cursor moved after the pass");
    // A later pass books nothing again.
    world.engine.sweep(CONNECTION).await.unwrap();
    world.engine.run_until_idle(10).await.unwrap();
    assert_eq!(world.exact.sales_entries(DIVISION).len(), 2);
}

#[tokio::test]
async fn the_sweeper_reads_every_order_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    for n in 0..230 {
        world
            .shop
            .create_order(order(&format!("bulk{n}@example.nl"), "on-hold"));
    }
    assert_eq!(world.engine.sweep(CONNECTION).await.unwrap(), 230);
    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    assert_eq!(rows.len(), 230, "every order once");
}

#[tokio::test]
async fn an_order_that_waits_and_is_then_deleted_is_never_booked() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    let created = world.shop.create_order(order("gone@example.nl", "pending"));
    world.settle().await.unwrap();
    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    assert_eq!(rows[0].state, DocState::Waiting);
    assert!(rows[0].reason.as_deref().unwrap().contains("`pending`"));

    world
        .shop
        .delete_order(created["id"].as_u64().unwrap(), false);
    world.settle().await.unwrap();
    let row = &world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap()[0];
    assert_eq!(row.state, DocState::Skipped, "{:?}", row.reason);
    assert!(row.reason.as_deref().unwrap().contains("not booked"));
    assert!(world.exact.sales_entries(DIVISION).is_empty());
}

#[tokio::test]
async fn backfill_takes_in_exactly_the_orders_of_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    for (day, email) in [
        (30, "sep@example.nl"),
        (1, "oct1@example.nl"),
        (31, "oct31@example.nl"),
    ] {
        let month = if day == 30 { 9 } else { 10 };
        let mut spec = order(email, "completed");
        spec.date_created = Some(Utc.with_ymd_and_hms(2026, month, day, 12, 0, 0).unwrap());
        world.shop.create_order(spec);
    }
    let mut spec = order("nov@example.nl", "completed");
    spec.date_created = Some(Utc.with_ymd_and_hms(2026, 11, 1, 0, 30, 0).unwrap());
    world.shop.create_order(spec);

    let progress = std::sync::Mutex::new(Vec::new());
    let taken = world
        .engine
        .backfill(
            CONNECTION,
            chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            &|done, total| progress.lock().unwrap().push((done, total)),
        )
        .await
        .unwrap();
    assert_eq!(taken, 2);
    assert_eq!(*progress.lock().unwrap(), vec![(1, 2), (2, 2)]);
    world.engine.run_until_idle(10).await.unwrap();
    let entries = world.exact.sales_entries(DIVISION);
    assert_eq!(entries.len(), 2);
    assert!(
        entries.iter().all(|e| e.entry_date.starts_with("2026-10")),
        "{entries:?}"
    );
}

#[tokio::test]
async fn the_audit_log_records_every_exchange_without_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world
        .shop
        .create_order(order("audit@example.nl", "processing"));
    world.settle().await.unwrap();
    let entries = world
        .engine
        .store()
        .audit_entries(CONNECTION, 1_000)
        .await
        .unwrap();
    assert!(entries.iter().any(|e| e.system == "exact"
        && e.url.ends_with("salesentry/SalesEntries")
        && e.status == Some(201)));
    assert!(entries
        .iter()
        .any(|e| e.system == "exact" && e.url.ends_with("/api/oauth2/token")));
    assert!(entries
        .iter()
        .any(|e| e.system == "woocommerce" && e.url.contains("/wp-json/wc/v3/orders")));

    let token = world
        .engine
        .store()
        .token(CONNECTION)
        .await
        .unwrap()
        .unwrap();
    let secrets = [
        world.exact.config().client_secret.clone(),
        world.shop.config().consumer_key.clone(),
        world.shop.config().consumer_secret.clone(),
        token.access_token,
        token.refresh_token,
    ];
    let dump = serde_json::to_string(&entries).unwrap();
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "a secret reached the audit log"
        );
    }
    assert!(dump.contains("[redacted]"));
}
