//! The WooCommerce client against the emulator: paging by X-WP-Total/X-WP-TotalPages, the
//! `modified_after` cursor, customers and products, and a refused key.

use std::sync::Arc;
use std::time::Duration;

use ledgerlink_core::ErrorKind;
use ledgerlink_sandbox::woocommerce::{
    AddressSpec, CustomerSpec, LineSpec, OrderSpec, WooConfig, WooSandbox,
};
use ledgerlink_sources::woocommerce::{WooClient, WooCredentials};
use ledgerlink_store::audit::Auditor;
use ledgerlink_store::{SqliteStore, Store};
use rust_decimal::Decimal;

async fn client(url: &str, key: &str, secret: &str) -> (Arc<dyn Store>, WooClient) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let credentials = WooCredentials {
        url: url.into(),
        consumer_key: key.to_string().into(),
        consumer_secret: secret.to_string().into(),
    };
    let client = WooClient::new(
        credentials,
        Auditor::new(store.clone(), "shop", "woocommerce"),
        Duration::from_secs(5),
    )
    .unwrap();
    (store, client)
}

fn order(n: u32, customer_id: u64) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            customer_id,
            first_name: "Klant".into(),
            last_name: format!("{n}"),
            email: format!("klant{n}@example.nl"),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Straat 1".into(),
            city: "Leiden".into(),
            postcode: "2311 AA".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Pen".into(),
            quantity: n,
            unit_price: Decimal::new(250, 2),
            tax_rate: Decimal::from(21),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

#[tokio::test]
async fn pages_through_every_changed_order_and_reads_customers_and_products() {
    let (running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
    shop.set_auto_deliver(false);
    for n in 1..=120 {
        shop.create_order(order(n, if n % 10 == 0 { 500 + u64::from(n) } else { 0 }));
    }
    let config = shop.config();
    let (store, client) = client(
        &running.base_url(),
        &config.consumer_key,
        &config.consumer_secret,
    )
    .await;

    let first = client
        .orders_modified_after("1970-01-01T00:00:00", 1)
        .await
        .unwrap();
    assert_eq!(
        (first.total, first.total_pages, first.items.len()),
        (120, 2, 100)
    );
    let second = client
        .orders_modified_after("1970-01-01T00:00:00", 2)
        .await
        .unwrap();
    assert_eq!(second.items.len(), 20);
    let mut ids: Vec<u64> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 120, "every order once, oldest change first");

    // Only what changed after the cursor comes back.
    let last_modified = second.items.last().unwrap()["date_modified_gmt"]
        .as_str()
        .unwrap()
        .to_string();
    shop.set_status(ids[0], "completed");
    let changed = client
        .orders_modified_after(&last_modified, 1)
        .await
        .unwrap();
    assert_eq!(changed.items.len(), 1);
    assert_eq!(changed.items[0]["id"].as_u64(), Some(ids[0]));

    let customers = client.customers(1).await.unwrap();
    assert_eq!(
        customers.total, 12,
        "the registered customers, not the guests"
    );
    assert!(!client.products(1).await.unwrap().items.is_empty());
    assert!(store
        .audit_entries("shop", 10)
        .await
        .unwrap()
        .iter()
        .all(|e| e.status == Some(200)));
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_that_says_what_to_check() {
    let (running, _shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
    let (_, client) = client(&running.base_url(), "ck_wrong", "cs_wrong").await;
    let error = client.order("1").await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Auth);
    assert!(
        error.message_for_user.contains("consumer key and secret"),
        "{}",
        error.message_for_user
    );
}
