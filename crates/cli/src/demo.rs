//! `ledgerlink demo`: the whole flow against in-process emulators, with a summary a merchant
//! can read. Everything goes over real HTTP: webhooks from the shop, OAuth with Exact.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ledgerlink_core::{Document, Money};
use ledgerlink_engine::config::{ConnectionConfig, SourceConfig, TargetConfig};
use ledgerlink_engine::{Engine, EngineOptions, Target};
use ledgerlink_rules::BookingSettings;
use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::woocommerce::{fixtures, WooConfig, WooSandbox};
use ledgerlink_store::{DocState, SqliteStore, Store};
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

/// What the demo did, for the printed table and for tests.
#[derive(Debug)]
pub struct DemoSummary {
    pub documents_seen: usize,
    pub booked: usize,
    /// Booked during this run (0 on a second run over the same ledger).
    pub booked_now: usize,
    pub waiting: usize,
    pub skipped: usize,
    pub held: Vec<(String, String)>,
    /// Every request Exact Online served during this run (OAuth and master data included).
    pub exact_calls: usize,
    /// Sum of the source totals of the documents booked during this run.
    pub source_total: Money,
    /// Sum of what Exact Online recorded for them (header totals incl. VAT).
    pub exact_total: Decimal,
}

/// A running demo environment: both emulators, the webhook server and the engine.
pub struct DemoWorld {
    pub shop: WooSandbox,
    pub exact: ExactSandbox,
    pub engine: Arc<Engine>,
    /// The base URL of the Exact Online emulator.
    pub exact_url: String,
    /// The base URL of ledgerlink's own HTTP service.
    pub server_url: String,
    /// Where the shop delivers its webhooks.
    pub webhook_url: String,
    _running: Vec<ledgerlink_sandbox::Running>,
    _server: tokio::task::JoinHandle<()>,
}

