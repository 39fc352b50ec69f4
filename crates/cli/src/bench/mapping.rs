//! Mapping alone, on one core: the order's JSON as the shop sends it parsed, mapped to a
//! document, and every rule run to its booking plan — no ledger, no network.

use std::time::{Duration, Instant};

use ledgerlink_rules::Decision;
use ledgerlink_sandbox::woocommerce::{WooConfig, WooSandbox};
use serde::Serialize;

use super::{mix, Sizes};

#[derive(Debug, Serialize)]
pub struct MappingRun {
    pub lines: usize,
    /// Size of the order's JSON.
    pub bytes: usize,
    pub iterations: u64,
    pub orders_per_second_per_core: f64,
    pub microseconds_per_order: f64,
}

#[derive(Debug, Serialize)]
pub struct MappingReport {
    pub runs: Vec<MappingRun>,
    /// The goal for a 20-line order.
    pub goal_20_lines: f64,
}

pub fn run(sizes: &Sizes) -> anyhow::Result<MappingReport> {
    let shop = WooSandbox::new(WooConfig::default());
    let settings = crate::demo::demo_settings();
    let mut runs = Vec::new();
    for lines in [1, mix::LARGE_ORDER_LINES] {
        let order = shop.create_order(mix::single_order(lines));
        let text = serde_json::to_string(&order)?;
        // Once outside the clock: the order must be booked, or the loop measures a refusal.
        anyhow::ensure!(
            matches!(plan(&text, &settings)?, Decision::Book { .. }),
            "the {lines}-line order is not booked by the demo settings"
        );
        let (iterations, elapsed) =
            repeat(sizes.mapping_seconds, || plan(&text, &settings).map(drop))?;
        runs.push(MappingRun {
            lines,
            bytes: text.len(),
            iterations,
            orders_per_second_per_core: iterations as f64 / elapsed.as_secs_f64(),
            microseconds_per_order: elapsed.as_secs_f64() * 1e6 / iterations as f64,
        });
    }
    Ok(MappingReport {
        runs,
        goal_20_lines: 20_000.0,
    })
}

/// What `ledgerlink plan` does for one order.
fn plan(text: &str, settings: &ledgerlink_rules::BookingSettings) -> anyhow::Result<Decision> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let document = ledgerlink_sources::woocommerce::map_order(&value)?;
    Ok(ledgerlink_rules::decide(&document, settings))
}

/// Runs `work` on this thread until `seconds` have passed; (iterations, time taken).
fn repeat(
    seconds: f64,
    mut work: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(u64, Duration)> {
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut iterations = 0;
    // Checking the clock every 64 orders keeps it out of the measurement.
    while started.elapsed() < budget {
        for _ in 0..64 {
            work()?;
        }
        iterations += 64;
    }
    Ok((iterations, started.elapsed()))
}

pub fn print(report: &MappingReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Mapping alone (parse the shop's JSON + all rules + plan), one core"
    )?;
    writeln!(
        out,
        "  {:<8} {:>8} {:>12} {:>14} {:>10}",
        "lines", "bytes", "orders/s", "µs per order", "goal"
    )?;
    for run in &report.runs {
        let goal = if run.lines == mix::LARGE_ORDER_LINES {
            format!("≥{:.0}", report.goal_20_lines)
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {:<8} {:>8} {:>12.0} {:>14.1} {:>10}",
            run.lines, run.bytes, run.orders_per_second_per_core, run.microseconds_per_order, goal
        )?;
    }
    Ok(())
}
