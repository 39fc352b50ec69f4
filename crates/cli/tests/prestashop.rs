//! PrestaShop → Exact Online end to end: a shop without webhooks, found by polling, with
//! configurable statuses matched on their flags, booked exactly once and to the cent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ledgerlink::demo::demo_settings;
use ledgerlink_core::Document;
use ledgerlink_engine::config::{ConnectionConfig, SourceConfig, TargetConfig};
use ledgerlink_engine::{Engine, EngineOptions};
use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::prestashop::{fixtures, PrestaConfig, PrestaSandbox};
use ledgerlink_store::{DocState, Keyring, SqliteStore, Store};

const DIVISION: i32 = 100001;

#[tokio::test]
async fn the_prestashop_mix_is_booked_once_and_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let (exact_running, exact) = ExactSandbox::start(ExactConfig::default(), 0)
        .await
        .unwrap();
    let (shop_running, shop) = PrestaSandbox::start(PrestaConfig::default(), 0)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("ledger.sqlite"))
            .await
            .unwrap()
            .with_keyring(Keyring::ephemeral()),
    );
    let mut booking = demo_settings();
    booking.triggers = vec!["flag:paid".into()];
    booking.skip_statuses = vec!["state:6".into()];
    booking.reference_prefix = "PS-".into();
    booking.vies_check = false;
    // Coffee has its own revenue account: PrestaShop keeps the category on the product.
    booking.accounts.revenue_rules = vec![ledgerlink_rules::settings::RevenueRule {
        category: Some("Coffee".into()),
        treatment: Some("domestic".into()),
        account: "8010".into(),
        ..Default::default()
    }];
    let config = ConnectionConfig {
        id: "presta".into(),
        name: "PrestaShop demo".into(),
        source: SourceConfig::Prestashop {
            url: shop_running.base_url(),
            api_key: shop.config().api_key.clone().into(),
        },
        target: TargetConfig::Exact {
            base_url: exact_running.base_url(),
            division: DIVISION,
            client_id: exact.config().client_id.clone(),
            client_secret: exact.config().client_secret.clone().into(),
            redirect_uri: exact.config().redirect_uri.clone(),
        },
        booking,
        notifications: None,
        owner: None,
    };
    let connection = config
        .build(store.clone(), Duration::from_secs(5))
        .await
        .unwrap();
    let target = connection
        .target
        .exact()
        .expect("an Exact Online connection");
    target
        .connect_with_code(&exact.issue_authorization_code())
        .await
        .unwrap();
    let options = EngineOptions {
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        ..EngineOptions::default()
    };
    let engine = Engine::new(store.clone(), vec![connection], options);

    let orders = fixtures::demo_mix(&shop);
    assert_eq!(engine.sweep("presta").await.unwrap(), orders.len());
    for _ in 0..100 {
        engine.run_until_idle(50).await.unwrap();
        if store.open_count().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.open_count().await.unwrap(), 0, "everything settled");

    let rows = store.documents("presta", None).await.unwrap();
    let entries = exact.sales_entries(DIVISION);
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    for entry in &entries {
        *by_ref
            .entry(entry.your_ref.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let booked: Vec<_> = rows
        .iter()
        .filter(|r| r.state == DocState::Booked)
        .collect();
    assert!(booked.len() >= 8, "most of the mix is booked: {rows:#?}");
    assert_eq!(entries.len(), booked.len(), "one entry per booked document");
    for row in &booked {
        let reference = row.reference.as_deref().unwrap();
        assert_eq!(by_ref[reference], 1, "{reference} once");
        let document: Document = serde_json::from_value(row.document_json.clone()).unwrap();
        let entry = entries
            .iter()
            .find(|e| Some(e.entry_id.to_string()) == row.target_id)
            .unwrap();
        assert_eq!(
            entry.amount_fc,
            document.total.amount(),
            "{reference} to the cent"
        );
    }
    assert!(
        booked.iter().any(|r| r.kind == "refund"),
        "the credit slip is booked as a credit note"
    );
    // Each domestic coffee line is booked on the coffee account, and nothing else is.
    let mut coffee_lines = 0;
    for row in &booked {
        let document: Document = serde_json::from_value(row.document_json.clone()).unwrap();
        if document.destination().country.to_string() != "NL" {
            continue;
        }
        let coffee = document
            .lines
            .iter()
            .filter(|l| l.category.as_deref() == Some("Coffee"))
            .count();
        let plan = row.plan_json.clone().unwrap();
        let on_8010 = plan["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["account"] == "8010")
            .count();
        assert_eq!(on_8010, coffee, "{} {plan}", row.number);
        coffee_lines += coffee;
    }
    assert!(coffee_lines > 0, "the mix sells coffee at home");
    let state_of = |number: &str| {
        rows.iter()
            .find(|r| r.kind == "order" && r.number == number)
            .map(|r| r.state)
    };
    assert_eq!(
        state_of(&orders[8].to_string()),
        Some(DocState::Waiting),
        "awaiting bank wire: not paid"
    );
    assert_eq!(
        state_of(&orders[9].to_string()),
        Some(DocState::Skipped),
        "cancelled before it was paid"
    );
    for row in rows.iter().filter(|r| r.state != DocState::Booked) {
        assert!(
            row.reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{} {} says why",
            row.kind,
            row.number
        );
    }

    // A second pass reads the last change again and books nothing new.
    engine.sweep("presta").await.unwrap();
    engine.run_until_idle(50).await.unwrap();
    assert_eq!(exact.sales_entries(DIVISION).len(), entries.len());
}
