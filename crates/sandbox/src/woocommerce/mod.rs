//! WooCommerce REST API v3 emulator, written from the vendor reference in
//! `shared/specs/woocommerce` (docs, recorded responses, NOTES.md).
//!
//! A [`WooSandbox`] is one shop: seeded tax rates (NL, BE, DE, FR, AT, ES, IT; standard and
//! reduced, plus a NL 0 % zero-rate) and a product catalogue, no orders. Tests add orders with
//! [`WooSandbox::create_order`] and change them like the shop admin would; a client reads them
//! through `/wp-json/wc/v3/...` exactly as from a real shop, and receives webhooks.
//!
//! Where the reference leaves room, the emulator chooses as follows:
//! * Authentication: HTTP Basic or `consumer_key`/`consumer_secret` query parameters are accepted
//!   over plain HTTP (the emulator behaves as if it sat behind TLS); OAuth 1.0a is not emulated.
//! * Site time zone is a fixed UTC+1; `date_*` are site time, `date_*_gmt` UTC. The emulator clock
//!   moves at least one second per change, so `date_modified` strictly increases. Date filters
//!   are exclusive (`>`/`<`, as `WP_Date_Query`); a date without offset is read as site time, or
//!   as GMT with `dates_are_gmt=true`; a date with an offset is taken as that instant.
//! * `orderby` accepts the documented values plus `modified`; unknown values and statuses are
//!   rejected with `rest_invalid_param`, like WordPress's enum validation. Custom statuses count as
//!   registered once any order has used them.
//! * Lists carry `X-WP-Total`, `X-WP-TotalPages` and one `Link` header with `prev`/`next`/`last`.
//! * Webhook payloads are built at delivery time (WooCommerce queues only the resource id), and a
//!   delivery still waiting in the queue is not queued twice for the same webhook and order.
//! * Deleting a webhook or a refund requires `force=true` (501 otherwise), as in WooCommerce's
//!   controllers; the docs' webhook example omits it.
//! * Endpoints the connector has no use for (batch, notes, writes to customers/products/taxes)
//!   answer 501 `sandbox_not_implemented` rather than pretend.
//! * JSON is written as PHP's `json_encode` writes it (`\/`, `\uXXXX`).

mod admin;
mod api;
mod calc;
pub mod fixtures;
mod json;
mod model;
mod shop;
mod spec;
mod webhooks;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;
use serde_json::Value;

pub use spec::{
    AddressSpec, CouponSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, RefundSpec, ShippingSpec,
};
pub use webhooks::{DeliveryRecord, PING_TOPIC};

use crate::faults::FaultPlan;
use crate::recorder::Recorder;
use shop::Shop;

#[derive(Clone, Debug)]
pub struct WooConfig {
    pub consumer_key: String,
    pub consumer_secret: String,
    /// The shop's home URL as sent in `X-WC-Webhook-Source` ("https://shop.example" or a bare
    /// host name, which becomes `https://<name>/`). Empty: the emulator's own base URL.
    pub store_url_name: String,
}

impl Default for WooConfig {
    fn default() -> Self {
        WooConfig {
            consumer_key: "ck_sandbox_4f2a9c1e7b3d5a8f0c6e2b9d4a7f1c3e5b8d0a2f".to_string(),
            consumer_secret: "cs_sandbox_9e1b7d3f5a2c8e0b4d6f1a3c5e7b9d2f4a6c8e0b".to_string(),
            store_url_name: String::new(),
        }
    }
}

/// One emulated shop. Cloning shares the shop.
#[derive(Clone)]
pub struct WooSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: WooConfig,
    shop: Mutex<Shop>,
    faults: FaultPlan,
    recorder: Recorder,
    base_url: OnceLock<String>,
    deliveries: Mutex<Vec<DeliveryRecord>>,
    next_delivery_id: AtomicU64,
    auto_deliver: AtomicBool,
    delivery_turn: tokio::sync::Mutex<()>,
    http: reqwest::Client,
}

