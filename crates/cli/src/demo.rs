//! `ledgerlink demo`: the whole flow against in-process emulators, with a summary a merchant
//! can read. Everything goes over real HTTP: webhooks from the shop, OAuth with Exact.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ledgerlink_core::{Document, Money};
use ledgerlink_engine::config::{
    notify_settings, ready_credentials, ConnectionConfig, NotificationsConfig, SmtpConfig,
    SourceConfig, TargetConfig,
};
use ledgerlink_engine::{notify, Engine, EngineOptions};
use ledgerlink_rules::BookingSettings;
use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::vies::{ViesConfig, ViesSandbox};
use ledgerlink_sandbox::woocommerce::{
    fixtures, AddressSpec, CustomerSpec, LineSpec, OrderSpec, WooConfig, WooSandbox,
};
use ledgerlink_store::{DocState, Keyring, SqliteStore, Store};
use rust_decimal::Decimal;
use serde_json::json;

pub const CONNECTION: &str = "demo-shop";
const WEBHOOK_SECRET: &str = "demo-webhook-secret";
const DIVISION: i32 = 100001;

/// The demo's bookkeeping rules, embedded in the binary.
pub fn demo_settings() -> BookingSettings {
    toml::from_str(include_str!("demo-settings.toml"))
        .expect("the embedded demo settings are valid")
}

/// The same rules for the Tryton company `tools/tryton/setup.sh` creates.
pub fn demo_settings_tryton() -> BookingSettings {
    toml::from_str(include_str!("demo-settings-tryton.toml"))
        .expect("the embedded demo settings are valid")
}

/// The Tryton database and API user `tools/tryton/setup.sh` creates.
pub const TRYTON_DATABASE: &str = "tryton";
pub const TRYTON_USER: &str = "connector";
pub const TRYTON_PASSWORD: &str = "connector-Secret-42";

/// What the demo did, for the printed table and for tests.
#[derive(Debug)]
pub struct DemoSummary {
    pub documents_seen: usize,
    pub booked: usize,
    /// Booked during this run (0 on a second run over the same ledger).
    pub booked_now: usize,
    pub waiting: usize,
    pub skipped: usize,
    pub held: usize,
    /// Every document not booked: (state, document, reason).
    pub not_booked: Vec<(DocState, String, String)>,
    /// Requests Exact Online served during this run, by purpose.
    pub exact_calls: ExactCalls,
    /// Sum of the source totals of the documents booked during this run.
    pub source_total: Money,
    /// Sum of what the ledger recorded for them (totals incl. VAT), read from the ledger.
    pub ledger_total: Decimal,
    /// Which ledger that is.
    pub ledger_name: &'static str,
}

#[derive(Debug, Default)]
pub struct ExactCalls {
    /// `POST salesentry/SalesEntries` (and lookups of them by reference).
    pub sales_entries: usize,
    /// Finding and creating customers (`crm/Accounts`).
    pub customers: usize,
    /// Once per connection: OAuth, and reading GL accounts, VAT codes, journals and items.
    pub setup: usize,
}

impl ExactCalls {
    pub fn total(&self) -> usize {
        self.sales_entries + self.customers + self.setup
    }
}

/// Notifications for a demo world: where they go and how hard they are tried.
pub struct DemoNotifications {
    pub smtp: Option<SmtpConfig>,
    pub notifications: NotificationsConfig,
    pub retry: notify::Retry,
}

/// A running demo environment: both emulators, the webhook server and the engine.
pub struct DemoWorld {
    pub shop: WooSandbox,
    pub exact: ExactSandbox,
    /// VIES, which knows the companies the shop sells to (see [`DemoWorld::register_vat_numbers`]).
    pub vies: ViesSandbox,
    pub engine: Arc<Engine>,
    /// The base URL of the Exact Online emulator.
    pub exact_url: String,
    /// The base URL of ledgerlink's own HTTP service.
    pub server_url: String,
    /// Where the shop delivers its webhooks.
    pub webhook_url: String,
    /// The ledger it books into.
    pub ledger: DemoLedger,
    /// What the link that starts the Exact Online connection needs.
    pub connect_key: String,
    _running: Vec<ledgerlink_sandbox::Running>,
    _server: tokio::task::JoinHandle<()>,
}

