//! Memory of the `ledgerlink` process, read from `/proc/<pid>/status`: the peak resident set
//! of `ledgerlink backfill` over growing numbers of orders (it must not grow with them), and
//! the resident set of an idle `ledgerlink serve` whose SQLite ledger holds a million booked
//! documents. That ledger is made by one bulk INSERT straight into SQLite (booking a million
//! orders through the emulators would take hours and measure nothing more).

use std::path::Path;
use std::time::{Duration, Instant};

use ledgerlink_sandbox::woocommerce::{WooConfig, WooSandbox};
use serde::Serialize;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{calls::unthrottled, child, mix, per_second, Sizes};

#[derive(Debug, Serialize)]
pub struct BackfillRun {
    pub orders: usize,
    pub peak_rss_mb: f64,
    pub seconds: f64,
    pub orders_per_second: f64,
}

#[derive(Debug, Serialize)]
pub struct MemoryReport {
    pub backfill: Vec<BackfillRun>,
    pub idle_serve_documents: usize,
    pub idle_serve_rss_mb: f64,
    pub idle_serve_peak_rss_mb: f64,
    pub goal_backfill_mb: f64,
    pub goal_idle_mb: f64,
}

pub async fn run(sizes: &Sizes, binary: &Path) -> anyhow::Result<MemoryReport> {
    let mut backfill = Vec::new();
    for &orders in &sizes.backfill_orders {
        backfill.push(backfill_run(sizes.seed, orders, binary).await?);
    }
    let (idle, idle_peak) = idle_serve(sizes.ledger_documents, binary).await?;
    Ok(MemoryReport {
        backfill,
        idle_serve_documents: sizes.ledger_documents,
        idle_serve_rss_mb: idle,
        idle_serve_peak_rss_mb: idle_peak,
        goal_backfill_mb: 100.0,
        goal_idle_mb: 50.0,
    })
}

/// A shop and an Exact company of their own, and `ledgerlink backfill` over every order.
async fn backfill_run(seed: u64, count: usize, binary: &Path) -> anyhow::Result<BackfillRun> {
    let world = child::ChildWorld::start(unthrottled(), 1, |_, shop| {
        let (mut orders, _) = mix::orders(seed, count);
        // Orders only: a refund whose order is not booked yet waits past the command's end.
        orders.iter_mut().for_each(|o| o.refunded = false);
        mix::place(shop, orders);
    })
    .await?;
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (
        (today - chrono::Duration::days(5)).to_string(),
        today.to_string(),
    );
    let started = Instant::now();
    let mut backfill = world.spawn(binary, "backfill", &["--from", &from, "--to", &to], None)?;
    let peak = child::peak_until_exit(&mut backfill, "backfill").await?;
    let seconds = started.elapsed().as_secs_f64();
    let booked = world.exact.sales_entries(super::DIVISION).len();
    anyhow::ensure!(
        booked == count,
        "backfill booked {booked} of {count} orders; see {}/backfill.log",
        world.dir.path().display()
    );
    Ok(BackfillRun {
        orders: count,
        peak_rss_mb: peak,
        seconds,
        orders_per_second: per_second(count, seconds),
    })
}

/// (resident, peak) MB of `serve` after it has started on a ledger of `documents` booked
/// documents and idled a few seconds.
async fn idle_serve(documents: usize, binary: &Path) -> anyhow::Result<(f64, f64)> {
    let world = child::ChildWorld::start(unthrottled(), 1, |_, _| {}).await?;
    fill_ledger(&world.database, "shop0", documents).await?;
    let serve = world.serve(binary).await?;
    // Past start-up and the first sweep, into the idle loop.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pid = serve.id().ok_or_else(|| anyhow::anyhow!("serve exited"))?;
    child::memory(pid)
}

/// `documents` booked orders, each with the document and plan of a real 3-line order, in one
/// INSERT.
async fn fill_ledger(database: &Path, connection: &str, documents: usize) -> anyhow::Result<()> {
    let shop = WooSandbox::new(WooConfig::default());
    let order = shop.create_order(mix::single_order(3));
    let document = ledgerlink_sources::woocommerce::map_order(&order)?;
    let plan = match ledgerlink_rules::decide(&document, &crate::demo::demo_settings()) {
        ledgerlink_rules::Decision::Book { plan } => plan,
        other => anyhow::bail!("the sample order is not booked: {other:?}"),
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut db = SqliteConnectOptions::new()
        .filename(database)
        .connect()
        .await?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
         INSERT INTO documents (connection_id, kind, source_id, number, state, reason, \
         document_json, source_modified_at, plan_json, reference, target_id, attempts, \
         created_at, updated_at) \
         SELECT ?, 'order', 'bulk-' || i, 'B' || i, 'booked', 'booked as entry ' || i, ?, ?, ?, \
         'WC-B' || i, 'entry-' || i, 1, ?, ? FROM n",
    )
    .bind(i64::try_from(documents)?)
    .bind(connection)
    .bind(serde_json::to_string(&document)?)
    .bind(&now)
    .bind(serde_json::to_string(&plan)?)
    .bind(&now)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    db.close().await?;
    Ok(())
}

pub fn print(report: &MemoryReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(out, "Memory (resident set of the ledgerlink process)")?;
    writeln!(
        out,
        "  {:<34} {:>9} {:>9} {:>9}",
        "", "peak MB", "orders/s", "goal"
    )?;
    for run in &report.backfill {
        writeln!(
            out,
            "  {:<34} {:>9.1} {:>9.1} {:>9}",
            format!("backfill of {} orders", run.orders),
            run.peak_rss_mb,
            run.orders_per_second,
            format!("≤{:.0}", report.goal_backfill_mb)
        )?;
    }
    writeln!(
        out,
        "  {:<34} {:>9.1} {:>9} {:>9}",
        format!("idle serve, {} documents", report.idle_serve_documents),
        report.idle_serve_rss_mb,
        "",
        format!("≤{:.0}", report.goal_idle_mb)
    )?;
    writeln!(
        out,
        "  (idle serve peaked at {:.1} MB while starting)",
        report.idle_serve_peak_rss_mb
    )
}
