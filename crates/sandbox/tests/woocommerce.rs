//! The WooCommerce emulator over real HTTP, judged against the vendor reference.

use std::str::FromStr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use base64::Engine;
use hmac::{Hmac, Mac};
use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_sandbox::woocommerce::{
    fixtures, AddressSpec, CouponSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, RefundSpec,
    ShippingSpec, WooConfig, WooSandbox, PING_TOPIC,
};
use ledgerlink_sandbox::Running;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use sha2::Sha256;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn money(v: &Value) -> Decimal {
    dec(v
        .as_str()
        .unwrap_or_else(|| panic!("not a money string: {v}")))
}

struct Shop {
    _running: Running,
    shop: WooSandbox,
    base: String,
    http: reqwest::Client,
}

impl Shop {
    async fn start() -> Shop {
        let (running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
        let base = running.base_url();
        Shop {
            _running: running,
            shop,
            base,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/wp-json/wc/v3/{path}", self.base)
    }

    fn authed(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let config = self.shop.config();
        self.http
            .request(method, self.url(path))
            .basic_auth(&config.consumer_key, Some(&config.consumer_secret))
    }

    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, Value) {
        let response = self
            .authed(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let headers = response.headers().clone();
        (status, headers, response.json().await.unwrap())
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let response = self.authed(method, path).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

fn nl_order(last_name: &str) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Test".into(),
            last_name: last_name.into(),
            email: format!("{}@example.nl", last_name.to_lowercase()),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Damrak 1".into(),
            city: "Amsterdam".into(),
            postcode: "1012 LG".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![
            LineSpec {
                product_id: 11,
                name: "Espresso Beans 1 kg".into(),
                sku: "KOF-ESP-1000".into(),
                quantity: 2,
                unit_price: dec("18.50"),
                tax_rate: dec("9"),
                tax_class: "reduced-rate".into(),
                ..LineSpec::default()
            },
            LineSpec {
                product_id: 17,
                name: "Ceramic Mug".into(),
                sku: "MUG-CER-0001".into(),
                quantity: 2,
                unit_price: dec("7.95"),
                tax_rate: dec("21"),
                ..LineSpec::default()
            },
        ],
        shipping_line: Some(ShippingSpec {
            method_title: "PostNL".into(),
            total: dec("4.95"),
            tax_rate: dec("21"),
            ..ShippingSpec::default()
        }),
        ..OrderSpec::default()
    }
}

fn id_of(order: &Value) -> u64 {
    order["id"].as_u64().unwrap()
}

fn error_code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// A webhook receiver that records what it gets and answers with a configurable status.
#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    status: Arc<AtomicU16>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver.hits.lock().unwrap().push((headers, body));
    StatusCode::from_u16(receiver.status.load(Ordering::SeqCst)).unwrap()
}

impl Receiver {
    async fn start(status: u16) -> (Running, Receiver, String) {
        let receiver = Receiver::default();
        receiver.status.store(status, Ordering::SeqCst);
        let app = Router::new().fallback(receive).with_state(receiver.clone());
        let running = ledgerlink_sandbox::serve(app, 0).await.unwrap();
        let url = format!("{}/hooks/woo", running.base_url());
        (running, receiver, url)
    }

    fn hits(&self) -> Vec<(HeaderMap, Bytes)> {
        self.hits.lock().unwrap().clone()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}

fn hmac_b64(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

// ----- authentication ---------------------------------------------------------------------

#[tokio::test]
async fn authentication_is_required_and_errors_are_wordpress_json() {
    let t = Shop::start().await;
    t.shop.create_order(nl_order("Auth"));
    let config = t.shop.config().clone();

    let anonymous = t.http.get(t.url("orders")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}})
    );

    let wrong_key = t
        .http
        .get(t.url("orders"))
        .basic_auth("ck_wrong", Some(&config.consumer_secret))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
    let body: Value = wrong_key.json().await.unwrap();
    assert_eq!(error_code(&body), "woocommerce_rest_authentication_error");
    assert_eq!(body["message"], "Consumer key is invalid.");
    assert_eq!(body["data"]["status"], 401);