/// The ledger the demo books into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DemoLedger {
    /// The Exact Online emulator, connected through its OAuth flow.
    Exact,
    /// A real Tryton server (`tools/tryton/setup.sh` starts one) at this address.
    Tryton { url: String },
}

/// The demo's key file beside its SQLite file (`ledgerlink-demo.key`), made on its first run:
/// the demo needs no ceremony, but its credentials are sealed all the same.
pub fn demo_key_file(database: &Path) -> std::path::PathBuf {
    database.with_extension("key")
}

/// The SQLite ledger at `database`, its credentials sealed with the key beside it.
async fn open_demo_ledger(database: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let key_file = demo_key_file(database);
    let keyring = if key_file.exists() {
        Keyring::from_file(&key_file)?
    } else {
        Keyring::create_file(&key_file)?
    };
    let store = SqliteStore::open(database)
        .await
        .with_context(|| format!("cannot open {}", database.display()))?
        .with_keyring(keyring.clone());
    ready_credentials(&store, Some(&keyring))
        .await
        .with_context(|| {
            format!(
                "{} does not go with the key in {}: delete both to start the demo afresh",
                database.display(),
                key_file.display()
            )
        })?;
    Ok(Arc::new(store))
}

impl DemoWorld {
    /// Starts the emulators and the engine on `database`, connects Exact Online through its
    /// OAuth flow and subscribes the engine to the shop's order webhooks.
    pub async fn start(database: &Path, options: EngineOptions) -> anyhow::Result<DemoWorld> {
        Self::start_with(database, options, DemoLedger::Exact, None).await
    }

    /// [`DemoWorld::start`] on a store of the caller's (e.g. PostgreSQL).
    pub async fn start_on(
        store: Arc<dyn Store>,
        options: EngineOptions,
    ) -> anyhow::Result<DemoWorld> {
        Self::start_world(store, options, DemoLedger::Exact, None, None).await
    }

    /// A world booking into an Exact emulator configured as `exact` (e.g. without rate
    /// limits, for the benchmarks), by `settings`, on a store of the caller's.
    pub async fn start_with_exact(
        store: Arc<dyn Store>,
        options: EngineOptions,
        settings: BookingSettings,
        exact: ExactConfig,
    ) -> anyhow::Result<DemoWorld> {
        Self::start_world_on(
            store,
            options,
            DemoLedger::Exact,
            Some(settings),
            None,
            exact,
        )
        .await
    }

    /// [`DemoWorld::start`], booking into the given ledger, by the demo's rules for it unless
    /// `settings` are given.
    pub async fn start_with(
        database: &Path,
        options: EngineOptions,
        ledger: DemoLedger,
        settings: Option<BookingSettings>,
    ) -> anyhow::Result<DemoWorld> {
        let store = open_demo_ledger(database).await?;
        Self::start_world(store, options, ledger, settings, None).await
    }

    /// [`DemoWorld::start`], announcing held documents and failures and sending reports as
    /// `notifications` say.
    pub async fn start_notifying(
        database: &Path,
        options: EngineOptions,
        notifications: DemoNotifications,
    ) -> anyhow::Result<DemoWorld> {
        let store = open_demo_ledger(database).await?;
        Self::start_world(store, options, DemoLedger::Exact, None, Some(notifications)).await
    }

    async fn start_world(
        store: Arc<dyn Store>,
        options: EngineOptions,
        ledger: DemoLedger,
        settings: Option<BookingSettings>,
        notifications: Option<DemoNotifications>,
    ) -> anyhow::Result<DemoWorld> {
        let exact = ExactConfig::default();
        Self::start_world_on(store, options, ledger, settings, notifications, exact).await
    }

