//! What the panel's tests share: the demo world with its mix booked, the operator giving a
//! connection to an account, and the API as a program calls it.

// Two test binaries include this module, and each uses a part of it.
#![allow(dead_code)]

use std::time::Duration;

use ledgerlink::demo::{shop_mistakes, DemoWorld, CONNECTION};
use ledgerlink_engine::EngineOptions;
use ledgerlink_sandbox::woocommerce::fixtures;
use ledgerlink_store::{DocState, LedgerRow, Store};

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

/// An Austrian consumer's order, taken in and held: the shop is registered for OSS, but no VAT
/// code is mapped for Austria's rate, so it is held until the rules name one.
pub async fn held_austrian_order(world: &DemoWorld) -> LedgerRow {
    use ledgerlink_sandbox::woocommerce::{AddressSpec, CustomerSpec, LineSpec, OrderSpec};
    world.shop.create_order(OrderSpec {
        customer: CustomerSpec {
            first_name: "Lena".into(),
            last_name: "Huber".into(),
            email: "lena.huber@example.at".into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Mariahilfer Straße 12".into(),
            city: "Wien".into(),
            postcode: "1070".into(),
            country: "AT".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Wollen deken".into(),
            sku: "DEK-200".into(),
            quantity: 1,
            unit_price: rust_decimal::Decimal::new(8900, 2),
            tax_rate: rust_decimal::Decimal::from(20),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    });
    world.settle().await.unwrap();
    world
        .engine
        .store()
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap()
        .into_iter()
        .find(|d| {
            d.reason
                .as_deref()
                .unwrap_or_default()
                .contains("oss/AT/20")
        })
        .expect("the Austrian order is held for its VAT code")
}

/// A domestic order of the merchant's own shop.
pub fn fietsen_order(shop: &ledgerlink_sandbox::woocommerce::WooSandbox, email: &str) -> u64 {
    use ledgerlink_sandbox::woocommerce::{AddressSpec, CustomerSpec, LineSpec, OrderSpec};
    let order = shop.create_order(OrderSpec {
        customer: CustomerSpec {
            first_name: "Joris".into(),
            last_name: "Bakker".into(),
            email: email.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Oudegracht 10".into(),
            city: "Utrecht".into(),
            postcode: "3511 AB".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Fietsbel".into(),
            sku: "BEL-1".into(),
            quantity: 2,
            unit_price: rust_decimal::Decimal::new(1250, 2),
            tax_rate: rust_decimal::Decimal::from(21),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    });
    order["id"].as_u64().unwrap()
}

/// A fresh demo world that takes shops from the panel, and the merchant's own WooCommerce shop
/// (empty) to add there.
pub struct ShopsWorld {
    pub world: DemoWorld,
    pub shop: ledgerlink_sandbox::woocommerce::WooSandbox,
    pub shop_url: String,
    /// The key line the shops' credentials are sealed with.
    pub key: zeroize::Zeroizing<String>,
    pub _shop_running: ledgerlink_sandbox::Running,
}

impl ShopsWorld {
    pub async fn start(dir: &std::path::Path) -> ShopsWorld {
        use ledgerlink_engine::added_shops::ShopApp;
        use ledgerlink_engine::config::PanelConfig;
        use ledgerlink_sandbox::woocommerce::{WooConfig, WooSandbox};

        let world = DemoWorld::start(&dir.join("ledger.sqlite"), options())
            .await
            .unwrap();
        let (running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
        shop.set_auto_deliver(false);
        let exact_app = world.exact.config();
        let key = ledgerlink_store::crypto::new_key_line(None).unwrap();
        assert!(world.engine.take_shops(ShopApp {
            panel: PanelConfig {
                exact_base_url: world.exact_url.clone(),
                exact_client_id: exact_app.client_id.clone(),
                exact_client_secret: exact_app.client_secret.clone().into(),
                exact_redirect_uri: exact_app.redirect_uri.clone(),
                public_url: world.server_url.clone(),
                allow_private_shops: true,
            },
            keyring: ledgerlink_store::Keyring::parse(&key, "the test").unwrap(),
            vies_url: None,
            timeout: Duration::from_secs(5),
        }));
        ShopsWorld {
            world,
            shop,
            shop_url: running.base_url(),
            key,
            _shop_running: running,
        }
    }
}
