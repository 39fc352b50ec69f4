//! PrestaShop passes the source compliance suite, against its emulator.

use async_trait::async_trait;
use ledgerlink_engine::config::SourceConfig;
use ledgerlink_engine::Engine;
use ledgerlink_sandbox::prestashop::{
    AddressSpec, CarrierSpec, CustomerSpec, LineSpec, OrderSpec, PrestaConfig, PrestaSandbox,
    SlipLine, SlipSpec,
};
use ledgerlink_testkit::source_suite::{self, engine_reading, SourceHarness};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// PrestaShop's default state 4, "Shipped".
const SHIPPED: u64 = 4;

struct PrestaHarness {
    shop: PrestaSandbox,
    url: String,
    engine: Engine,
    _running: ledgerlink_sandbox::Running,
}

fn source(url: &str, key: &str) -> SourceConfig {
    SourceConfig::Prestashop {
        url: url.into(),
        api_key: key.to_string().into(),
    }
}

async fn harness() -> PrestaHarness {
    let (running, shop) = PrestaSandbox::start(PrestaConfig::default(), 0)
        .await
        .unwrap();
    let url = running.base_url();
    let engine = engine_reading(source(&url, &shop.config().api_key)).await;
    PrestaHarness {
        shop,
        url,
        engine,
        _running: running,
    }
}

#[async_trait]
impl SourceHarness for PrestaHarness {
    fn engine(&self) -> &Engine {
        &self.engine
    }
    async fn engine_with_a_refused_key(&self) -> Engine {
        engine_reading(source(&self.url, "WRONGKEYWRONGKEYWRONGKEYWRONGKEY")).await
    }
    async fn create_paid_order(&self, lines: u32) -> String {
        let address = AddressSpec {
            firstname: "Suite".into(),
            lastname: "Klant".into(),
            address1: "Straat 1".into(),
            postcode: "2801 AA".into(),
            city: "Gouda".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        };
        let spec = OrderSpec {
            customer: CustomerSpec {
                firstname: "Suite".into(),
                lastname: "Klant".into(),
                email: "suite@example.nl".into(),
                ..CustomerSpec::default()
            },
            delivery: address,
            lines: (0..lines)
                .map(|n| LineSpec {
                    product_id: u64::from(1 + n % 14),
                    name: format!("Artikel {n}"),
                    quantity: 1 + n % 3,
                    unit_price_tax_excl: dec!(3.333333) + Decimal::from(n),
                    tax_rate: Some(if n % 2 == 0 { dec!(21) } else { dec!(9) }),
                    ..LineSpec::default()
                })
                .collect(),
            carrier: Some(CarrierSpec {
                price_tax_excl: dec!(4.95),
                tax_rate: Some(dec!(21)),
                ..CarrierSpec::default()
            }),
            ..OrderSpec::default()
        };
        self.shop.create_order(spec).to_string()
    }
    async fn change_order(&self, id: &str) {
        self.shop
            .set_order_state(id.parse().unwrap(), SHIPPED)
            .unwrap();
    }
    async fn refund_part_of(&self, id: &str) {
        let order_id = id.parse().unwrap();
        self.shop.create_order_slip(
            order_id,
            SlipSpec {
                lines: vec![SlipLine {
                    product_id: 1,
                    quantity: 1,
                }],
                ..SlipSpec::default()
            },
        );
        // Nothing else changes on the order: the slip is found by its own cursor.
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
