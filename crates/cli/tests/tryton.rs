//! WooCommerce and PrestaShop into a real Tryton ledger, end to end. The test reads the
//! posted invoices back from Tryton itself (over its own JSON-RPC, not through our client)
//! and checks totals and taxes to the cent against what the shop charged.
//!
//! Needs a Tryton server: when none answers, `tools/tryton/setup.sh` starts one (about a
//! minute the first time).

use std::sync::Arc;
use std::time::Duration;

use ledgerlink::demo::{
    demo_settings_tryton, DemoLedger, DemoWorld, CONNECTION, TRYTON_DATABASE, TRYTON_PASSWORD,
    TRYTON_USER,
};
use ledgerlink_core::Document;
use ledgerlink_engine::config::{ConnectionConfig, SourceConfig, TargetConfig};
use ledgerlink_engine::{Engine, EngineOptions};
use ledgerlink_sandbox::prestashop::{fixtures as presta_fixtures, PrestaConfig, PrestaSandbox};
use ledgerlink_sandbox::woocommerce::fixtures;
use ledgerlink_store::{DocState, Keyring, LedgerRow, SqliteStore, Store};
use ledgerlink_testkit::tryton::{self, decimal, TrytonBooks};

/// References no other test (or earlier run) uses: the Tryton database is shared.
fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}{:x}-", nanos % 0xffff_ffff)
}

fn options() -> EngineOptions {
    EngineOptions {
        settle_delay: Duration::from_millis(50),
        retry_base: Duration::from_millis(50),
        ..EngineOptions::default()
    }
}

/// Every booked document is exactly one posted invoice in Tryton, with the shop's net, VAT
/// and total to the cent and an accounting move.
async fn assert_booked_as_charged(reader: &TrytonBooks, rows: &[LedgerRow]) -> usize {
    let mut booked = 0;
    for row in rows.iter().filter(|r| r.state == DocState::Booked) {
        let reference = row.reference.as_deref().unwrap();
        let invoices = reader.invoices(reference).await;
        assert_eq!(invoices.len(), 1, "{reference}: one invoice");
        let invoice = &invoices[0];
        assert_eq!(invoice["state"], "posted", "{reference}");
        assert!(
            invoice["move"].as_i64().is_some(),
            "{reference} has its accounting move"
        );
        let document: Document = serde_json::from_value(row.document_json.clone()).unwrap();
        assert_eq!(
            decimal(&invoice["total_amount"]),
            document.total.amount(),
            "{reference}: total"
        );
        assert_eq!(
            decimal(&invoice["tax_amount"]),
            document.total_tax.amount(),
            "{reference}: VAT"
        );
        assert_eq!(
            decimal(&invoice["untaxed_amount"]),
            (document.total - document.total_tax).amount(),
            "{reference}: net"
        );
        booked += 1;
    }
    booked
}

#[tokio::test]
async fn woocommerce_orders_are_posted_in_tryton_as_charged() {
    let url = tryton::server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = demo_settings_tryton();
    settings.reference_prefix = unique_prefix("WT");
    let world = DemoWorld::start_with(
        &dir.path().join("ledger.sqlite"),
        options(),
        DemoLedger::Tryton { url: url.clone() },
        Some(settings),
    )
    .await
    .unwrap();
    let orders = fixtures::demo_mix(&world.shop);
    world.register_vat_numbers(&orders);
    world.settle().await.unwrap();

    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    let reader = TrytonBooks::open(&url).await;
    let booked = assert_booked_as_charged(&reader, &rows).await;
    assert!(booked >= 10, "most of the mix is booked: {booked}");
    assert!(
        rows.iter()
            .any(|r| r.kind == "refund" && r.state == DocState::Booked),
        "a credit note is posted"
    );
    for row in rows.iter().filter(|r| r.state != DocState::Booked) {
        assert!(
            row.reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{} {} says why",
            row.kind,
            row.number
        );
    }
}

#[tokio::test]
async fn prestashop_orders_are_posted_in_tryton_as_charged() {
    let url = tryton::server().await;
    let dir = tempfile::tempdir().unwrap();
    let (shop_running, shop) = PrestaSandbox::start(PrestaConfig::default(), 0)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("ledger.sqlite"))
            .await
            .unwrap()
            .with_keyring(Keyring::ephemeral()),
    );
    let mut booking = demo_settings_tryton();
    booking.reference_prefix = unique_prefix("PT");
    booking.triggers = vec!["flag:paid".into()];
    booking.skip_statuses = vec!["state:6".into()];
    booking.vies_check = false;
    let config = ConnectionConfig {
        id: CONNECTION.into(),
        name: "PrestaShop into Tryton".into(),
        source: SourceConfig::Prestashop {
            url: shop_running.base_url(),
            api_key: shop.config().api_key.clone().into(),
        },
        target: TargetConfig::Tryton {
            url: url.clone(),
            database: TRYTON_DATABASE.into(),
            username: TRYTON_USER.into(),
            password: TRYTON_PASSWORD.to_string().into(),
        },
        booking,
        notifications: None,
        owner: None,
    };
    let connection = config
        .build(store.clone(), Duration::from_secs(30))
        .await
        .unwrap();
    let engine = Engine::new(store.clone(), vec![connection], options());
    presta_fixtures::demo_mix(&shop);
    engine.sweep(CONNECTION).await.unwrap();
    for _ in 0..200 {
        engine.run_until_idle(50).await.unwrap();
        if store.open_count().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = store.documents(CONNECTION, None).await.unwrap();
    assert_eq!(
        store.open_count().await.unwrap(),
        0,
        "everything settled: {rows:#?}"
    );
    let reader = TrytonBooks::open(&url).await;
    let booked = assert_booked_as_charged(&reader, &rows).await;
    assert!(
        booked >= 5,
        "the domestic, reverse-charge and export orders are booked: {rows:#?}"
    );
}
