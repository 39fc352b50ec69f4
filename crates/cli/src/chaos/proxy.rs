//! The shops' webhooks go through this proxy, which hands each delivery to a live worker —
//! and misbehaves like the internet does: some deliveries arrive twice or late (after newer
//! ones), some copies carry a forged signature. It keeps every delivery for the replay at the
//! end, and counts what the workers answered to forgeries (they must refuse them all).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::workers::Workers;

/// The headers a WooCommerce delivery carries that the receiver reads.
const FORWARDED: [&str; 7] = [
    "content-type",
    "x-wc-webhook-source",
    "x-wc-webhook-topic",
    "x-wc-webhook-signature",
    "x-wc-webhook-id",
    "x-wc-webhook-delivery-id",
    "user-agent",
];

#[derive(Clone)]
pub struct Delivery {
    pub connection: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

#[derive(Default)]
pub struct ProxyLog {
    pub deliveries: Vec<Delivery>,
    pub duplicated: usize,
    pub delayed: usize,
    pub forged: usize,
    /// Forged deliveries a worker accepted (must stay 0).
    pub forgeries_accepted: usize,
    /// Malformed bodies a worker accepted (must stay 0).
    pub malformed_accepted: usize,
    /// Every answer the workers gave, status, headers and body: for the secrets canary.
    pub answers: Vec<u8>,
}

#[derive(Clone)]
pub struct Proxy {
    workers: Workers,
    http: reqwest::Client,
    rng: Arc<Mutex<StdRng>>,
    pub log: Arc<Mutex<ProxyLog>>,
}

impl Proxy {
    pub fn new(workers: Workers, seed: u64) -> Proxy {
        Proxy {
            workers,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a plain HTTP client builds"),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
            log: Arc::default(),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/hook/{connection}", post(receive))
            .with_state(self.clone())
    }

    fn roll(&self, probability: f64) -> bool {
        self.rng.lock().expect("rng lock").gen_bool(probability)
    }

    /// Sends one delivery to a live worker; its status, or `None` when none answered.
    pub async fn send(&self, delivery: &Delivery) -> Option<StatusCode> {
        let live = self.workers.live_ports();
        if live.is_empty() {
            return None;
        }
        let port = live[self.rng.lock().expect("rng lock").gen_range(0..live.len())];
        let mut request = self
            .http
            .post(format!(
                "http://127.0.0.1:{port}/webhooks/woocommerce/{}",
                delivery.connection
            ))
            .body(delivery.body.clone());
        for (name, value) in &delivery.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.ok()?;
        let status = response.status();
        let mut answer = format!("{status}\n");
        for (name, value) in response.headers() {
            answer.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        let body = response.bytes().await.unwrap_or_default();
        let mut log = self.log.lock().expect("log lock");
        log.answers.extend(answer.as_bytes());
        log.answers.extend(&body);
        log.answers.push(b'\n');
        Some(status)
    }

    /// A copy with the signature of another body: a worker must refuse it.
    async fn forge(&self, delivery: &Delivery) {
        let mut forged = delivery.clone();
        for (name, value) in &mut forged.headers {
            if name == "x-wc-webhook-signature" {
                *value = "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ==".into();
            }
        }
        let status = self.send(&forged).await;
        let mut log = self.log.lock().expect("log lock");
        log.forged += 1;
        if status.is_some_and(|s| s.is_success()) {
            log.forgeries_accepted += 1;
        }
    }

    /// A body that is not JSON, correctly signed by nobody: refused, nothing taken in.
    pub async fn malformed(&self, connection: &str) {
        let delivery = Delivery {
            connection: connection.into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-wc-webhook-topic".into(), "order.updated".into()),
                (
                    "x-wc-webhook-signature".into(),
                    "bm90IGEgc2lnbmF0dXJl".into(),
                ),
            ],
            body: Bytes::from_static(
                b"{\"id\": 12, \"status\": \"processing\", \"line_items\": [{",
            ),
        };
        if self.send(&delivery).await.is_some_and(|s| s.is_success()) {
            self.log.lock().expect("log lock").malformed_accepted += 1;
        }
    }

    /// Every delivery once more (the end of the run: nothing new may be booked).
    pub async fn replay_all(&self) -> usize {
        let deliveries = self.log.lock().expect("log lock").deliveries.clone();
        for delivery in &deliveries {
            self.send(delivery).await;
        }
        deliveries.len()
    }
}

async fn receive(
    State(proxy): State<Proxy>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let kept: HashMap<&str, String> = FORWARDED
        .iter()
        .filter_map(|name| Some((*name, headers.get(*name)?.to_str().ok()?.to_string())))
        .collect();
    let delivery = Delivery {
        connection,
        headers: kept.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        body,
    };
    proxy
        .log
        .lock()
        .expect("log lock")
        .deliveries
        .push(delivery.clone());
    if proxy.roll(0.05) {
        proxy.forge(&delivery).await;
    }
    if proxy.roll(0.1) {
        // Late: after whatever the shop sends next.
        proxy.log.lock().expect("log lock").delayed += 1;
        let later = proxy.clone();
        let late = delivery.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            later.send(&late).await;
        });
        return StatusCode::OK;
    }
    let status = proxy
        .send(&delivery)
        .await
        .unwrap_or(StatusCode::BAD_GATEWAY);
    if proxy.roll(0.1) {
        proxy.log.lock().expect("log lock").duplicated += 1;
        proxy.send(&delivery).await;
    }
    status
}