    let wrong_secret = t
        .http
        .get(t.url("orders/1001"))
        .basic_auth(&config.consumer_key, Some("cs_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    let body: Value = wrong_secret.json().await.unwrap();
    assert_eq!(body["message"], "Consumer secret is invalid.");
    assert!(body.get("id").is_none(), "nothing of the order is served");

    // Query-string credentials work as well as Basic auth.
    let by_query = t
        .http
        .get(t.url("orders"))
        .query(&[
            ("consumer_key", config.consumer_key.as_str()),
            ("consumer_secret", config.consumer_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    let orders: Value = by_query.json().await.unwrap();
    assert_eq!(orders.as_array().unwrap().len(), 1);

    let anonymous_write = t
        .http
        .put(t.url("orders/1001"))
        .json(&json!({"status": "completed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_write.status(), 401);
    let body: Value = anonymous_write.json().await.unwrap();
    assert_eq!(error_code(&body), "woocommerce_rest_cannot_edit");
    assert_eq!(t.shop.order(1001).unwrap()["status"], "processing");

    let statuses: Vec<u16> = t.shop.recorder().all().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 401, 401, 200, 401]);
}

#[tokio::test]
async fn unknown_routes_and_ids_answer_as_wordpress_does() {
    let t = Shop::start().await;
    let (status, _, body) = t.get("nonsense").await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"code": "rest_no_route", "message": "No route was found matching the URL and request method.", "data": {"status": 404}})
    );
    let (status, _, body) = t.get("orders/abc").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "rest_no_route")
    );
    let (status, _, body) = t.get("orders/424242").await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "woocommerce_rest_shop_order_invalid_id");
    assert_eq!(body["message"], "Invalid ID.");
    let (status, _, body) = t.get("customers/99").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "woocommerce_rest_invalid_id")
    );
    let (status, _, body) = t.get("webhooks/7").await;
    assert_eq!(
        (status, error_code(&body)),
        (
            StatusCode::NOT_FOUND,
            "woocommerce_rest_shop_webhook_invalid_id"
        )
    );
    // DELETE on the collection is no route either.
    let (status, body) = t.send(reqwest::Method::DELETE, "orders", json!({})).await;
    assert_eq!((status, error_code(&body)), (404, "rest_no_route"));
}

// ----- lists ------------------------------------------------------------------------------

fn link_target(link: &str, rel: &str) -> Option<String> {
    link.split(", ")
        .find(|part| part.ends_with(&format!("rel=\"{rel}\"")))
        .map(|part| part[1..part.find('>').unwrap()].to_string())
}

#[tokio::test]
async fn lists_page_with_total_headers_and_link_relations() {
    let t = Shop::start().await;
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(id_of(&t.shop.create_order(nl_order(&format!("Page{i}")))));
    }

    let (status, headers, first) = t.get("orders?per_page=10").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "X-WP-Total"), "25");
    assert_eq!(header(&headers, "X-WP-TotalPages"), "3");
    let link = header(&headers, "Link");
    assert!(link_target(link, "prev").is_none());
    let next = link_target(link, "next").unwrap();
    assert!(next.starts_with(&format!("{}/wp-json/wc/v3/orders?", t.base)));
    assert!(next.contains("per_page=10") && next.contains("page=2"));
    assert!(link_target(link, "last").unwrap().contains("page=3"));
    assert_eq!(first.as_array().unwrap().len(), 10);

    // Follow the Link headers to the end.
    let mut seen: Vec<u64> = first.as_array().unwrap().iter().map(id_of).collect();
    let mut url = Some(next);
    let mut pages = 1;
    while let Some(current) = url {
        let config = t.shop.config();
        let response = t
            .http
            .get(&current)
            .basic_auth(&config.consumer_key, Some(&config.consumer_secret))
            .send()
            .await
            .unwrap();
        let link = response
            .headers()
            .get("Link")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        pages += 1;
        if pages == 2 {
            assert!(link_target(&link, "prev").unwrap().contains("page=1"));
        }
        url = link_target(&link, "next");
        let page: Value = response.json().await.unwrap();
        seen.extend(page.as_array().unwrap().iter().map(id_of));
    }
    assert_eq!(pages, 3);
    // Newest first (date desc), every order exactly once.
    created.reverse();
    assert_eq!(seen, created);

    let (_, _, asc) = t
        .get("orders?per_page=5&orderby=id&order=asc&offset=3")
        .await;
    let asc_ids: Vec<u64> = asc.as_array().unwrap().iter().map(id_of).collect();
    created.reverse();
    assert_eq!(asc_ids, created[3..8].to_vec());
}

#[tokio::test]
async fn invalid_list_parameters_are_rejected() {
    let t = Shop::start().await;
    let (status, _, body) = t.get("orders?per_page=101").await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "rest_invalid_param");
    assert_eq!(body["message"], "Invalid parameter(s): per_page");
    assert_eq!(
        body["data"]["params"]["per_page"],
        "per_page must be between 1 (inclusive) and 100 (inclusive)"
    );
    let (status, _, _) = t.get("orders?per_page=0").await;
    assert_eq!(status, 400);
    let (status, _, body) = t.get("orders?modified_after=yesterday").await;
    assert_eq!(status, 400);
    assert_eq!(body["data"]["params"]["modified_after"], "Invalid date.");
    let (status, _, body) = t.get("orders?orderby=total").await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "rest_invalid_param")
    );
    let (status, _, body) = t.get("orders?status=bogus").await;
    assert_eq!(status, 400);
    assert!(body["data"]["params"]["status"]
        .as_str()
        .unwrap()
        .starts_with("status[0] is not one of any, trash, pending"));
    // Parameter validation comes before the permission check, as in WordPress.
    let anonymous = t
        .http
        .get(t.url("orders?per_page=500"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 400);
}