    async fn start_world_on(
        store: Arc<dyn Store>,
        options: EngineOptions,
        ledger: DemoLedger,
        settings: Option<BookingSettings>,
        notifications: Option<DemoNotifications>,
        exact_config: ExactConfig,
    ) -> anyhow::Result<DemoWorld> {
        let (exact_running, exact) = ExactSandbox::start(exact_config, 0).await?;
        let (shop_running, shop) = WooSandbox::start(WooConfig::default(), 0).await?;
        let (vies_running, vies) = ViesSandbox::start(ViesConfig::default(), 0).await?;
        // The merchant's own number must be known to VIES for it to issue consultation numbers.
        vies.register(
            "NL",
            "004495445B01",
            Some("Demo Webshop BV"),
            Some("Keizersgracht 1, Amsterdam"),
        );
        shop.set_auto_deliver(false);
        let config = ConnectionConfig {
            id: CONNECTION.into(),
            name: "Demo webshop".into(),
            source: SourceConfig::Woocommerce {
                url: shop_running.base_url(),
                consumer_key: shop.config().consumer_key.clone().into(),
                consumer_secret: shop.config().consumer_secret.clone().into(),
                webhook_secrets: vec![WEBHOOK_SECRET.into()],
            },
            target: match &ledger {
                DemoLedger::Exact => TargetConfig::Exact {
                    base_url: exact_running.base_url(),
                    division: DIVISION,
                    client_id: exact.config().client_id.clone(),
                    client_secret: exact.config().client_secret.clone().into(),
                    redirect_uri: exact.config().redirect_uri.clone(),
                },
                DemoLedger::Tryton { url } => TargetConfig::Tryton {
                    url: url.clone(),
                    database: TRYTON_DATABASE.into(),
                    username: TRYTON_USER.into(),
                    password: TRYTON_PASSWORD.to_string().into(),
                },
            },
            booking: settings.unwrap_or_else(|| match &ledger {
                DemoLedger::Exact => demo_settings(),
                DemoLedger::Tryton { .. } => demo_settings_tryton(),
            }),
            notifications: notifications.as_ref().map(|n| n.notifications.clone()),
            owner: None,
        };
        let connection = config
            .build_with_vies(
                store.clone(),
                Duration::from_secs(5),
                Some(vies_running.base_url()),
            )
            .await?;
        if let Some(target) = connection.target.exact() {
            let code = authorize(&exact_running.base_url(), exact.config()).await?;
            target
                .connect_with_code(&code)
                .await
                .map_err(|e| anyhow::anyhow!("connecting Exact Online failed: {e}"))?;
        }
        let mut engine = Engine::new(store, vec![connection], options);
        if let Some(notifications) = notifications {
            let mut settings =
                notify_settings(notifications.smtp.as_ref(), std::slice::from_ref(&config))
                    .map_err(|problems| anyhow::anyhow!("{}", problems.join("; ")))?;
            settings.retry = notifications.retry;
            engine = engine.with_notifications(settings)?;
        }
        let engine = Arc::new(engine);
        let server = ledgerlink_server::serve(engine.clone(), "127.0.0.1:0").await?;
        let server_url = format!("http://{}", server.addr);
        let webhook_url = format!("{server_url}/webhooks/woocommerce/{CONNECTION}");
        subscribe_webhooks(&shop_running.base_url(), shop.config(), &webhook_url).await?;
        shop.deliver_pending_webhooks().await;
        Ok(DemoWorld {
            shop,
            exact,
            vies,
            engine,
            exact_url: exact_running.base_url(),
            server_url,
            webhook_url,
            ledger,
            connect_key: server.connect_key.clone(),
            _running: vec![exact_running, shop_running, vies_running],
            _server: server.handle,
        })
    }

