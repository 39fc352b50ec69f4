//! `ledgerlink chaos`: the whole system against the emulators under faults and crashes, judged
//! only by what the emulators recorded (docs/reliability.md).
//!
//! Two shops (tenants) book into two Exact Online companies through several `ledgerlink
//! serve` processes sharing one ledger (SQLite or PostgreSQL). While orders, status changes and
//! refunds arrive — through a webhook proxy that duplicates, delays and forges deliveries —
//! Exact fails a share of the calls at random (5xx before and after applying, 429, answers
//! slower than the client's timeout, bodies that break off), access tokens expire, and a
//! supervisor kills a worker with SIGKILL over and over. Then the faults stop, the system must
//! settle within a bounded time, every webhook is replayed, and the judge looks.

mod canary;
mod check;
mod database;
mod load;
mod proxy;
mod workers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use ledgerlink_engine::config::Config;
use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::faults::{Fault, FaultMatch, RandomFaults};
use ledgerlink_sandbox::woocommerce::{RefundSpec, WooConfig, WooSandbox};
use ledgerlink_store::DocState;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::Serialize;

use check::Expected;
use load::Fate;
use proxy::Proxy;
use workers::Workers;

pub use check::Verdict;

const WEBHOOK_SECRET: &str = "chaos-webhook-secret";
const DIVISIONS: [i32; 2] = [100001, 100002];

#[derive(Clone, Debug)]
pub struct ChaosOptions {
    pub orders: usize,
    pub workers: usize,
    pub kills: usize,
    /// Share of Exact API calls that fail.
    pub fault_rate: f64,
    /// Calls a minute each emulated Exact company allows (Exact: 60).
    pub exact_calls_per_minute: u32,
    pub seed: u64,
    /// `None`: a SQLite file in `dir`; else a PostgreSQL URL.
    pub postgres: Option<String>,
    /// Run on a PostgreSQL cluster of the run's own and stop it hard this many times.
    pub database_crashes: Option<usize>,
    /// Where the settings, ledger and worker logs go.
    pub dir: PathBuf,
    /// The `ledgerlink` executable the workers run.
    pub binary: PathBuf,
    /// How long the system may take to settle once the faults stop.
    pub settle_within: Duration,
}

#[derive(Debug, Serialize)]
pub struct ChaosReport {
    pub seed: u64,
    pub backend: &'static str,
    pub orders: usize,
    pub refunds: usize,
    pub workers: usize,
    pub kills: usize,
    pub database_crashes: usize,
    pub exact_calls: usize,
    /// Calls made while the faults were on: the share `faults_injected` is of.
    pub exact_calls_under_chaos: usize,
    pub faults_injected: usize,
    pub token_expiries: usize,
    pub webhook_deliveries: usize,
    pub webhooks_duplicated: usize,
    pub webhooks_delayed: usize,
    pub webhooks_forged: usize,
    pub webhooks_replayed: usize,
    pub seconds_under_chaos: f64,
    pub seconds_to_settle: f64,
    pub verdict: Verdict,
}

impl ChaosReport {
    pub fn passed(&self) -> bool {
        self.verdict.problems.is_empty()
    }
}

struct Tenant {
    connection: String,
    division: i32,
    shop: WooSandbox,
    /// Every order created in the shop.
    orders: std::sync::Mutex<Vec<u64>>,
    _running: ledgerlink_sandbox::Running,
}

/// The ledger's PostgreSQL URL, or the path of its SQLite file.
fn ledger_location(options: &ChaosOptions) -> String {
    match &options.postgres {
        Some(url) => url.clone(),
        None => options.dir.join("ledger.sqlite").display().to_string(),
    }
}

