//! What the panel's tests share: the demo world with its mix booked, the operator giving a
//! connection to an account, and the API as a program calls it.

use std::time::Duration;

use ledgerlink::demo::{shop_mistakes, DemoWorld};
use ledgerlink_engine::EngineOptions;
use ledgerlink_sandbox::woocommerce::fixtures;
use ledgerlink_store::Store;

pub fn options() -> EngineOptions {
    EngineOptions {
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        ..EngineOptions::default()
    }
}

/// The demo mix booked (with its two mistakes: one held, one skipped), the panel on ledgerlink's own server.
pub async fn booked_world(dir: &std::path::Path) -> DemoWorld {
    let world = DemoWorld::start(&dir.join("ledger.sqlite"), options())
        .await
        .unwrap();
    let orders = fixtures::demo_mix(&world.shop);
    world.register_vat_numbers(&orders);
    shop_mistakes(&world.shop);
    world.settle().await.unwrap();
    world
}

/// The operator gives `connection` to the account of the user with address `email`.
pub async fn give_connection(store: &dyn Store, connection: &str, email: &str) {
    let user = store.user_by_email(email).await.unwrap().unwrap();
    store
        .bind_connection(connection, user.account_id)
        .await
        .unwrap();
}

/// A GET of the API with a token: the JSON answer.
pub async fn api_get(url: impl reqwest::IntoUrl, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
