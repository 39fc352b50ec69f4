//! PrestaShop 1.7/8 Webservice API emulator, written from the vendor reference in
//! `shared/specs/prestashop` (docs, recorded responses, NOTES.md).
//!
//! A [`PrestaSandbox`] is one shop ("De Gouden Boon", NL, one language, EUR and USD) with its
//! base data seeded — countries with PrestaShop's ids, an OSS tax table (two tax rules groups
//! with NL/BE/DE/FR/AT/ES/IT rules), the core order states 1–13, five carriers and a small
//! catalogue — and no orders. Tests add orders with [`PrestaSandbox::create_order`] and change
//! them as the back office would; a client reads them through `/api/...` with a webservice
//! key that may GET and HEAD the emulated resources (every write answers 405, every other real
//! resource 401, an unknown one 400).
//!
//! Where the reference leaves room, the emulator chooses as follows:
//! * Amounts follow the shop defaults: round half up, round per item (`round_mode` 2,
//!   `round_type` 1); see `calc` for the exact arithmetic. Money columns have six decimals,
//!   tax rates three, `order_cart_rules.value` two.
//! * Time is shop-local (a fixed UTC+1) and written `YYYY-MM-DD HH:MM:SS`; the clock moves at
//!   least one second per change, so `date_upd` strictly increases.
//! * `filter[date_add]`/`filter[date_upd]` (and sorting by them) need `date=1`, otherwise the
//!   filter "does not exist" (400), as in `manageFilters()`. An interval `[a,b]` is SQL
//!   `BETWEEN`, inclusive at both ends; the docs' "exclusive last member" is not what the code
//!   does. Filters compare like MySQL for the column type (numbers numerically, text
//!   case-insensitively).
//! * The credit slip resource is `/api/order_slip` (as the reference names it); its list
//!   element is `order_slips`, the entity `order_slip`.
//! * `order_details` has the fields of the 8.x reference (no `tax_rate`/`tax_name`): a line's
//!   tax is `associations/taxes` → `taxes/{id}`.
//! * A state with `invoice` numbers an invoice (`order_invoices`), `delivery` a delivery slip,
//!   `paid` records an `order_payments` row for what is left to pay (`total_paid_real`), and
//!   `logable` sets `valid`, as `OrderHistory::changeIdOrderState()` does.
//! * Unknown ids answer 404 "Id(s) not exists"; `?schema=` is not emulated (501);
//!   `id_shop`/`id_group_shop` are ignored (one shop).
//! * JSON: `id` is a number and every other value a string, an empty list is `[]`, and
//!   `display` on a single entity gives the list shape — all as `WebserviceOutputJSON` does.

mod admin;
mod api;
mod calc;
pub mod fixtures;
mod model;
mod query;
mod render;
mod resources;
mod schema;
mod seed;
mod sha1;
mod shop;
mod spec;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;

pub use shop::ShopError;
pub use spec::{
    AddressSpec, CarrierSpec, CustomerSpec, DiscountSpec, LineSpec, OrderSpec, SlipLine, SlipSpec,
    StateFlags,
};

use crate::faults::FaultPlan;
use crate::recorder::Recorder;
use shop::Shop;

#[derive(Clone, Debug)]
pub struct PrestaConfig {
    /// The webservice key (32 characters), sent as the HTTP Basic user or `ws_key`.
    pub api_key: String,
}

impl Default for PrestaConfig {
    fn default() -> Self {
        PrestaConfig {
            api_key: "VJ1DEGYD8NCF32EQF3DHPD1DPCIT2JHU".to_string(),
        }
    }
}

/// One emulated shop. Cloning shares the shop.
#[derive(Clone)]
pub struct PrestaSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: PrestaConfig,
    shop: Mutex<Shop>,
    faults: FaultPlan,
    recorder: Recorder,
    base_url: OnceLock<String>,
}

impl PrestaSandbox {
    /// A shop with its base data and catalogue, and no customers or orders.
    pub fn new(config: PrestaConfig) -> Self {
        PrestaSandbox {
            inner: Arc::new(Inner {
                config,
                shop: Mutex::new(Shop::new()),
                faults: FaultPlan::default(),
                recorder: Recorder::default(),
                base_url: OnceLock::new(),
            }),
        }
    }

    /// The webservice under `/api/` plus the admin endpoints under `/__sandbox/`.
    pub fn router(&self) -> Router {
        admin::routes()
            .fallback(api::webservice)
            .with_state(self.clone())
    }

    /// Serves a new shop on 127.0.0.1:`port` (0 picks one); the shop remembers its base URL
    /// for `xlink:href`s.
    pub async fn start(
        config: PrestaConfig,
        port: u16,
    ) -> std::io::Result<(crate::Running, PrestaSandbox)> {
        let shop = PrestaSandbox::new(config);
        let running = crate::serve(shop.router(), port).await?;
        let _ = shop.inner.base_url.set(running.base_url());
        Ok((running, shop))
    }

    pub fn config(&self) -> &PrestaConfig {
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

    /// Base URL of the shop (`http://127.0.0.1:PORT` once started).
    pub(crate) fn site_url(&self) -> String {
        self.inner
            .base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "http://localhost".to_string())
    }

    /// Stores an order as checkout would (customer and addresses included), computes every
    /// amount and applies its first state. Returns the order id.
    ///
    /// # Panics
    /// If the spec names an unknown state, currency or carrier, or has no lines.
    pub fn create_order(&self, spec: OrderSpec) -> u64 {
        self.try_create_order(&spec)
            .unwrap_or_else(|e| panic!("PrestaSandbox::create_order: {e}"))
    }

    pub(crate) fn try_create_order(&self, spec: &OrderSpec) -> Result<u64, ShopError> {
        self.shop().create_order(spec)
    }

    /// Changes the order's state as the back office does: adds an `order_histories` row,
    /// applies the state's flags and moves `date_upd`. Returns the history id.
    pub fn set_order_state(&self, order_id: u64, state_id: u64) -> Result<u64, ShopError> {
        self.shop().set_state(order_id, state_id)
    }

    /// Installs an order state the way a payment or shipping module does. Returns its id.
    pub fn add_order_state(&self, name: &str, flags: StateFlags) -> u64 {
        self.shop().add_state(name, &flags)
    }

    /// Issues a credit slip on the order (see [`SlipSpec`]). Returns the slip id.
    ///
    /// # Panics
    /// If the order is unknown or the slip refunds more than is left.
    pub fn create_order_slip(&self, order_id: u64, spec: SlipSpec) -> u64 {
        self.try_create_order_slip(order_id, &spec)
            .unwrap_or_else(|e| panic!("PrestaSandbox::create_order_slip: {e}"))
    }

    pub(crate) fn try_create_order_slip(
        &self,
        order_id: u64,
        spec: &SlipSpec,
    ) -> Result<u64, ShopError> {
        self.shop().create_slip(order_id, spec)
    }

    /// The order as `GET /api/orders/{id}` shows it (XML), or the webservice's 404 error
    /// document for an unknown id.
    pub fn order_xml(&self, id: u64) -> String {
        self.render_order(id)
    }
}