#[tokio::test]
async fn modified_after_returns_only_orders_changed_since_the_cursor() {
    let t = Shop::start().await;
    let a = id_of(&t.shop.create_order(nl_order("Alpha")));
    let b = id_of(&t.shop.create_order(nl_order("Beta")));
    let c = t.shop.create_order(nl_order("Gamma"));
    let cursor_gmt = c["date_modified_gmt"].as_str().unwrap().to_string();
    let cursor_local = c["date_modified"].as_str().unwrap().to_string();
    assert_ne!(cursor_gmt, cursor_local, "site time differs from GMT");

    let (_, headers, none) = t
        .get(&format!(
            "orders?modified_after={cursor_gmt}&dates_are_gmt=true"
        ))
        .await;
    assert_eq!(none, json!([]));
    assert_eq!(header(&headers, "X-WP-Total"), "0");

    let updated = t.shop.set_status(a, "completed");
    assert!(updated["date_modified_gmt"].as_str().unwrap() > cursor_gmt.as_str());
    assert!(updated["date_completed"].is_string());

    let (_, _, changed) = t
        .get(&format!(
            "orders?modified_after={cursor_gmt}&dates_are_gmt=true"
        ))
        .await;
    let ids: Vec<u64> = changed.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, vec![a]);
    // The same cursor in site time, and as an explicit UTC instant.
    let (_, _, local) = t
        .get(&format!("orders?modified_after={cursor_local}"))
        .await;
    assert_eq!(local.as_array().unwrap().len(), 1);
    let (_, _, zulu) = t.get(&format!("orders?modified_after={cursor_gmt}Z")).await;
    assert_eq!(zulu.as_array().unwrap().len(), 1);
    // modified_before is exclusive too.
    let (_, _, before) = t
        .get(&format!(
            "orders?modified_before={cursor_gmt}&dates_are_gmt=true&orderby=id&order=asc"
        ))
        .await;
    let before: Vec<u64> = before.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(before, vec![b]);
}

#[tokio::test]
async fn custom_statuses_are_slugs_and_filterable() {
    let t = Shop::start().await;
    let a = id_of(&t.shop.create_order(nl_order("One")));
    let b = id_of(&t.shop.create_order(nl_order("Two")));
    let c = id_of(&t.shop.create_order(nl_order("Three")));
    let changed = t.shop.set_status(b, "in-production");
    assert_eq!(changed["status"], "in-production");
    t.shop.delete_order(c, false);

    let (_, _, only) = t.get("orders?status=in-production").await;
    let ids: Vec<u64> = only.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, vec![b]);
    let (_, _, both) = t
        .get("orders?status=processing,in-production&order=asc")
        .await;
    let ids: Vec<u64> = both.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, vec![a, b]);
    let (_, _, listed) = t.get("orders?status[]=in-production&status[]=trash").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (_, _, any) = t.get("orders").await;
    assert_eq!(any.as_array().unwrap().len(), 2, "any leaves out the trash");
    let (_, _, trashed) = t.get("orders?status=trash").await;
    assert_eq!(trashed[0]["status"], "trash");

    // The REST API accepts the registered custom status on update, and no unknown one.
    let (status, body) = t
        .send(
            reqwest::Method::PUT,
            &format!("orders/{a}"),
            json!({"status": "in-production"}),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("in-production"))
    );
    let (status, body) = t
        .send(
            reqwest::Method::PUT,
            &format!("orders/{a}"),
            json!({"status": "wc-shipped"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "rest_invalid_param"));
}

// ----- money ------------------------------------------------------------------------------

fn sum(items: &Value, field: &str) -> Decimal {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| money(&i[field]))
        .sum()
}

#[tokio::test]
async fn every_demo_order_adds_up_to_the_cent() {
    let t = Shop::start().await;
    let orders = fixtures::demo_mix(&t.shop);
    assert!((12..=20).contains(&orders.len()));
    for order in &orders {
        let items = sum(&order["line_items"], "total");
        let fees = sum(&order["fee_lines"], "total");
        let shipping = money(&order["shipping_total"]);
        let total_tax = money(&order["total_tax"]);
        assert_eq!(
            items + fees + shipping + total_tax,
            money(&order["total"]),
            "order {}",
            order["id"]
        );
        assert_eq!(shipping, sum(&order["shipping_lines"], "total"));
        let line_tax =
            sum(&order["line_items"], "total_tax") + sum(&order["fee_lines"], "total_tax");
        assert_eq!(line_tax, money(&order["cart_tax"]));
        assert_eq!(
            sum(&order["tax_lines"], "tax_total"),
            money(&order["cart_tax"])
        );
        assert_eq!(
            sum(&order["tax_lines"], "shipping_tax_total"),
            money(&order["shipping_tax"])
        );
        assert_eq!(
            money(&order["cart_tax"]) + money(&order["shipping_tax"]),
            total_tax
        );
        for line in order["line_items"].as_array().unwrap() {
            assert!(line["price"].is_number(), "price is a JSON number");
            assert_eq!(
                line["total"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .nth(1)
                    .unwrap()
                    .len(),
                2
            );
            let rounded: Decimal = line["taxes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    money(&t["total"])
                        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
                })
                .sum();
            assert_eq!(rounded, money(&line["total_tax"]));
        }
    }
    // The mix covers what the brief asks for.
    let statuses: Vec<&str> = orders
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    for wanted in ["in-production", "processing", "completed", "pending"] {
        assert!(statuses.contains(&wanted), "{wanted} missing");
    }
    assert!(orders
        .iter()
        .any(|o| o["line_items"].as_array().unwrap().len() == 20));
    assert!(orders
        .iter()
        .any(|o| !o["coupon_lines"].as_array().unwrap().is_empty()));
    let countries: Vec<&str> = orders
        .iter()
        .map(|o| o["shipping"]["country"].as_str().unwrap())
        .collect();
    for country in ["NL", "BE", "DE", "FR", "NO", "US", "CH"] {
        assert!(countries.contains(&country), "{country} missing");
    }
    // Deterministic: a second shop gets the same amounts.
    let again = fixtures::demo_mix(&WooSandbox::new(WooConfig::default()));
    let totals = |list: &[Value]| list.iter().map(|o| o["total"].clone()).collect::<Vec<_>>();
    assert_eq!(totals(&orders), totals(&again));
}

