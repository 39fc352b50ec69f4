//! End-to-end throughput against zero-latency emulators, beside the machine's limit measured in
//! the same run: webhooks from the shop → the durable ledger → rules → Exact, against a bare loop
//! that POSTs the very entry bodies ledgerlink sent to the same emulator, one at a time over a
//! client built as ledgerlink builds its own. Both have one call in flight at a time, as one
//! `serve` worker has.

use std::time::{Duration, Instant};

use anyhow::Context;
use ledgerlink_sandbox::exact::ExactSandbox;
use ledgerlink_store::DocState;
use serde::Serialize;
use serde_json::Value;

use super::{calls::unthrottled, mix, per_second, BenchWorld, Sizes};

#[derive(Debug, Serialize)]
pub struct ThroughputRun {
    /// `sqlite` (a WAL file on disk) or `postgresql`.
    pub backend: &'static str,
    pub orders: usize,
    pub seconds: f64,
    pub orders_per_second: f64,
    /// Exact calls ledgerlink made for them (new customers cost more than one).
    pub exact_calls: usize,
    pub bare_loop_seconds: f64,
    pub bare_loop_orders_per_second: f64,
    /// ledgerlink's orders per second over the bare loop's.
    pub ratio: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct ThroughputReport {
    pub runs: Vec<ThroughputRun>,
    /// Why a backend was left out.
    pub skipped: Vec<String>,
}

pub async fn run(sizes: &Sizes, postgres: Option<&str>) -> anyhow::Result<ThroughputReport> {
    let mut report = ThroughputReport::default();
    let world = BenchWorld::sqlite(crate::demo::demo_settings(), unthrottled()).await?;
    report.runs.push(measure("sqlite", world, sizes).await?);
    match postgres {
        Some(url) => {
            let world =
                BenchWorld::postgres(url, crate::demo::demo_settings(), unthrottled()).await?;
            report.runs.push(measure("postgresql", world, sizes).await?);
        }
        None => report
            .skipped
            .push("postgresql: no --postgres URL (or LEDGERLINK_TEST_POSTGRES) given".into()),
    }
    Ok(report)
}

async fn measure(
    backend: &'static str,
    world: BenchWorld,
    sizes: &Sizes,
) -> anyhow::Result<ThroughputRun> {
    let demo = &world.demo;
    let (mut orders, _) = mix::orders(sizes.seed, sizes.throughput_orders);
    // Orders only: a refund waits for its order, which measures the retry delay, not the work.
    orders.iter_mut().for_each(|o| o.refunded = false);
    let count = orders.len();
    mix::place(&demo.shop, orders);

    let started = Instant::now();
    let delivering = tokio::spawn({
        let shop = demo.shop.clone();
        async move { shop.deliver_pending_webhooks().await.len() }
    });
    loop {
        let worked = demo.engine.run_due().await?;
        if worked == 0 && delivering.is_finished() {
            if demo.engine.store().open_count().await? == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    delivering.await?;
    let booked = demo
        .engine
        .store()
        .documents(crate::demo::CONNECTION, Some(DocState::Booked))
        .await?
        .len();
    anyhow::ensure!(
        booked == count,
        "{backend}: {booked} of {count} orders were booked"
    );
    let exact_calls = demo.exact.recorder().total();

    let bodies = entry_bodies(&world).await?;
    anyhow::ensure!(bodies.len() == count, "one entry body per order");
    let bare_loop_seconds = bare_loop(&demo.exact, &demo.exact_url, &bodies).await?;
    world.finish().await;
    let orders_per_second = per_second(count, seconds);
    let bare_loop_orders_per_second = per_second(count, bare_loop_seconds);
    Ok(ThroughputRun {
        backend,
        orders: count,
        seconds,
        orders_per_second,
        exact_calls,
        bare_loop_seconds,
        bare_loop_orders_per_second,
        ratio: orders_per_second / bare_loop_orders_per_second,
    })
}

/// The sales-entry bodies ledgerlink sent, as its audit log kept them.
async fn entry_bodies(world: &BenchWorld) -> anyhow::Result<Vec<String>> {
    let entries = world
        .demo
        .engine
        .store()
        .audit_entries(crate::demo::CONNECTION, i64::MAX)
        .await?;
    Ok(entries
        .into_iter()
        .filter(|e| e.method == "POST" && e.url.contains("salesentry/SalesEntries"))
        .filter_map(|e| e.request_body)
        .collect())
}

/// The machine's limit: the same bodies POSTed back to back, each answer read and parsed as
/// ledgerlink does. Returns the seconds it took.
async fn bare_loop(exact: &ExactSandbox, base_url: &str, bodies: &[String]) -> anyhow::Result<f64> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let token = access_token(&http, exact, base_url).await?;
    let url = format!(
        "{base_url}/api/v1/{}/salesentry/SalesEntries",
        super::DIVISION
    );
    let started = Instant::now();
    for body in bodies {
        let response = http
            .post(&url)
            .bearer_auth(&token)
            .header("accept", "application/json")
            .header("prefer", "return=representation")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let status = response.status();
        let answer: Value = serde_json::from_str(&response.text().await?)?;
        anyhow::ensure!(status.is_success(), "the bare loop's POST failed: {answer}");
    }
    Ok(started.elapsed().as_secs_f64())
}

/// A token of the bare loop's own, through the authorization-code grant.
async fn access_token(
    http: &reqwest::Client,
    exact: &ExactSandbox,
    base_url: &str,
) -> anyhow::Result<String> {
    let config = exact.config();
    let answer: Value = http
        .post(format!("{base_url}/api/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", exact.issue_authorization_code().as_str()),
            ("redirect_uri", config.redirect_uri.as_str()),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    answer["access_token"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no access token: {answer}"))
}

pub fn print(report: &ThroughputReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "End-to-end throughput (webhook → ledger → Exact, zero-latency emulators) against a bare POST loop"
    )?;
    writeln!(
        out,
        "  {:<11} {:>7} {:>11} {:>12} {:>12} {:>8} {:>6}",
        "backend", "orders", "orders/s", "bare loop/s", "calls/order", "ratio", "goal"
    )?;
    for run in &report.runs {
        writeln!(
            out,
            "  {:<11} {:>7} {:>11.1} {:>12.1} {:>12.2} {:>7.0}% {:>6}",
            run.backend,
            run.orders,
            run.orders_per_second,
            run.bare_loop_orders_per_second,
            run.exact_calls as f64 / run.orders as f64,
            run.ratio * 100.0,
            "≥50%"
        )?;
    }
    for skipped in &report.skipped {
        writeln!(out, "  skipped {skipped}")?;
    }
    Ok(())
}