impl WooSandbox {
    /// An empty shop: tax rates and products seeded, no orders, customers or webhooks.
    pub fn new(config: WooConfig) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        WooSandbox {
            inner: Arc::new(Inner {
                config,
                shop: Mutex::new(Shop::new()),
                faults: FaultPlan::default(),
                recorder: Recorder::default(),
                base_url: OnceLock::new(),
                deliveries: Mutex::new(Vec::new()),
                next_delivery_id: AtomicU64::new(1),
                auto_deliver: AtomicBool::new(true),
                delivery_turn: tokio::sync::Mutex::new(()),
                http,
            }),
        }
    }

    /// The REST API under `/wp-json/wc/v3/` plus the admin endpoints under `/__sandbox/`.
    pub fn router(&self) -> Router {
        admin::routes().fallback(api::rest).with_state(self.clone())
    }

    /// Serves a new shop on 127.0.0.1:`port` (0 picks one); the shop remembers its base URL for
    /// `_links`, `Link` headers and `X-WC-Webhook-Source`.
    pub async fn start(
        config: WooConfig,
        port: u16,
    ) -> std::io::Result<(crate::Running, WooSandbox)> {
        let shop = WooSandbox::new(config);
        let running = crate::serve(shop.router(), port).await?;
        let _ = shop.inner.base_url.set(running.base_url());
        Ok((running, shop))
    }

    pub fn config(&self) -> &WooConfig {
        &self.inner.config
    }

    pub fn faults(&self) -> &FaultPlan {
        &self.inner.faults
    }

    pub fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    pub(crate) fn shop(&self) -> MutexGuard<'_, Shop> {
        self.inner.shop.lock().unwrap()
    }

    /// Base URL of the site (`http://127.0.0.1:PORT` once started).
    pub(crate) fn site_url(&self) -> String {
        self.inner
            .base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "http://localhost".to_string())
    }

    /// Stores an order as the shop's checkout would, computes all totals, and queues
    /// `order.created`. Returns the order as `GET /orders/{id}` shows it.
    pub fn create_order(&self, spec: OrderSpec) -> Value {
        let json = {
            let mut shop = self.shop();
            let id = shop.create_order(&spec, "checkout");
            shop.order_json_by_id(id, &self.site_url())
                .unwrap_or_default()
        };
        self.kick();
        json
    }

    /// Sets any status slug (custom ones are registered on first use; "trash" trashes), moves
    /// `date_modified`, and queues `order.updated`. Returns the order, or the API error object
    /// for an unknown id.
    pub fn set_status(&self, order_id: u64, status: &str) -> Value {
        let result = self.try_set_status(order_id, status);
        self.kick();
        result.unwrap_or_else(|e| e.body())
    }

    fn try_set_status(&self, order_id: u64, status: &str) -> Result<Value, api::ApiError> {
        let mut shop = self.shop();
        shop.set_status(order_id, status)?;
        shop.order_json_by_id(order_id, &self.site_url())
            .ok_or_else(shop::invalid_order_id)
    }

    /// Refunds (manually, `refunded_payment: false`); the order lists it in `refunds[]`, turns
    /// `refunded` when nothing is left, and queues `order.updated`. Returns the refund as
    /// `GET /orders/{id}/refunds/{refund_id}` shows it, or the API error object.
    pub fn refund(&self, order_id: u64, spec: RefundSpec) -> Value {
        let result = self.try_refund(order_id, &spec);
        self.kick();
        result.unwrap_or_else(|e| e.body())
    }

    fn try_refund(&self, order_id: u64, spec: &RefundSpec) -> Result<Value, api::ApiError> {
        let mut shop = self.shop();
        let request = shop.refund_request(order_id, spec)?;
        let refund_id = shop.create_refund(order_id, request)?;
        Ok(shop
            .find_refund(order_id, refund_id)?
            .json(&self.site_url()))
    }

    /// Trashes (`force` false) or deletes the order; queues `order.deleted` (`{"id": N}`).
    /// Unknown ids and already trashed orders (without `force`) are left alone.
    pub fn delete_order(&self, order_id: u64, force: bool) {
        let deleted = self.shop().delete_order(order_id, force, &self.site_url());
        if let Err(error) = deleted {
            tracing::debug!(order_id, ?error, "sandbox delete_order ignored");
        }
        self.kick();
    }

    /// Takes a trashed order out of the trash (previous status back) and queues
    /// `order.restored`. `None` if the order is unknown or not in the trash.
    pub fn restore_order(&self, order_id: u64) -> Option<Value> {
        let restored = {
            let mut shop = self.shop();
            shop.restore_order(order_id)
                .ok()
                .and_then(|()| shop.order_json_by_id(order_id, &self.site_url()))
        };
        self.kick();
        restored
    }

    /// The order as `GET /orders/{id}` shows it (trashed orders included).
    pub fn order(&self, id: u64) -> Option<Value> {
        self.shop().order_json_by_id(id, &self.site_url())
    }
}