#[tokio::test]
async fn order_arithmetic_follows_woocommerce() {
    let t = Shop::start().await;
    let order = t.shop.create_order(nl_order("Sum"));
    // 2 × 18.50 @ 9 % = 37.00 + 3.33; 2 × 7.95 @ 21 % = 15.90 + 3.339 → 3.34;
    // shipping 4.95 @ 21 % = 1.0395 → 1.04.
    assert_eq!(order["line_items"][1]["taxes"][0]["total"], "3.339");
    assert_eq!(order["line_items"][1]["total_tax"], "3.34");
    assert_eq!(order["line_items"][0]["price"], json!(18.5));
    assert_eq!(order["shipping_lines"][0]["total_tax"], "1.04");
    assert_eq!(order["total_tax"], "7.71");
    assert_eq!(order["total"], "65.56");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["prices_include_tax"], false);
    let codes: Vec<&str> = order["tax_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rate_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["NL-BTW-1", "NL-BTW-1"]);
    assert_eq!(order["tax_lines"][0]["rate_percent"], json!(9));
    assert_eq!(order["tax_lines"][1]["tax_total"], "3.34");
    assert_eq!(order["tax_lines"][1]["shipping_tax_total"], "1.04");

    // Inclusive prices, a 3-decimal unit price, a coupon and a negative fee in one order.
    let mut spec = nl_order("Mixed");
    spec.prices_include_tax = true;
    spec.lines[0].quantity = 3;
    spec.lines.push(LineSpec {
        product_id: 21,
        name: "Paper Filters (100)".into(),
        quantity: 3,
        unit_price: dec("3.333"),
        tax_rate: dec("21"),
        ..LineSpec::default()
    });
    spec.coupons = vec![CouponSpec {
        code: "welcome10".into(),
        amount: dec("10.00"),
    }];
    spec.fees = vec![FeeSpec {
        name: "Loyalty discount".into(),
        total: dec("-2.50"),
        tax_rate: dec("21"),
        ..FeeSpec::default()
    }];
    let order = t.shop.create_order(spec);
    let lines = order["line_items"].as_array().unwrap();
    let discount: Decimal = lines
        .iter()
        .map(|l| money(&l["subtotal"]) - money(&l["total"]))
        .sum();
    assert_eq!(discount, money(&order["discount_total"]));
    assert_eq!(
        order["coupon_lines"][0]["discount"],
        order["discount_total"]
    );
    assert_eq!(
        order["coupon_lines"][0]["discount_tax"],
        order["discount_tax"]
    );
    // Gross subtotals: 3 × round(18.50 × 1.09) = 60.51; 2 × 9.62 = 19.24; 3 × 4.03 = 12.09.
    let gross: Vec<Decimal> = lines
        .iter()
        .map(|l| money(&l["subtotal"]) + money(&l["subtotal_tax"]))
        .collect();
    assert_eq!(gross, vec![dec("60.51"), dec("19.24"), dec("12.09")]);
    // The coupon took exactly 10.00 off the gross line totals.
    let gross_after: Decimal = lines
        .iter()
        .map(|l| money(&l["total"]) + money(&l["total_tax"]))
        .sum();
    assert_eq!(gross_after, dec("91.84") - dec("10.00"));
    assert_eq!(order["fee_lines"][0]["total"], "-2.50");
    assert_eq!(order["fee_lines"][0]["total_tax"], "-0.53");
    assert!(lines[2]["price"].is_number());
}

#[tokio::test]
async fn vat_exempt_and_export_orders_carry_no_tax_lines_and_the_vat_meta() {
    let t = Shop::start().await;
    let orders = fixtures::demo_mix(&t.shop);
    let belgian = orders
        .iter()
        .find(|o| o["billing"]["country"] == "BE")
        .unwrap();
    assert_eq!(belgian["total_tax"], "0.00");
    assert_eq!(belgian["tax_lines"], json!([]));
    assert_eq!(belgian["line_items"][0]["taxes"], json!([]));
    let meta = belgian["meta_data"].as_array().unwrap();
    let value = |key: &str| {
        meta.iter()
            .find(|m| m["key"] == key)
            .map(|m| m["value"].clone())
    };
    assert_eq!(value("_billing_vat_number"), Some(json!("BE0123456749")));
    assert_eq!(value("is_vat_exempt"), Some(json!("yes")));
    let german_b2c = orders
        .iter()
        .find(|o| o["billing"]["city"] == "Köln")
        .unwrap();
    let codes: Vec<&str> = german_b2c["tax_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rate_code"].as_str().unwrap())
        .collect();
    assert!(codes.iter().all(|c| *c == "DE-MWST-1"));
    let us = orders
        .iter()
        .find(|o| o["billing"]["country"] == "US")
        .unwrap();
    assert_eq!(us["total_tax"], "0.00");
}