    /// Registers with VIES every VAT number the shop's orders carry: in this world the
    /// companies the shop sells to exist.
    pub fn register_vat_numbers(&self, orders: &[serde_json::Value]) {
        for order in orders {
            let number = order["meta_data"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["key"] == "_billing_vat_number")
                .and_then(|m| m["value"].as_str())
                .and_then(|v| v.parse::<ledgerlink_core::VatNumber>().ok());
            if let Some(number) = number {
                let company = order["billing"]["company"].as_str();
                self.vies
                    .register(number.prefix(), number.body(), company, None);
            }
        }
    }

    /// Delivers the shop's webhooks, sweeps once for anything missed, and works until nothing
    /// is due (refunds wait for their orders, uncertain outcomes for their settle delay).
    pub async fn settle(&self) -> anyhow::Result<()> {
        self.shop.deliver_pending_webhooks().await;
        self.engine.sweep(CONNECTION).await?;
        for _ in 0..600 {
            self.engine.run_until_idle(100).await?;
            if self.engine.store().open_count().await? == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("documents were still open after 30 s; see `ledgerlink status`")
    }
}

/// The real authorization-code flow: open the authorize URL (the sandbox approves at once)
/// and take the code from the redirect.
async fn authorize(base_url: &str, config: &ExactConfig) -> anyhow::Result<String> {
    let app = ledgerlink_targets::exact::ExactApp {
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone().into(),
        redirect_uri: config.redirect_uri.clone(),
    };
    let url = ledgerlink_targets::exact::authorization_url(base_url, &app, "demo");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client.get(&url).send().await?;
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .context("Exact's authorize endpoint did not redirect back")?;
    let redirect = url::Url::parse(location)?;
    let code = redirect
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string());
    code.context("the redirect from Exact carried no code")
}

/// Subscribes to order webhooks the way a merchant's shop admin would, over the REST API.
async fn subscribe_webhooks(
    shop_url: &str,
    config: &WooConfig,
    delivery_url: &str,
) -> anyhow::Result<()> {
    subscribe_webhooks_with(shop_url, config, delivery_url, WEBHOOK_SECRET).await
}