impl DemoWorld {
    /// Starts the emulators and the engine on `database`, connects Exact Online through its
    /// OAuth flow and subscribes the engine to the shop's order webhooks.
    pub async fn start(database: &Path, options: EngineOptions) -> anyhow::Result<DemoWorld> {
        let (exact_running, exact) = ExactSandbox::start(ExactConfig::default(), 0).await?;
        let (shop_running, shop) = WooSandbox::start(WooConfig::default(), 0).await?;
        shop.set_auto_deliver(false);
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(database)
                .await
                .with_context(|| format!("cannot open {}", database.display()))?,
        );
        let config = ConnectionConfig {
            id: CONNECTION.into(),
            name: "Demo webshop".into(),
            source: SourceConfig::Woocommerce {
                url: shop_running.base_url(),
                consumer_key: shop.config().consumer_key.clone(),
                consumer_secret: shop.config().consumer_secret.clone(),
                webhook_secrets: vec![WEBHOOK_SECRET.into()],
            },
            target: TargetConfig::Exact {
                base_url: exact_running.base_url(),
                division: DIVISION,
                client_id: exact.config().client_id.clone(),
                client_secret: exact.config().client_secret.clone(),
                redirect_uri: exact.config().redirect_uri.clone(),
            },
            booking: demo_settings(),
        };
        let connection = config.build(store.clone(), Duration::from_secs(5)).await?;
        let Target::Exact(target) = &connection.target;
        let code = authorize(&exact_running.base_url(), exact.config()).await?;
        target
            .connect_with_code(&code)
            .await
            .map_err(|e| anyhow::anyhow!("connecting Exact Online failed: {e}"))?;
        let engine = Arc::new(Engine::new(store, vec![connection], options));
        let (addr, server) = ledgerlink_server::serve(engine.clone(), "127.0.0.1:0").await?;
        let server_url = format!("http://{addr}");
        let webhook_url = format!("{server_url}/webhooks/woocommerce/{CONNECTION}");
        subscribe_webhooks(&shop_running.base_url(), shop.config(), &webhook_url).await?;
        shop.deliver_pending_webhooks().await;
        Ok(DemoWorld {
            shop,
            exact,
            engine,
            exact_url: exact_running.base_url(),
            server_url,
            webhook_url,
            _running: vec![exact_running, shop_running],
            _server: server,
        })
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
    let client = reqwest::Client::new();
    for topic in ["order.created", "order.updated", "order.deleted"] {
        let response = client
            .post(format!("{shop_url}/wp-json/wc/v3/webhooks"))
            .basic_auth(&config.consumer_key, Some(&config.consumer_secret))
            .json(&json!({ "name": format!("ledgerlink {topic}"), "topic": topic, "delivery_url": delivery_url, "secret": WEBHOOK_SECRET, "status": "active" }))
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

pub async fn run(database: &Path, out: &mut dyn Write) -> anyhow::Result<DemoSummary> {
    let options = EngineOptions {
        settle_delay: Duration::from_millis(100),
        retry_base: Duration::from_millis(100),
        ..EngineOptions::default()
    };
    let world = DemoWorld::start(database, options).await?;
    let booked_before: Vec<i64> = booked_ids(&world.engine).await?;
    let orders = fixtures::demo_mix(&world.shop);
    writeln!(
        out,
        "Created {} orders (and their refunds) in the emulated WooCommerce shop.",
        orders.len()
    )?;
    world.settle().await?;
    let summary = summarize(&world, &booked_before).await?;
    print_summary(&summary, out)?;
    Ok(summary)
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
    let entries = world.exact.sales_entries(DIVISION);
    let exact_total = entries
        .iter()
        .filter(|e| {
            booked_now
                .iter()
                .any(|r| r.target_id.as_deref() == Some(e.entry_id.to_string().as_str()))
        })
        .map(|e| e.amount_fc)
        .sum();
    Ok(DemoSummary {
        documents_seen: rows.len(),
        booked: count(DocState::Booked),
        booked_now: booked_now.len(),
        waiting: count(DocState::Waiting),
        skipped: count(DocState::Skipped),
        held: rows
            .iter()
            .filter(|r| r.state == DocState::Held)
            .map(|r| {
                (
                    format!("{} {}", r.kind, r.number),
                    r.reason.clone().unwrap_or_default(),
                )
            })
            .collect(),
        exact_calls: world.exact.recorder().total(),
        source_total,
        exact_total,
    })
}

fn print_summary(s: &DemoSummary, out: &mut dyn Write) -> anyhow::Result<()> {
    let per_booking = if s.booked_now == 0 {
        "-".to_string()
    } else {
        format!("{:.2}", s.exact_calls as f64 / s.booked_now as f64)
    };
    writeln!(out)?;
    writeln!(
        out,
        "  documents seen                 {:>10}",
        s.documents_seen
    )?;
    writeln!(out, "  booked (all runs)              {:>10}", s.booked)?;
    writeln!(out, "  booked in this run             {:>10}", s.booked_now)?;
    writeln!(out, "  waiting for a trigger status   {:>10}", s.waiting)?;
    writeln!(out, "  skipped                        {:>10}", s.skipped)?;
    writeln!(out, "  held                           {:>10}", s.held.len())?;
    writeln!(
        out,
        "  Exact API calls (all kinds)    {:>10}",
        s.exact_calls
    )?;
    writeln!(out, "  Exact calls per booking        {:>10}", per_booking)?;
    writeln!(
        out,
        "  source total of bookings   EUR {:>10}",
        s.source_total
    )?;
    writeln!(
        out,
        "  booked total in Exact      EUR {:>10}",
        Money::new(s.exact_total)
    )?;
    let verdict = if s.source_total.amount() == s.exact_total {
        "equal to the cent"
    } else {
        "DIFFERENT"
    };
    writeln!(out, "  totals                         {verdict}")?;
    for (document, reason) in &s.held {
        writeln!(out, "\n  held {document}: {reason}")?;
    }
    if s.booked_now == 0 && s.booked > 0 {
        writeln!(
            out,
            "\n  Nothing new was booked: every document was already booked in an earlier run."
        )?;
    }
    Ok(())
}