// ----- refunds ----------------------------------------------------------------------------

#[tokio::test]
async fn refunds_show_on_the_order_with_negative_totals() {
    let t = Shop::start().await;
    let orders = fixtures::demo_mix(&t.shop);
    let first = &orders[0];
    let refunds = first["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1);
    // One mug: 7.95 + its share of the rounded line tax (3.34 / 2 = 1.67).
    assert_eq!(refunds[0]["total"], "-9.62");
    assert_eq!(refunds[0]["reason"], "Mug arrived broken");
    assert_eq!(
        first["status"], "completed",
        "a partial refund keeps the status"
    );

    let order_id = id_of(first);
    let (_, headers, list) = t.get(&format!("orders/{order_id}/refunds")).await;
    assert_eq!(header(&headers, "X-WP-Total"), "1");
    let refund = &list[0];
    assert_eq!(refund["amount"], "9.62");
    assert_eq!(refund["refunded_payment"], false);
    let line = &refund["line_items"][0];
    assert_eq!(line["quantity"], -1);
    assert_eq!(line["total"], "-7.95");
    assert_eq!(line["subtotal"], "-7.95");
    assert_eq!(line["total_tax"], "-1.67");
    assert_eq!(line["taxes"][0]["total"], "-1.67");
    assert!(line["price"].as_f64().unwrap() < 0.0);
    let mug_line = first["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["product_id"] == 17)
        .unwrap();
    assert_eq!(line["meta_data"][0]["key"], "_refunded_item_id");
    assert_eq!(
        line["meta_data"][0]["value"],
        mug_line["id"].as_u64().unwrap().to_string()
    );
    let (status, _, single) = t
        .get(&format!("orders/{order_id}/refunds/{}", refund["id"]))
        .await;
    assert_eq!((status, &single), (StatusCode::OK, refund));

    // The amount-only refund on the German order.
    let german = orders
        .iter()
        .find(|o| o["billing"]["city"] == "Köln")
        .unwrap();
    assert_eq!(german["refunds"][0]["total"], "-5.00");
    let (_, _, list) = t.get(&format!("orders/{}/refunds", id_of(german))).await;
    assert_eq!(list[0]["amount"], "5.00");
    assert_eq!(list[0]["line_items"], json!([]));
}

#[tokio::test]
async fn a_full_refund_marks_the_order_refunded_and_overrefunds_fail() {
    let t = Shop::start().await;
    let order = t.shop.create_order(nl_order("Full"));
    let id = id_of(&order);
    let too_much = t.shop.refund(
        id,
        RefundSpec {
            amount: Some(dec("65.57")),
            ..RefundSpec::default()
        },
    );
    assert_eq!(
        error_code(&too_much),
        "woocommerce_rest_cannot_create_order_refund"
    );
    assert_eq!(too_much["message"], "Invalid refund amount.");

    let lines: Vec<(u64, u32)> = order["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (id_of(l), 2))
        .collect();
    let refund = t.shop.refund(
        id,
        RefundSpec {
            amount: None,
            lines,
            reason: "Returned".into(),
            refund_shipping: true,
        },
    );
    assert_eq!(refund["amount"], "65.56");
    let after = t.shop.order(id).unwrap();
    assert_eq!(after["status"], "refunded");
    assert_eq!(after["refunds"][0]["total"], "-65.56");
    assert_eq!(
        after["total"], "65.56",
        "the order keeps its original totals"
    );
}

#[tokio::test]
async fn refunds_through_the_api_respect_the_gateway() {
    let t = Shop::start().await;
    let id = id_of(&t.shop.create_order(nl_order("Gateway")));
    // Bank transfer cannot refund automatically; api_refund defaults to true.
    let (status, body) = t
        .send(
            reqwest::Method::POST,
            &format!("orders/{id}/refunds"),
            json!({"amount": "10.00"}),
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        body["message"],
        "The payment gateway for this order does not support automatic refunds."
    );
    let line = t.shop.order(id).unwrap()["line_items"][1]["id"]
        .as_u64()
        .unwrap();
    let (status, refund) = t
        .send(
            reqwest::Method::POST,
            &format!("orders/{id}/refunds"),
            json!({
                "api_refund": false,
                "reason": "Damaged",
                "line_items": [{"id": line, "quantity": 1, "refund_total": 7.95,
                                "refund_tax": [{"id": 1, "refund_total": 1.67}]}],
            }),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(refund["amount"], "9.62");
    assert_eq!(refund["line_items"][0]["quantity"], -1);
    assert_eq!(t.shop.order(id).unwrap()["refunds"][0]["total"], "-9.62");
    // Refunds cannot be trashed.
    let (status, body) = t
        .send(
            reqwest::Method::DELETE,
            &format!("orders/{id}/refunds/{}", refund["id"]),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (501, "woocommerce_rest_trash_not_supported")
    );
}

// ----- webhooks ---------------------------------------------------------------------------

async fn wait_for<F: Fn() -> bool>(what: &str, done: F) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn webhooks_ping_on_creation_and_sign_their_deliveries() {
    let t = Shop::start().await;
    let (_receiver_server, receiver, url) = Receiver::start(200).await;
    let (status, hook) = t
        .send(
            reqwest::Method::POST,
            "webhooks",
            json!({"name": "ledgerlink", "topic": "order.created", "delivery_url": url, "secret": "s3cr3t"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(hook["status"], "active");
    assert_eq!(hook["resource"], "order");
    assert_eq!(hook["event"], "created");
    assert!(hook.get("secret").is_none(), "the secret is write-only");
    let hook_id = hook["id"].as_u64().unwrap();

    // The ping arrived before the API answered: form-encoded, unsigned.
    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].1, format!("webhook_id={hook_id}").as_bytes());
    assert_eq!(
        header(&hits[0].0, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert!(hits[0].0.get("x-wc-webhook-signature").is_none());
    assert_eq!(t.shop.deliveries()[0].topic, PING_TOPIC);

    let order = t.shop.create_order(nl_order("Hooked"));
    wait_for("order.created delivery", || receiver.hits().len() == 2).await;
    let (headers, body) = receiver.hits()[1].clone();
    assert_eq!(header(&headers, "x-wc-webhook-topic"), "order.created");
    assert_eq!(header(&headers, "x-wc-webhook-resource"), "order");
    assert_eq!(header(&headers, "x-wc-webhook-event"), "created");
    assert_eq!(header(&headers, "x-wc-webhook-id"), hook_id.to_string());
    assert_eq!(
        header(&headers, "x-wc-webhook-source"),
        format!("{}/", t.base)
    );
    assert_eq!(header(&headers, "content-type"), "application/json");
    let signature = header(&headers, "x-wc-webhook-signature");
    assert_eq!(signature, hmac_b64("s3cr3t", &body));
    assert_ne!(signature, hmac_b64("wrong", &body));
    // The body is the order exactly as the API serves it, PHP-escaped.
    let raw = String::from_utf8(body.to_vec()).unwrap();
    assert!(raw.contains(r"http:\/\/127.0.0.1"));
    let (_, _, fetched) = t.get(&format!("orders/{}", id_of(&order))).await;
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), fetched);

    // A redelivery repeats body, signature and delivery id.
    let delivery_id: u64 = header(&headers, "x-wc-webhook-delivery-id")
        .parse()
        .unwrap();
    let again = t.shop.redeliver(delivery_id).await.unwrap();
    assert_eq!(again.status, Some(200));
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[2].1, body);
    assert_eq!(
        header(&hits[2].0, "x-wc-webhook-delivery-id"),
        delivery_id.to_string()
    );
    assert_eq!(header(&hits[2].0, "x-wc-webhook-signature"), signature);
    let records = t.shop.deliveries();
    assert_eq!(records.len(), 3);
    assert_eq!(records[1].signature, records[2].signature);
}

#[tokio::test]
async fn deleted_and_restored_orders_are_announced() {
    let t = Shop::start().await;
    t.shop.set_auto_deliver(false);
    let (_server, receiver, url) = Receiver::start(200).await;
    for topic in ["order.deleted", "order.restored", "order.updated"] {
        let (status, _) = t
            .send(
                reqwest::Method::POST,
                "webhooks",
                json!({"topic": topic, "delivery_url": url, "secret": "k"}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let id = id_of(&t.shop.create_order(nl_order("Bye")));
    assert!(
        t.shop.deliver_pending_webhooks().await.is_empty(),
        "no order.created hook"
    );

    t.shop.delete_order(id, false);
    let sent = t.shop.deliver_pending_webhooks().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic, "order.deleted");
    assert_eq!(
        serde_json::from_slice::<Value>(&sent[0].body).unwrap(),
        json!({"id": id})
    );
    assert_eq!(t.shop.order(id).unwrap()["status"], "trash");

    let restored = t.shop.restore_order(id).unwrap();
    assert_eq!(restored["status"], "processing");
    let sent = t.shop.deliver_pending_webhooks().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic, "order.restored");

    // Two quick changes while the first delivery still waits: one delivery, latest state.
    t.shop.set_status(id, "completed");
    t.shop.set_status(id, "in-production");
    let sent = t.shop.deliver_pending_webhooks().await;
    assert_eq!(sent.len(), 1);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["status"], "in-production");

    let (status, body) = t
        .send(
            reqwest::Method::DELETE,
            &format!("orders/{id}?force=true"),
            json!({}),
        )
        .await;
    assert_eq!((status, body["id"].as_u64()), (200, Some(id)));
    assert!(t.shop.order(id).is_none());
    let sent = t.shop.deliver_pending_webhooks().await;
    assert_eq!(sent[0].topic, "order.deleted");
    assert_eq!(receiver.hits().len(), 3 + 4, "three pings, four events");
}

#[tokio::test]
async fn five_failed_deliveries_disable_the_webhook() {
    let t = Shop::start().await;
    t.shop.set_auto_deliver(false);
    let (_server, receiver, url) = Receiver::start(500).await;
    let (_, hook) = t
        .send(
            reqwest::Method::POST,
            "webhooks",
            json!({"topic": "order.updated", "delivery_url": url, "secret": "k"}),
        )
        .await;
    let hook_id = hook["id"].as_u64().unwrap();
    let id = id_of(&t.shop.create_order(nl_order("Failing")));
    for (i, status) in [
        "on-hold",
        "processing",
        "on-hold",
        "processing",
        "completed",
    ]
    .iter()
    .enumerate()
    {
        t.shop.set_status(id, status);
        let sent = t.shop.deliver_pending_webhooks().await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].status, Some(500));
        let (_, _, hook) = t.get(&format!("webhooks/{hook_id}")).await;
        let expected = if i < 4 { "active" } else { "disabled" };
        assert_eq!(hook["status"], expected, "after failure {}", i + 1);
    }
    t.shop.set_status(id, "in-production");
    assert!(t.shop.deliver_pending_webhooks().await.is_empty());
    assert_eq!(receiver.hits().len(), 1 + 5, "ping plus five attempts");

    // Re-enabling through the API resumes deliveries.
    receiver.status.store(200, Ordering::SeqCst);
    let (status, hook) = t
        .send(
            reqwest::Method::PUT,
            &format!("webhooks/{hook_id}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!((status, hook["status"].as_str()), (200, Some("active")));
    t.shop.set_status(id, "completed");
    let sent = t.shop.deliver_pending_webhooks().await;
    assert_eq!(sent[0].status, Some(200));
    // Webhooks cannot be trashed, only deleted.
    let (status, body) = t
        .send(
            reqwest::Method::DELETE,
            &format!("webhooks/{hook_id}"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (501, "woocommerce_rest_trash_not_supported")
    );
    let (status, _) = t
        .send(
            reqwest::Method::DELETE,
            &format!("webhooks/{hook_id}?force=true"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn webhook_creation_validates_topic_and_url() {
    let t = Shop::start().await;
    let (status, body) = t
        .send(
            reqwest::Method::POST,
            "webhooks",
            json!({"topic": "order.shipped", "delivery_url": "https://example.com/hook"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "woocommerce_rest_shop_webhook_invalid_topic")
    );
    let (status, body) = t
        .send(
            reqwest::Method::POST,
            "webhooks",
            json!({"topic": "order.updated", "delivery_url": "ftp://example.com"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "woocommerce_rest_shop_webhook_invalid_delivery_url")
    );
}

// ----- faults -----------------------------------------------------------------------------

fn arm(shop: &WooSandbox, method: &str, path: &str, fault: Fault) {
    shop.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some(method.to_string()),
            path_contains: Some(path.to_string()),
        },
        fault,
        times: 1,
    });
}

#[tokio::test]
async fn faults_fail_before_or_after_applying() {
    let t = Shop::start().await;
    let id = id_of(&t.shop.create_order(nl_order("Faulty")));
    let path = format!("orders/{id}");

    arm(&t.shop, "PUT", &path, Fault::ServerError);
    let (status, body) = t
        .send(reqwest::Method::PUT, &path, json!({"status": "completed"}))
        .await;
    assert_eq!((status, error_code(&body)), (500, "internal_server_error"));
    assert_eq!(
        t.shop.order(id).unwrap()["status"],
        "processing",
        "not applied"
    );

    arm(&t.shop, "GET", "orders", Fault::TooManyRequests);
    let response = t
        .authed(reqwest::Method::GET, "orders")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");

    arm(&t.shop, "PUT", &path, Fault::ServerErrorAfterApply);
    let response = t
        .authed(reqwest::Method::PUT, &path)
        .json(&json!({"status": "completed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(t.shop.order(id).unwrap()["status"], "completed", "applied");

    arm(&t.shop, "PUT", &path, Fault::Slow { millis: 400 });
    let timed_out = t
        .authed(reqwest::Method::PUT, &path)
        .timeout(Duration::from_millis(100))
        .json(&json!({"status": "on-hold"}))
        .send()
        .await;
    assert!(timed_out.unwrap_err().is_timeout());
    assert_eq!(t.shop.order(id).unwrap()["status"], "on-hold", "applied");

    arm(&t.shop, "POST", "refunds", Fault::LoseResponse);
    let lost = t
        .authed(reqwest::Method::POST, &format!("{path}/refunds"))
        .json(&json!({"amount": "5.00", "api_refund": false}))
        .send()
        .await;
    // The connection breaks off: either before the head is read or while reading the body.
    let outcome = match lost {
        Ok(response) => response.json::<Value>().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(outcome.is_err(), "the caller cannot read the result");
    assert_eq!(t.shop.order(id).unwrap()["refunds"][0]["total"], "-5.00");

    // Every request is recorded with the status the shop answered.
    let recorded: Vec<(String, u16)> = t
        .shop
        .recorder()
        .all()
        .into_iter()
        .map(|r| (r.method, r.status))
        .collect();
    let expected: Vec<(String, u16)> = [
        ("PUT", 500),
        ("GET", 429),
        ("PUT", 503),
        ("PUT", 200),
        ("POST", 201),
    ]
    .iter()
    .map(|(m, s)| (m.to_string(), *s))
    .collect();
    assert_eq!(recorded, expected);
    assert_eq!(t.shop.faults().injected().len(), 5);
}

// ----- REST writes and admin endpoints ----------------------------------------------------

#[tokio::test]
async fn orders_created_through_the_api_are_priced_from_the_catalogue() {
    let t = Shop::start().await;
    let (status, order) = t
        .send(
            reqwest::Method::POST,
            "orders",
            json!({
                "payment_method": "bacs",
                "payment_method_title": "Direct bank transfer",
                "set_paid": true,
                "billing": {"first_name": "Lena", "last_name": "Schmidt", "country": "DE", "email": "l@example.de"},
                "line_items": [{"product_id": 11, "quantity": 2}, {"product_id": 17, "quantity": 1}],
                "shipping_lines": [{"method_id": "flat_rate", "method_title": "DHL", "total": "7.95"}],
            }),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(order["status"], "processing");
    assert_eq!(order["created_via"], "rest-api");
    // DE: beans 7 %, mug and shipping 19 %.
    assert_eq!(order["line_items"][0]["total_tax"], "2.59");
    assert_eq!(order["line_items"][1]["total_tax"], "1.51");
    assert_eq!(order["shipping_tax"], "1.51");
    assert_eq!(order["total"], "58.51");
    let (status, body) = t
        .send(
            reqwest::Method::POST,
            "orders",
            json!({"line_items": [{"product_id": 11, "quantity": 1}], "coupon_lines": [{"code": "nope"}]}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "woocommerce_rest_invalid_coupon")
    );
    let response = t
        .authed(reqwest::Method::POST, "orders")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "rest_invalid_json");
}

#[tokio::test]
async fn catalogue_customers_and_taxes_are_served() {
    let t = Shop::start().await;
    fixtures::demo_mix(&t.shop);
    let (_, headers, taxes) = t.get("taxes?per_page=100").await;
    assert_eq!(header(&headers, "X-WP-Total"), "15");
    assert_eq!(taxes[0]["country"], "NL");
    assert_eq!(taxes[0]["rate"], "21.0000");
    assert_eq!(taxes[1]["class"], "reduced-rate");
    let (_, _, product) = t.get("products/21").await;
    assert_eq!(product["price"], "3.333");
    assert_eq!(product["sku"], "FLT-PAP-0100");
    let (_, headers, _) = t.get("products").await;
    assert_eq!(header(&headers, "X-WP-Total"), "20");
    let (_, _, customers) = t.get("customers?orderby=id").await;
    let ids: Vec<u64> = customers.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, vec![2, 3, 4, 5]);
    assert_eq!(customers[1]["billing"]["company"], "Koffiebar De Boon B.V.");
    let (_, _, by_customer) = t.get("orders?customer=3").await;
    assert_eq!(by_customer.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn admin_endpoints_drive_the_shop_without_auth() {
    let t = Shop::start().await;
    let admin = |path: &str| format!("{}/__sandbox/{path}", t.base);
    let response = t
        .http
        .post(admin("orders"))
        .json(&json!({
            "status": "on-hold",
            "customer": {"first_name": "Ad", "last_name": "Min"},
            "billing": {"country": "FR"},
            "lines": [{"name": "Tea", "quantity": 1, "unit_price": "10.00", "tax_rate": "5.5", "tax_class": "reduced-rate"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["total"], "10.55");
    assert_eq!(order["tax_lines"][0]["rate_code"], "FR-TVA-1");
    let id = id_of(&order);

    let changed: Value = t
        .http
        .post(admin(&format!("orders/{id}/status")))
        .json(&json!({"status": "in-production"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changed["status"], "in-production");
    let refund = t
        .http
        .post(admin(&format!("orders/{id}/refunds")))
        .json(&json!({"amount": "2.00", "reason": "Admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refund.status(), 201);
    let missing = t
        .http
        .post(admin("orders/9999/status"))
        .json(&json!({"status": "completed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let armed = t
        .http
        .post(admin("faults"))
        .json(&json!({"match": {"method": "GET"}, "fault": {"kind": "server_error"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 201);
    let (status, _, _) = t.get("orders").await;
    assert_eq!(status, 500);
    let requests: Value = t
        .http
        .get(admin("requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(requests[0]["status"], 500);
    assert_eq!(requests[0]["path"], "/wp-json/wc/v3/orders");

    let mix: Value = t
        .http
        .post(admin("demo-mix"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mix.as_array().unwrap().len(), 15);
}
