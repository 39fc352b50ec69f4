//! `ledgerlink bench`: how few of the accounting system's API calls ledgerlink spends, and how
//! much one small machine carries (docs/benchmarks.md). Each benchmark is a file of its own;
//! this module sizes them, runs them, prints their tables and writes the JSON report.

mod calls;
mod child;
mod latency;
mod mapping;
mod memory;
mod mix;
mod rate_limits;
mod throughput;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use ledgerlink_engine::EngineOptions;
use ledgerlink_rules::BookingSettings;
use ledgerlink_sandbox::exact::ExactConfig;
use ledgerlink_store::{Keyring, PostgresStore, SqliteStore, Store};
use serde::Serialize;
use sqlx::{Connection, Executor};

use crate::demo::DemoWorld;

const DIVISION: i32 = 100001;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchName {
    /// Exact API calls per order, per posting mode.
    Calls,
    /// End-to-end orders per second against a bare POST loop (SQLite, PostgreSQL).
    Throughput,
    /// Parsing, rules and plan alone, per core.
    Mapping,
    /// Webhook received → booked, p50/p99.
    Latency,
    /// Peak memory of a backfill, idle memory of `serve` on a large ledger.
    Memory,
    /// Many companies under Exact's rate limits at once (compressed clock).
    RateLimits,
}

#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub only: Option<BenchName>,
    pub quick: bool,
    /// PostgreSQL for the throughput benchmark's second run; a schema of its own is made.
    pub postgres: Option<String>,
    /// The `ledgerlink` executable run as `serve` and `backfill`.
    pub binary: PathBuf,
    pub seed: u64,
    /// Backfill sizes instead of the default ones, when not empty.
    pub backfill_orders: Vec<usize>,
    pub ledger_documents: Option<usize>,
}

/// How big each benchmark is: `--quick` for a smoke test, the full sizes for figures.
#[derive(Clone, Debug)]
pub struct Sizes {
    seed: u64,
    calls_orders: usize,
    throughput_orders: usize,
    mapping_seconds: f64,
    latency_orders: usize,
    backfill_orders: Vec<usize>,
    ledger_documents: usize,
    rate_companies: usize,
    rate_orders_per_company: usize,
    rate_seconds: f64,
}

