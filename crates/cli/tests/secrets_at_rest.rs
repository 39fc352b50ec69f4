//! A canary over the ledger as a dump shows it: after the demo world booked its mix of orders
//! and refreshed its Exact Online token once, neither token pair Exact issued, nor the app's
//! client secret, nor the shop's API credentials appear anywhere in the database — not in the
//! SQLite file or its write-ahead log, not in any text or JSON column on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ledgerlink::demo::{demo_key_file, DemoWorld, CONNECTION};
use ledgerlink_core::EntryKind;
use ledgerlink_engine::EngineOptions;
use ledgerlink_sandbox::woocommerce::fixtures;
use ledgerlink_store::{Keyring, PostgresStore, TokenRecord};
use ledgerlink_testkit::postgres::Schema;

fn options() -> EngineOptions {
    EngineOptions {
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        ..EngineOptions::default()
    }
}

/// Books the demo mix, has Exact rotate the tokens once, and returns every secret the ledger
/// has seen: both token pairs as Exact issued them, the app's and the shop's secrets.
async fn book_and_refresh(world: &DemoWorld) -> Vec<String> {
    let store = world.engine.store().clone();
    let orders = fixtures::demo_mix(&world.shop);
    world.register_vat_numbers(&orders);
    world.settle().await.unwrap();
    let first = store.token(CONNECTION).await.unwrap().unwrap();

    // Ten minutes pass, on both clocks: the next call spends the refresh token.
    world.exact.advance_clock(Duration::from_secs(601));
    let aged = TokenRecord {
        expires_at: Utc::now() - chrono::Duration::seconds(1),
        issued_at: Utc::now() - chrono::Duration::seconds(601),
        ..first.clone()
    };
    store.save_token(CONNECTION, &aged).await.unwrap();
    let connection = world.engine.connection(CONNECTION).unwrap();
    let target = connection
        .target
        .exact()
        .expect("an Exact Online connection");
    assert_eq!(
        target.find("WC-NONE", EntryKind::SalesEntry).await.unwrap(),
        None
    );
    let second = store.token(CONNECTION).await.unwrap().unwrap();
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");

    let secrets = vec![
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
        world.exact.config().client_secret.clone(),
        world.shop.config().consumer_key.clone(),
        world.shop.config().consumer_secret.clone(),
    ];
    assert!(
        secrets.iter().all(|secret| secret.len() >= 8),
        "each secret is long enough to be found by itself"
    );
    secrets
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn no_credential_appears_in_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ledger.sqlite");
    let world = DemoWorld::start(&database, options()).await.unwrap();
    let secrets = book_and_refresh(&world).await;
    let mut dump = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("ledger.sqlite{suffix}"));
        if let Ok(bytes) = std::fs::read(&file) {
            dump.extend(bytes);
        }
    }
    assert!(
        contains(&dump, b"oauth_tokens"),
        "the dump holds the ledger"
    );
    assert!(contains(&dump, b"v1:"), "the sealed tokens are in it");
    for secret in &secrets {
        assert!(
            !contains(&dump, secret.as_bytes()),
            "a credential is in the SQLite file in plaintext"
        );
    }
    // The demo's key sits beside the ledger, for the owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(demo_key_file(&database)).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
}

#[tokio::test]
async fn no_credential_appears_in_any_text_column_on_postgresql() {
    let Some(schema) = Schema::from_env().await else {
        return;
    };
    let store = PostgresStore::connect(&schema.url)
        .await
        .unwrap()
        .with_keyring(Keyring::ephemeral());
    let store = Arc::new(store);
    let world = DemoWorld::start_on(store.clone(), options()).await.unwrap();
    let secrets = book_and_refresh(&world).await;
    let dump = store.text_dump().await.unwrap();
    assert!(dump.contains("v1:"), "the sealed tokens are in it");
    assert!(dump.contains("WC-"), "the bookings are in it");
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "a credential is in a PostgreSQL column in plaintext"
        );
    }
}
