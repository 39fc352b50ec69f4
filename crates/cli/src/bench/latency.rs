//! Latency from a webhook received to the order booked: a real `ledgerlink serve` process on a
//! SQLite ledger, the shop delivering each order's webhook to it, the clock stopped when the
//! unthrottled Exact emulator has the sales entry. One order at a time, so each is measured on
//! an idle system.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{calls::unthrottled, child, mix, Sizes};

#[derive(Debug, Serialize)]
pub struct LatencyReport {
    pub orders: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub goal_p99_ms: f64,
}

const ENTRIES: &str = "salesentry/SalesEntries";

pub async fn run(sizes: &Sizes, binary: &std::path::Path) -> anyhow::Result<LatencyReport> {
    let world = child::ChildWorld::start(unthrottled(), 1, |_, _| {}).await?;
    let _serve = world.serve(binary).await?;
    let (shop, exact) = (&world.shops[0], &world.exact);
    shop.deliver_pending_webhooks().await;

    let (orders, _) = mix::orders(sizes.seed, sizes.latency_orders + 1);
    let mut latencies = Vec::with_capacity(orders.len());
    for (n, order) in orders.into_iter().enumerate() {
        let before = exact.recorder().count("POST", ENTRIES);
        shop.create_order(order.spec);
        let started = Instant::now();
        shop.deliver_pending_webhooks().await;
        while exact.recorder().count("POST", ENTRIES) == before {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "order {n} was not booked within 30 s; see {}/serve.log",
                world.dir.path().display()
            );
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        // The first order also reads the master data: a start-up cost, not latency.
        if n > 0 {
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Ok(LatencyReport {
        orders: latencies.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        mean_ms: latencies.iter().sum::<f64>() / latencies.len() as f64,
        goal_p99_ms: 250.0,
    })
}

pub fn print(report: &LatencyReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Latency webhook received → booked in Exact (`serve`, SQLite, unthrottled emulator)"
    )?;
    writeln!(
        out,
        "  {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "orders", "p50 ms", "p99 ms", "max ms", "mean ms", "goal"
    )?;
    writeln!(
        out,
        "  {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9}",
        report.orders,
        report.p50_ms,
        report.p99_ms,
        report.max_ms,
        report.mean_ms,
        format!("p99≤{:.0}", report.goal_p99_ms)
    )
}
