//! WooCommerce passes the source compliance suite, against its emulator.

use async_trait::async_trait;
use ledgerlink_engine::config::SourceConfig;
use ledgerlink_engine::Engine;
use ledgerlink_sandbox::woocommerce::{
    AddressSpec, CustomerSpec, LineSpec, OrderSpec, RefundSpec, WooConfig, WooSandbox,
};
use ledgerlink_testkit::source_suite::{self, engine_reading, SourceHarness};
use rust_decimal_macros::dec;

struct WooHarness {
    shop: WooSandbox,
    url: String,
    engine: Engine,
    _running: ledgerlink_sandbox::Running,
}

fn source(url: &str, key: &str, secret: &str) -> SourceConfig {
    SourceConfig::Woocommerce {
        url: url.into(),
        consumer_key: key.to_string().into(),
        consumer_secret: secret.to_string().into(),
        webhook_secrets: vec![],
    }
}

async fn harness() -> WooHarness {
    let (running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
    shop.set_auto_deliver(false);
    let url = running.base_url();
    let engine = engine_reading(source(
        &url,
        &shop.config().consumer_key,
        &shop.config().consumer_secret,
    ))
    .await;
    WooHarness {
        shop,
        url,
        engine,
        _running: running,
    }
}

#[async_trait]
impl SourceHarness for WooHarness {
    fn engine(&self) -> &Engine {
        &self.engine
    }
    async fn engine_with_a_refused_key(&self) -> Engine {
        engine_reading(source(&self.url, "ck_wrong", "cs_wrong")).await
    }
    async fn create_paid_order(&self, lines: u32) -> String {
        let spec = OrderSpec {
            status: "processing".into(),
            customer: CustomerSpec {
                first_name: "Suite".into(),
                last_name: "Klant".into(),
                email: "suite@example.nl".into(),
                ..CustomerSpec::default()
            },
            billing: AddressSpec {
                address_1: "Straat 1".into(),
                city: "Gouda".into(),
                postcode: "2801 AA".into(),
                ..AddressSpec::default()
            },
            lines: (0..lines)
                .map(|n| LineSpec {
                    name: format!("Artikel {n}"),
                    quantity: 1 + n % 3,
                    unit_price: dec!(3.333) + rust_decimal::Decimal::from(n),
                    tax_rate: if n % 2 == 0 { dec!(21) } else { dec!(9) },
                    ..LineSpec::default()
                })
                .collect(),
            ..OrderSpec::default()
        };
        self.shop.create_order(spec)["id"].to_string()
    }
    async fn change_order(&self, id: &str) {
        self.shop.set_status(id.parse().unwrap(), "completed");
    }
    async fn refund_part_of(&self, id: &str) {
        let order = self.shop.order(id.parse().unwrap()).unwrap();
        let line = order["line_items"][0]["id"].as_u64().unwrap();
        self.shop.refund(
            id.parse().unwrap(),
            RefundSpec {
                amount: None,
                lines: vec![(line, 1)],
                reason: "Kapot".into(),
                refund_shipping: false,
            },
        );
    }
}

#[tokio::test]
async fn reads_every_changed_order_once() {
    source_suite::reads_every_changed_order_once(&harness().await).await;
}

#[tokio::test]
async fn a_later_change_is_read_again() {
    source_suite::a_later_change_is_read_again(&harness().await).await;
}

#[tokio::test]
async fn documents_add_up_to_the_cent() {
    source_suite::documents_add_up_to_the_cent(&harness().await).await;
}

#[tokio::test]
async fn a_refund_becomes_a_credit_note() {
    source_suite::a_refund_becomes_a_credit_note(&harness().await).await;
}

#[tokio::test]
async fn a_refused_key_says_what_to_check() {
    source_suite::a_refused_key_says_what_to_check(&harness().await).await;
}