/// [`subscribe_webhooks`] with the webhooks signed by `secret`.
pub(crate) async fn subscribe_webhooks_with(
    shop_url: &str,
    config: &WooConfig,
    delivery_url: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for topic in ["order.created", "order.updated", "order.deleted"] {
        let response = client
            .post(format!("{shop_url}/wp-json/wc/v3/webhooks"))
            .basic_auth(&config.consumer_key, Some(&config.consumer_secret))
            .json(&json!({ "name": format!("ledgerlink {topic}"), "topic": topic, "delivery_url": delivery_url, "secret": secret, "status": "active" }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "creating the {topic} webhook failed: HTTP {}",
            response.status()
        );
    }
    Ok(())
}

pub async fn run(
    database: &Path,
    ledger: DemoLedger,
    out: &mut dyn Write,
) -> anyhow::Result<DemoSummary> {
    let options = EngineOptions {
        settle_delay: Duration::from_millis(100),
        retry_base: Duration::from_millis(100),
        ..EngineOptions::default()
    };
    if let DemoLedger::Tryton { url } = &ledger {
        ensure_tryton_answers(url).await?;
    }
    let world = DemoWorld::start_with(database, options, ledger, None).await?;
    let booked_before: Vec<i64> = booked_ids(&world.engine).await?;
    let orders = fixtures::demo_mix(&world.shop);
    world.register_vat_numbers(&orders);
    let mistakes = shop_mistakes(&world.shop);
    writeln!(
        out,
        "Created {} orders (and their refunds) in the emulated WooCommerce shop, {mistakes} of them with a mistake a bookkeeper must see.",
        orders.len() + mistakes
    )?;
    world.settle().await?;
    let summary = summarize(&world, &booked_before).await?;
    print_summary(&summary, out)?;
    Ok(summary)
}

/// Two things that happen in real shops: VAT charged on an export (held, never re-taxed),
/// and an unpaid order cancelled before it reached a trigger status (skipped).
pub fn shop_mistakes(shop: &WooSandbox) -> usize {
    let customer = |first: &str, last: &str, email: &str| CustomerSpec {
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        ..CustomerSpec::default()
    };
    let line = LineSpec {
        name: "Wollen deken".into(),
        sku: "DEK-200".into(),
        quantity: 1,
        unit_price: Decimal::new(8900, 2),
        tax_rate: Decimal::from(21),
        ..LineSpec::default()
    };
    shop.create_order(OrderSpec {
        customer: customer("Ingrid", "Berg", "ingrid.berg@example.no"),
        billing: AddressSpec {
            address_1: "Storgata 5".into(),
            city: "Oslo".into(),
            postcode: "0155".into(),
            country: "NO".into(),
            ..AddressSpec::default()
        },
        lines: vec![line.clone()],
        ..OrderSpec::default()
    });
    let unpaid = shop.create_order(OrderSpec {
        status: "pending".into(),
        customer: customer("Pieter", "Smit", "pieter.smit@example.nl"),
        billing: AddressSpec {
            address_1: "Dorpsstraat 8".into(),
            city: "Zwolle".into(),
            postcode: "8011 AB".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![line],
        ..OrderSpec::default()
    });
    if let Some(id) = unpaid["id"].as_u64() {
        shop.set_status(id, "cancelled");
    }
    2
}

/// Whether a Tryton server answers at `url`.
pub async fn tryton_answers(url: &str) -> bool {
    let answer = reqwest::Client::new()
        .post(format!("{}/rpc/", url.trim_end_matches('/')))
        .json(&json!({"id": 1, "method": "common.server.version", "params": []}))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    answer.is_ok_and(|response| response.status().is_success())
}

/// Says how to start Tryton when it is not running.
async fn ensure_tryton_answers(url: &str) -> anyhow::Result<()> {
    if tryton_answers(url).await {
        return Ok(());
    }
    anyhow::bail!(
        "no Tryton server answers at {url}. Start one with `tools/tryton/setup.sh` (about a minute the first time: it installs Tryton 8.2 from PyPI into ~/.cache/ledgerlink-tryton and sets up a Dutch webshop's books), then run `ledgerlink demo --target tryton` again"
    )
}

async fn booked_ids(engine: &Engine) -> anyhow::Result<Vec<i64>> {
    Ok(engine
        .store()
        .documents(CONNECTION, Some(DocState::Booked))
        .await?
        .iter()
        .map(|r| r.id)
        .collect())
}

async fn summarize(world: &DemoWorld, booked_before: &[i64]) -> anyhow::Result<DemoSummary> {
    let rows = world.engine.store().documents(CONNECTION, None).await?;
    let count = |state| rows.iter().filter(|r| r.state == state).count();
    let booked_now: Vec<_> = rows
        .iter()
        .filter(|r| r.state == DocState::Booked && !booked_before.contains(&r.id))
        .collect();
    let mut source_total = Money::ZERO;
    for row in &booked_now {
        let document: Document = serde_json::from_value(row.document_json.clone())?;
        source_total += document.total;
    }
    // What the ledger itself recorded for those bookings.
    let mut ledger_total = Decimal::ZERO;
    match &world.ledger {
        DemoLedger::Exact => {
            for entry in world.exact.sales_entries(DIVISION) {
                if booked_now
                    .iter()
                    .any(|r| r.target_id.as_deref() == Some(entry.entry_id.to_string().as_str()))
                {
                    ledger_total += entry.amount_fc;
                }
            }
        }
        DemoLedger::Tryton { .. } => {
            let connection = world
                .engine
                .connection(CONNECTION)
                .context("the demo connection")?;
            for row in &booked_now {
                let plan: ledgerlink_core::BookingPlan =
                    serde_json::from_value(row.plan_json.clone().unwrap_or_default())?;
                let found = connection
                    .target
                    .find(&plan.reference, plan.kind)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                ledger_total += found
                    .and_then(|f| f.total)
                    .context("a booked invoice is in Tryton")?
                    .amount();
            }
        }
    }
    let mut exact_calls = ExactCalls::default();
    for request in world.exact.recorder().all() {
        if request.path.contains("salesentry/SalesEntries") {
            exact_calls.sales_entries += 1;
        } else if request.path.contains("crm/Accounts") {
            exact_calls.customers += 1;
        } else {
            exact_calls.setup += 1;
        }
    }
    Ok(DemoSummary {
        documents_seen: rows.len(),
        booked: count(DocState::Booked),
        booked_now: booked_now.len(),
        waiting: count(DocState::Waiting),
        skipped: count(DocState::Skipped),
        held: count(DocState::Held),
        not_booked: rows
            .iter()
            .filter(|r| r.state != DocState::Booked)
            .map(|r| {
                (
                    r.state,
                    format!("{} {}", r.kind, r.number),
                    r.reason.clone().unwrap_or_default(),
                )
            })
            .collect(),
        exact_calls,
        source_total,
        ledger_total,
        ledger_name: match world.ledger {
            DemoLedger::Exact => "Exact",
            DemoLedger::Tryton { .. } => "Tryton",
        },
    })
}

fn print_summary(s: &DemoSummary, out: &mut dyn Write) -> anyhow::Result<()> {
    let per = |calls: usize| {
        if s.booked_now == 0 {
            "-".to_string()
        } else {
            format!("{:.2}", calls as f64 / s.booked_now as f64)
        }
    };
    let mut rows: Vec<(String, String)> = vec![
        ("documents seen".into(), s.documents_seen.to_string()),
        ("booked in this run".into(), s.booked_now.to_string()),
        ("booked (all runs)".into(), s.booked.to_string()),
        ("waiting for a trigger status".into(), s.waiting.to_string()),
        ("skipped".into(), s.skipped.to_string()),
        ("held".into(), s.held.to_string()),
    ];
    let calls = &s.exact_calls;
    if calls.total() > 0 {
        rows.extend([
            ("Exact API calls".into(), calls.total().to_string()),
            (
                "  sales entries (per booking)".into(),
                per(calls.sales_entries),
            ),
            ("  customers (per booking)".into(), per(calls.customers)),
            (
                "  once: OAuth and master data".into(),
                calls.setup.to_string(),
            ),
        ]);
    }
    rows.extend([
        (
            "source total of bookings (EUR)".into(),
            s.source_total.to_string(),
        ),
        (
            format!("booked total in {} (EUR)", s.ledger_name),
            Money::new(s.ledger_total).to_string(),
        ),
        (
            "totals".into(),
            if s.source_total.amount() == s.ledger_total {
                "equal to the cent"
            } else {
                "DIFFERENT"
            }
            .into(),
        ),
    ]);
    writeln!(out)?;
    for (label, value) in rows {
        writeln!(out, "  {label:<34} {value:>17}")?;
    }
    if !s.not_booked.is_empty() {
        writeln!(out, "\nNot booked, and why:")?;
    }
    for (state, document, reason) in &s.not_booked {
        writeln!(out, "  {state:<8} {document}: {reason}")?;
    }
    if s.booked_now == 0 && s.booked > 0 {
        writeln!(out, "\nNothing new was booked: every bookable document was already booked in an earlier run.")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_settings_pass_the_load_time_checks() {
        let today = chrono::Utc::now().date_naive();
        for settings in [demo_settings(), demo_settings_tryton()] {
            let problems = settings.validate(today).err().unwrap_or_default();
            assert!(problems.is_empty(), "{problems:?}");
        }
    }
}