impl Sizes {
    fn new(quick: bool, seed: u64) -> Sizes {
        if quick {
            Sizes {
                seed,
                calls_orders: 40,
                throughput_orders: 40,
                mapping_seconds: 0.2,
                latency_orders: 10,
                backfill_orders: vec![100, 200],
                ledger_documents: 10_000,
                rate_companies: 2,
                rate_orders_per_company: 150,
                rate_seconds: 13.0,
            }
        } else {
            Sizes {
                seed,
                calls_orders: 1_000,
                throughput_orders: 2_000,
                mapping_seconds: 3.0,
                latency_orders: 300,
                backfill_orders: vec![10_000, 50_000, 100_000],
                ledger_documents: 1_000_000,
                rate_companies: 3,
                rate_orders_per_company: 1_500,
                rate_seconds: 126.0,
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_gb: f64,
    pub cpu: String,
    /// `release` or `debug`: only release figures are worth quoting.
    pub build: &'static str,
    /// The 1-minute load average when the run began and ended: other work on the machine
    /// slows every timed figure (the call counts and memory are not timed).
    pub load_before: f64,
    pub load_after: f64,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub machine: Machine,
    pub quick: bool,
    pub calls: Option<calls::CallsReport>,
    pub throughput: Option<throughput::ThroughputReport>,
    pub mapping: Option<mapping::MappingReport>,
    pub latency: Option<latency::LatencyReport>,
    pub memory: Option<memory::MemoryReport>,
    pub rate_limits: Option<rate_limits::RateReport>,
}

/// Runs the benchmarks `options` ask for, printing each table as it is done.
pub async fn run(
    options: &BenchOptions,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<BenchReport> {
    let mut sizes = Sizes::new(options.quick, options.seed);
    if !options.backfill_orders.is_empty() {
        sizes.backfill_orders.clone_from(&options.backfill_orders);
    }
    if let Some(documents) = options.ledger_documents {
        sizes.ledger_documents = documents;
    }
    let wanted = |name| options.only.is_none_or(|only| only == name);
    let machine = machine();
    writeln!(
        out,
        "ledgerlink bench{}: {} cores, {:.0} GB, {} ({} build), load average {:.1}\n",
        if options.quick { " --quick" } else { "" },
        machine.cores,
        machine.memory_gb,
        machine.cpu,
        machine.build,
        machine.load_before
    )?;
    let mut report = BenchReport {
        machine,
        quick: options.quick,
        calls: None,
        throughput: None,
        mapping: None,
        latency: None,
        memory: None,
        rate_limits: None,
    };
    if wanted(BenchName::Calls) {
        let result = calls::run(&sizes).await?;
        calls::print(&result, out)?;
        writeln!(out)?;
        report.calls = Some(result);
    }
    if wanted(BenchName::Throughput) {
        let result = throughput::run(&sizes, options.postgres.as_deref()).await?;
        throughput::print(&result, out)?;
        writeln!(out)?;
        report.throughput = Some(result);
    }
    if wanted(BenchName::Mapping) {
        let result = mapping::run(&sizes)?;
        mapping::print(&result, out)?;
        writeln!(out)?;
        report.mapping = Some(result);
    }
    if wanted(BenchName::Latency) {
        let result = latency::run(&sizes, &options.binary).await?;
        latency::print(&result, out)?;
        writeln!(out)?;
        report.latency = Some(result);
    }
    if wanted(BenchName::Memory) {
        let result = memory::run(&sizes, &options.binary).await?;
        memory::print(&result, out)?;
        writeln!(out)?;
        report.memory = Some(result);
    }
    if wanted(BenchName::RateLimits) {
        let result = rate_limits::run(&sizes, &options.binary).await?;
        rate_limits::print(&result, out)?;
        writeln!(out)?;
        report.rate_limits = Some(result);
    }
    report.machine.load_after = load_average();
    writeln!(
        out,
        "load average at the end: {:.1}",
        report.machine.load_after
    )?;
    Ok(report)
}

fn machine() -> Machine {
    let read = |path| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_kb: f64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gb: memory_kb / 1024.0 / 1024.0,
        cpu,
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        load_before: load_average(),
        load_after: 0.0,
    }
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn per(count: usize, of: usize) -> f64 {
    count as f64 / of.max(1) as f64
}

fn per_second(count: usize, seconds: f64) -> f64 {
    count as f64 / seconds.max(f64::EPSILON)
}

/// The demo world on a durable store of the benchmark's own, with the engine options a quick
/// test would use (short settle and retry delays; everything else as `serve` has it).
struct BenchWorld {
    demo: DemoWorld,
    _dir: tempfile::TempDir,
    /// (admin URL, schema) of a PostgreSQL run, dropped by [`BenchWorld::finish`].
    schema: Option<(String, String)>,
}

fn engine_options() -> EngineOptions {
    EngineOptions {
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
        ..EngineOptions::default()
    }
}

impl BenchWorld {
    async fn sqlite(settings: BookingSettings, exact: ExactConfig) -> anyhow::Result<BenchWorld> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(&dir.path().join("ledger.sqlite"))
            .await?
            .with_keyring(Keyring::ephemeral());
        let demo =
            DemoWorld::start_with_exact(Arc::new(store), engine_options(), settings, exact).await?;
        Ok(BenchWorld {
            demo,
            _dir: dir,
            schema: None,
        })
    }

    /// In a schema of its own, as the tests do (`crates/testkit/src/postgres.rs`).
    async fn postgres(
        url: &str,
        settings: BookingSettings,
        exact: ExactConfig,
    ) -> anyhow::Result<BenchWorld> {
        let schema = format!("ll_bench_{}", uuid_like());
        let mut admin = sqlx::PgConnection::connect(url).await?;
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await?;
        admin.close().await?;
        let separator = if url.contains('?') { '&' } else { '?' };
        let store: Arc<dyn Store> = Arc::new(
            PostgresStore::connect(&format!("{url}{separator}options[search_path]={schema}"))
                .await?
                .with_keyring(Keyring::ephemeral()),
        );
        let demo = DemoWorld::start_with_exact(store, engine_options(), settings, exact).await?;
        Ok(BenchWorld {
            demo,
            _dir: tempfile::tempdir()?,
            schema: Some((url.to_string(), schema)),
        })
    }

    /// Drops a PostgreSQL run's schema.
    async fn finish(self) {
        let Some((url, schema)) = self.schema else {
            return;
        };
        drop(self.demo);
        let dropped = async {
            let mut admin = sqlx::PgConnection::connect(&url).await?;
            admin
                .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                .await?;
            anyhow::Ok(())
        };
        if let Err(error) = dropped.await {
            eprintln!("note: the benchmark's schema {schema} was not dropped: {error:#}");
        }
    }
}

/// A name part unique to this run.
fn uuid_like() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    )
}