fn settings_file(
    options: &ChaosOptions,
    exact_url: &str,
    exact: &ExactConfig,
    tenants: &[(String, String, WooConfig, i32)],
) -> anyhow::Result<PathBuf> {
    let database = ledger_location(options);
    let booking = toml::to_string(&crate::demo::demo_settings())?;
    // Every worker opens the tokens with this key, as an operator's would with theirs.
    let key_file = options.dir.join("chaos.key");
    if !key_file.exists() {
        ledgerlink_store::Keyring::create_file(&key_file)?;
    }
    let mut text = format!(
        "database = \"{database}\"\nkey_file = \"{}\"\nhttp_timeout_seconds = 5\nretry_max_seconds = 10\nsweep_seconds = 2\nlisten = \"127.0.0.1:0\"\n",
        key_file.display()
    );
    for (id, shop_url, woo, division) in tenants {
        text.push_str(&format!(
            "\n[[connections]]\nid = \"{id}\"\n[connections.source]\ntype = \"woocommerce\"\nurl = \"{shop_url}\"\n\
             consumer_key = \"{}\"\nconsumer_secret = \"{}\"\nwebhook_secrets = [\"{WEBHOOK_SECRET}\"]\n\
             [connections.target]\ntype = \"exact\"\nbase_url = \"{exact_url}\"\ndivision = {division}\n\
             client_id = \"{}\"\nclient_secret = \"{}\"\nredirect_uri = \"{}\"\n",
            woo.consumer_key, woo.consumer_secret, exact.client_id, exact.client_secret, exact.redirect_uri
        ));
        // The booking table, without VIES (no VIES emulator in this run: every VAT number
        // passes its offline check).
        let mut booking_table: toml::Table = booking.parse()?;
        booking_table.insert("vies_check".into(), toml::Value::Boolean(false));
        booking_table.remove("own_vat_number");
        let mut wrapper = toml::Table::new();
        wrapper.insert("booking".into(), toml::Value::Table(booking_table));
        for line in toml::to_string(&wrapper)?.lines() {
            // Nest under the current [[connections]] entry.
            let line = line
                .strip_prefix("[booking")
                .map(|rest| format!("[connections.booking{rest}"))
                .unwrap_or_else(|| line.to_string());
            text.push_str(&line);
            text.push('\n');
        }
    }
    let path = options.dir.join("chaos.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Connects each tenant's Exact company once, as its merchant would: the workers then share
/// the tokens through the ledger.
pub(crate) async fn authorize(config_path: &Path, exact: &ExactSandbox) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let store = config.open_store().await?;
    for connection in &config.connections {
        let built = connection
            .build(store.clone(), Duration::from_secs(5))
            .await?;
        let target = built.target.exact().context("an Exact connection")?;
        target
            .connect_with_code(&exact.issue_authorization_code())
            .await
            .map_err(|e| anyhow::anyhow!("connecting Exact failed: {e}"))?;
    }
    Ok(())
}

pub async fn run(mut options: ChaosOptions) -> anyhow::Result<ChaosReport> {
    std::fs::create_dir_all(&options.dir)?;
    let cluster = match options.database_crashes {
        Some(_) => {
            let cluster = database::PrivateCluster::start(&options.dir)?;
            options.postgres = Some(cluster.url());
            Some(std::sync::Arc::new(cluster))
        }
        None => None,
    };
    let mut rng = StdRng::seed_from_u64(options.seed);
    // Exact's real limits (60 calls a minute per company) would make this a test of patience,
    // and an injected 429 would pause a company for the rest of its minute: the run is about
    // faults, so the emulator allows more calls and its "minute" lasts five seconds.
    let exact_config = ExactConfig {
        minutely_limit: (options.exact_calls_per_minute / 12).max(1),
        rate_windows: ledgerlink_sandbox::exact::RateWindows {
            minute: Duration::from_secs(5),
            ..Default::default()
        },
        // A large run would use up Exact's 5,000 a day: the day allows what its minutes do.
        daily_limit: options.exact_calls_per_minute.saturating_mul(24 * 60),
        ..ExactConfig::default()
    };
    let (exact_running, exact) = ExactSandbox::start(exact_config, 0).await?;
    exact.add_division(DIVISIONS[1], "Tweede Webshop BV");
    let mut tenants = Vec::new();
    let mut layout = Vec::new();
    for (n, division) in DIVISIONS.iter().enumerate() {
        let (running, shop) = WooSandbox::start(WooConfig::default(), 0).await?;
        shop.set_auto_deliver(false);
        let connection = format!("shop{}", n + 1);
        layout.push((
            connection.clone(),
            running.base_url(),
            shop.config().clone(),
            *division,
        ));
        tenants.push(Tenant {
            connection,
            division: *division,
            shop,
            orders: Default::default(),
            _running: running,
        });
    }
    let config_path = settings_file(&options, &exact_running.base_url(), exact.config(), &layout)?;
    authorize(&config_path, &exact).await?;

    let workers =
        Workers::start(&options.binary, &config_path, &options.dir, options.workers).await?;
    let proxy = Proxy::new(workers.clone(), options.seed ^ 0x5eed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let proxy_url = format!("http://{}", listener.local_addr()?);
    let proxy_server = tokio::spawn({
        let router = proxy.router();
        async move { axum::serve(listener, router).await }
    });
    for tenant in &tenants {
        crate::demo::subscribe_webhooks_with(
            &layout
                .iter()
                .find(|l| l.0 == tenant.connection)
                .map(|l| l.1.clone())
                .unwrap_or_default(),
            tenant.shop.config(),
            &format!("{proxy_url}/hook/{}", tenant.connection),
            WEBHOOK_SECRET,
        )
        .await?;
        tenant.shop.set_auto_deliver(true);
    }

    exact.faults().set_random(Some(RandomFaults {
        on: FaultMatch {
            method: None,
            path_contains: Some("/api/v1/".into()),
        },
        rate: options.fault_rate,
        faults: vec![
            Fault::ServerError,
            Fault::ServerErrorAfterApply,
            Fault::TooManyRequests,
            Fault::Slow { millis: 6_000 },
            Fault::LoseResponse,
        ],
        seed: options.seed,
    }));

    // Chaos: orders and changes arrive while workers die and tokens expire.
    let config = Config::load(&config_path)?;
    let store = config.open_store().await?;
    let started = Instant::now();
    let supervisor = tokio::spawn({
        let workers = workers.clone();
        let kills = options.kills;
        let seed = options.seed;
        let cluster = cluster.clone();
        let database_crashes = options.database_crashes;
        // Kills (and faults) go on for a while after the last order, while the backlog is
        // worked off.
        let spread = Duration::from_millis(options.orders as u64 * 40) + Duration::from_secs(30);
        async move {
            let mut rng = StdRng::seed_from_u64(seed ^ 0xdead);
            let pause = spread / (kills.max(1) as u32);
            let crash_every = database_crashes.map(|n| (kills / n.max(1)).max(1));
            let mut crashes = 0;
            for kill in 0..kills {
                tokio::time::sleep(pause.mul_f64(rng.gen_range(0.5..1.5))).await;
                let victim = rng.gen_range(0..workers.count());
                workers.kill(victim).await?;
                tokio::time::sleep(Duration::from_millis(rng.gen_range(100..800))).await;
                workers.restart(victim).await?;
                if let (Some(cluster), Some(every)) = (&cluster, crash_every) {
                    if kill % every == every - 1 && crashes < database_crashes.unwrap_or(0) {
                        cluster.crash_and_restart(Duration::from_secs(2)).await?;
                        crashes += 1;
                    }
                }
            }
            anyhow::Ok(crashes)
        }
    });
    let mut expected = Vec::new();
    let mut never_booked = Vec::new();
    let mut later: Vec<(usize, u64, Fate, bool)> = Vec::new();
    let mut token_expiries = 0;
    let thousand_at = (options.orders >= 100).then_some(options.orders / 2);
    for n in 0..options.orders {
        let tenant_index = rng.gen_range(0..tenants.len());
        let planned = load::order(&mut rng, n, thousand_at == Some(n));
        let created = tenants[tenant_index].shop.create_order(planned.spec);
        let id = created["id"]
            .as_u64()
            .context("the shop gave the order an id")?;
        tenants[tenant_index]
            .orders
            .lock()
            .expect("orders lock")
            .push(id);
        later.push((tenant_index, id, planned.fate, planned.refund));
        if n % 25 == 24 {
            // Ten minutes pass: every access token expires, at Exact and in the ledger (unless
            // the database is down just then).
            if expire_tokens(&*store, &exact, &tenants).await.is_ok() {
                token_expiries += 1;
            }
            proxy.malformed(&tenants[tenant_index].connection).await;
        }
        // Status changes and refunds of earlier orders, out of step with new ones.
        if n % 5 == 4 {
            settle_changes(&tenants, &mut later, &mut rng)?;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(10..60))).await;
    }
    while !later.is_empty() {
        settle_changes(&tenants, &mut later, &mut rng)?;
    }
    let database_crashes = supervisor.await??;
    let seconds_under_chaos = started.elapsed().as_secs_f64();

    // The faults stop; everything must settle.
    exact.faults().set_random(None);
    let exact_calls_under_chaos = exact.recorder().total();
    for tenant in &tenants {
        tenant.shop.deliver_pending_webhooks().await;
    }
    let settling = Instant::now();
    let mut refunds = 0;
    loop {
        for tenant in &tenants {
            collect_expected(tenant, &mut expected, &mut never_booked, &mut refunds)?;
        }
        let all_in = everything_taken_in(&*store, &expected).await?;
        if all_in && store.open_count().await? == 0 {
            break;
        }
        if settling.elapsed() > options.settle_within {
            break;
        }
        expected.clear();
        never_booked.clear();
        refunds = 0;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let seconds_to_settle = settling.elapsed().as_secs_f64();
    let mut verdict_problems = Vec::new();
    if settling.elapsed() > options.settle_within {
        verdict_problems.push(format!(
            "the system did not settle within {} s after the faults stopped ({} documents still open)",
            options.settle_within.as_secs(),
            store.open_count().await?
        ));
    }

    // Replaying every webhook books nothing new.
    let entries_before: usize = DIVISIONS
        .iter()
        .map(|d| exact.sales_entries(*d).len())
        .sum();
    let replayed = proxy.replay_all().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    while store.open_count().await? > 0 && settling.elapsed() < options.settle_within * 2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let entries_after: usize = DIVISIONS
        .iter()
        .map(|d| exact.sales_entries(*d).len())
        .sum();
    if entries_after != entries_before {
        verdict_problems.push(format!(
            "replaying {replayed} webhooks booked {} more entries",
            entries_after - entries_before
        ));
    }
    let worker_pages = worker_pages(&workers).await;
    workers.stop().await?;
    proxy_server.abort();

    let divisions: BTreeMap<String, i32> = tenants
        .iter()
        .map(|t| (t.connection.clone(), t.division))
        .collect();
    let mut verdict = check::judge(&*store, &exact, &divisions, &expected, &never_booked).await?;
    verdict.problems.extend(verdict_problems);
    let connections: Vec<String> = divisions.keys().cloned().collect();
    let secrets = run_secrets(&options, &exact, &tenants)?;
    let mut exhibits = canary::worker_logs(&options.dir)?;
    exhibits.push(canary::audit_log(&*store, &connections).await?);
    exhibits.push(canary::ledger_dump(&ledger_location(&options)).await?);
    exhibits.push(canary::Exhibit {
        name: "the workers' answers to webhooks".into(),
        bytes: std::mem::take(&mut proxy.log.lock().expect("log lock").answers),
    });
    exhibits.push(canary::Exhibit {
        name: "the workers' pages (/healthz, /metrics, the OAuth start)".into(),
        bytes: worker_pages,
    });
    verdict
        .problems
        .extend(canary::inspect(&secrets, &exhibits));
    let log = proxy.log.lock().expect("log lock");
    if log.forgeries_accepted > 0 {
        verdict.problems.push(format!(
            "{} forged webhooks were accepted",
            log.forgeries_accepted
        ));
    }
    if log.malformed_accepted > 0 {
        verdict.problems.push(format!(
            "{} malformed webhooks were accepted",
            log.malformed_accepted
        ));
    }
    Ok(ChaosReport {
        seed: options.seed,
        backend: if options.postgres.is_some() {
            "postgresql"
        } else {
            "sqlite"
        },
        orders: options.orders,
        refunds,
        workers: options.workers,
        kills: options.kills,
        database_crashes,
        exact_calls: exact.recorder().total(),
        exact_calls_under_chaos,
        faults_injected: exact.faults().injected().len(),
        token_expiries,
        webhook_deliveries: log.deliveries.len(),
        webhooks_duplicated: log.duplicated,
        webhooks_delayed: log.delayed,
        webhooks_forged: log.forged,
        webhooks_replayed: replayed,
        seconds_under_chaos,
        seconds_to_settle,
        verdict,
    })
}

/// Every credential of the run: what the canary looks for.
fn run_secrets(
    options: &ChaosOptions,
    exact: &ExactSandbox,
    tenants: &[Tenant],
) -> anyhow::Result<Vec<canary::Secret>> {
    let secret = |what: &str, value: &str| canary::Secret {
        what: what.to_string(),
        value: value.to_string(),
    };
    let mut secrets = canary::key_file_secrets(&options.dir.join("chaos.key"))?;
    secrets.push(secret("the webhook secret", WEBHOOK_SECRET));
    secrets.push(secret(
        "the Exact app's client secret",
        &exact.config().client_secret,
    ));
    for tenant in tenants {
        let shop = tenant.shop.config();
        let of = |what: &str| format!("{what} of {}", tenant.connection);
        secrets.push(secret(&of("the consumer key"), &shop.consumer_key));
        secrets.push(secret(&of("the consumer secret"), &shop.consumer_secret));
    }
    secrets.extend(
        exact
            .issued_tokens()
            .into_iter()
            .map(|token| secret("a token Exact issued", &token)),
    );
    Ok(secrets)
}

/// What each worker's own pages answer at the end of the run, status, headers and body.
async fn worker_pages(workers: &Workers) -> Vec<u8> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain HTTP client builds");
    let mut pages = Vec::new();
    for port in workers.live_ports() {
        for path in ["/healthz", "/metrics", "/oauth/exact/shop1/start"] {
            let Ok(response) = client
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
            else {
                continue;
            };
            pages.extend(format!("GET {path} {}\n", response.status()).as_bytes());
            for (name, value) in response.headers() {
                pages.extend(format!("{name}: ").as_bytes());
                pages.extend(value.as_bytes());
                pages.push(b'\n');
            }
            pages.extend(response.bytes().await.unwrap_or_default());
            pages.push(b'\n');
        }
    }
    pages
}

/// Ten minutes pass at once for the tokens, at Exact and in the ledger, so the next call of
/// any worker must refresh them (one at a time, across processes).
async fn expire_tokens(
    store: &dyn ledgerlink_store::Store,
    exact: &ExactSandbox,
    tenants: &[Tenant],
) -> anyhow::Result<()> {
    // Under each connection's refresh lock, so that no worker refreshes meanwhile: the ledger
    // must not get back a pair Exact has already replaced.
    let holder = "chaos-clock";
    let mut locked = Vec::new();
    for tenant in tenants {
        let lock = ledgerlink_targets::exact::refresh_lock(&tenant.connection);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !store
            .try_lock(
                &lock,
                holder,
                chrono::Utc::now() + chrono::Duration::seconds(30),
                chrono::Utc::now(),
            )
            .await?
        {
            anyhow::ensure!(Instant::now() < deadline, "a refresh held {lock} for 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        locked.push(lock);
    }
    let aged = async {
        exact.age_tokens(Duration::from_secs(601));
        let now = chrono::Utc::now();
        for tenant in tenants {
            if let Some(mut token) = store.token(&tenant.connection).await? {
                token.expires_at = now - chrono::Duration::seconds(1);
                token.issued_at = now - chrono::Duration::seconds(601);
                store.save_token(&tenant.connection, &token).await?;
            }
        }
        anyhow::Ok(())
    }
    .await;
    for lock in &locked {
        store.unlock(lock, holder).await?;
    }
    aged
}

/// Moves some earlier orders on: pending ones paid or cancelled, paid ones partly refunded.
fn settle_changes(
    tenants: &[Tenant],
    later: &mut Vec<(usize, u64, Fate, bool)>,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let count = rng.gen_range(1..=3).min(later.len());
    for _ in 0..count {
        let index = rng.gen_range(0..later.len());
        let (tenant, id, fate, refund) = later.swap_remove(index);
        let shop = &tenants[tenant].shop;
        match fate {
            Fate::PaidLater => {
                shop.set_status(id, "processing");
            }
            Fate::Cancelled => {
                shop.set_status(id, "cancelled");
            }
            Fate::Paid => {}
        }
        if refund && fate != Fate::Cancelled {
            let order = shop.order(id).context("the order exists")?;
            let total: Decimal = order["total"].as_str().unwrap_or("0").parse()?;
            // A part of it: a tenth, at least a cent.
            let amount = (total / Decimal::from(10))
                .round_dp(2)
                .max(Decimal::new(1, 2));
            if amount < total {
                shop.refund(
                    id,
                    RefundSpec {
                        amount: Some(amount),
                        reason: "Chaos: deel retour".into(),
                        ..RefundSpec::default()
                    },
                );
            }
        }
    }
    Ok(())
}

/// What the shops say must be booked (paid orders and their refunds) and must not be.
fn collect_expected(
    tenant: &Tenant,
    expected: &mut Vec<Expected>,
    never_booked: &mut Vec<(String, i32, String)>,
    refunds: &mut usize,
) -> anyhow::Result<()> {
    let ids = tenant.orders.lock().expect("orders lock").clone();
    for order in ids.iter().filter_map(|id| tenant.shop.order(*id)) {
        let number = order["number"].as_str().unwrap_or_default().to_string();
        let reference = format!("WC-{number}");
        let status = order["status"].as_str().unwrap_or_default();
        if !matches!(status, "processing" | "completed" | "refunded") {
            never_booked.push((tenant.connection.clone(), tenant.division, reference));
            continue;
        }
        let total: Decimal = order["total"].as_str().unwrap_or("0").parse()?;
        expected.push(Expected {
            connection: tenant.connection.clone(),
            division: tenant.division,
            kind: "order",
            source_id: order["id"].to_string(),
            reference: reference.clone(),
            total,
        });
        for refund in order["refunds"].as_array().into_iter().flatten() {
            let refund_id = refund["id"].to_string();
            // WooCommerce lists refunds with a negative total.
            let amount: Decimal = refund["total"].as_str().unwrap_or("0").parse()?;
            *refunds += 1;
            expected.push(Expected {
                connection: tenant.connection.clone(),
                division: tenant.division,
                kind: "refund",
                source_id: refund_id.clone(),
                reference: format!("{reference}-R{refund_id}"),
                total: -amount.abs(),
            });
        }
    }
    Ok(())
}

/// Whether every document the shops made is in the ledger.
async fn everything_taken_in(
    store: &dyn ledgerlink_store::Store,
    expected: &[Expected],
) -> anyhow::Result<bool> {
    for document in expected {
        let row = store
            .document_by_source(&document.connection, document.kind, &document.source_id)
            .await?;
        if row.is_none_or(|r| {
            !matches!(
                r.state,
                DocState::Booked | DocState::Held | DocState::Skipped
            )
        }) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Settings for a run of `orders` orders with the defaults of the CI size.
pub fn options(binary: &Path, dir: &Path, orders: usize, kills: usize, seed: u64) -> ChaosOptions {
    ChaosOptions {
        orders,
        workers: 3,
        kills,
        fault_rate: 0.3,
        exact_calls_per_minute: 600,
        seed,
        postgres: None,
        database_crashes: None,
        dir: dir.to_path_buf(),
        binary: binary.to_path_buf(),
        settle_within: Duration::from_secs(180),
    }
}

/// Shared by the command and the test: the verdict as lines a person reads.
pub fn describe(report: &ChaosReport) -> String {
    let mut text = format!(
        "chaos ({} backend, seed {}): {} orders and {} refunds over {} workers, {} kills, {} database crashes, {} of {} Exact calls under chaos faulted ({} calls in all), {} token expiries, {} webhook deliveries ({} duplicated, {} late, {} forged, {} replayed)\n\
         expected {} documents: {} booked, {} held; {} entries in Exact; {:.1} s under chaos, settled in {:.1} s\n",
        report.backend,
        report.seed,
        report.orders,
        report.refunds,
        report.workers,
        report.kills,
        report.database_crashes,
        report.faults_injected,
        report.exact_calls_under_chaos,
        report.exact_calls,
        report.token_expiries,
        report.webhook_deliveries,
        report.webhooks_duplicated,
        report.webhooks_delayed,
        report.webhooks_forged,
        report.webhooks_replayed,
        report.verdict.expected,
        report.verdict.booked,
        report.verdict.held,
        report.verdict.entries,
        report.seconds_under_chaos,
        report.seconds_to_settle,
    );
    if report.passed() {
        text.push_str(
            "PASSED: every paid document booked exactly once to the cent or held with its reason\n",
        );
    } else {
        text.push_str(&format!(
            "FAILED: {} problems\n",
            report.verdict.problems.len()
        ));
        for problem in &report.verdict.problems {
            text.push_str(&format!("  - {problem}\n"));
        }
    }
    text
}
