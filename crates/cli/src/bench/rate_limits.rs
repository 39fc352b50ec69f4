//! Rate-limited reality: several companies booking at once through one `serve` process into
//! an Exact emulator that enforces 60 calls a minute and 5,000 a day per company. The clock is
//! compressed ten times — an emulated minute lasts 6 s and a day 10 minutes — and Exact's headers
//! still give the resets in real time, so ledgerlink waits for them as it would for Exact's. (A
//! minute shorter than that would distort the run: ledgerlink waits out a reset closer than 2 s
//! in place, and that wait is not compressed.) Each company has more orders than its budget
//! allows; the question is whether each gets its full budget, every minute.

use std::collections::BTreeMap;
use std::time::Duration;

use ledgerlink_sandbox::exact::{ExactConfig, RateWindows};
use ledgerlink_sandbox::recorder::RecordedRequest;
use serde::Serialize;

use super::{child, mix, Sizes};

/// The compressed clock: how long an emulated minute and day last.
const MINUTE: Duration = Duration::from_secs(6);
const DAY: Duration = Duration::from_secs(600);

#[derive(Debug, Serialize)]
pub struct CompanyRun {
    pub division: i32,
    pub calls: usize,
    /// Calls Exact refused with 429.
    pub refused: usize,
    /// Calls per full emulated minute: mean, least and most.
    pub per_minute_mean: f64,
    pub per_minute_min: usize,
    pub per_minute_max: usize,
    /// Calls in the fullest emulated day (a day may be partly in the run).
    pub most_in_a_day: usize,
}

#[derive(Debug, Serialize)]
pub struct RateReport {
    pub clock: String,
    pub minutely_limit: u32,
    pub daily_limit: u32,
    pub seconds: f64,
    pub full_minutes: usize,
    pub companies: Vec<CompanyRun>,
}

pub async fn run(sizes: &Sizes, binary: &std::path::Path) -> anyhow::Result<RateReport> {
    let exact_config = ExactConfig {
        rate_windows: RateWindows {
            minute: MINUTE,
            day: DAY,
        },
        ..ExactConfig::default()
    };
    let world = child::ChildWorld::start(exact_config, sizes.rate_companies, |n, shop| {
        let (orders, _) = mix::orders(sizes.seed + n as u64, sizes.rate_orders_per_company);
        mix::place(shop, orders);
    })
    .await?;
    let _serve = world.serve(binary).await?;
    let exact = &world.exact;
    let started = std::time::Instant::now();
    // Every shop's backlog arrives at once, as after an outage.
    let deliveries: Vec<_> = world
        .shops
        .iter()
        .map(|shop| {
            let shop = shop.clone();
            tokio::spawn(async move { shop.deliver_pending_webhooks().await.len() })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(sizes.rate_seconds)).await;
    let ended = chrono::Utc::now().timestamp_millis();
    for delivery in deliveries {
        delivery.abort();
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = exact.recorder().timed();
    let minute_ms = i64::try_from(MINUTE.as_millis())?;
    // Whole emulated minutes only: from the first that began after the start to the last
    // that ended before the end.
    let first_minute = calls
        .first()
        .map_or(0, |(at, _)| at.div_euclid(minute_ms) + 1);
    let last_minute = ended.div_euclid(minute_ms) - 1;
    let companies = (0..world.shops.len())
        .map(|n| {
            company(
                &calls,
                super::DIVISION + n as i32,
                first_minute..=last_minute,
            )
        })
        .collect();
    Ok(RateReport {
        clock: format!(
            "compressed: an emulated minute lasts {} s, a day {} s",
            MINUTE.as_secs(),
            DAY.as_secs()
        ),
        minutely_limit: exact.config().minutely_limit,
        daily_limit: exact.config().daily_limit,
        seconds,
        full_minutes: usize::try_from(last_minute - first_minute + 1).unwrap_or(0),
        companies,
    })
}

/// One company's calls, counted per emulated minute and day as the emulator counts them.
fn company(
    calls: &[(i64, RecordedRequest)],
    division: i32,
    minutes: std::ops::RangeInclusive<i64>,
) -> CompanyRun {
    let key = division.to_string();
    let (minute_ms, day_ms) = (MINUTE.as_millis() as i64, DAY.as_millis() as i64);
    let mut per_minute: BTreeMap<i64, usize> = minutes.clone().map(|m| (m, 0)).collect();
    let mut per_day: BTreeMap<i64, usize> = BTreeMap::new();
    let (mut answered, mut refused) = (0, 0);
    for (at, request) in calls {
        if request.tenant.as_deref() != Some(key.as_str()) {
            continue;
        }
        if request.status == 429 {
            refused += 1;
            continue;
        }
        answered += 1;
        *per_day.entry(at.div_euclid(day_ms)).or_default() += 1;
        if let Some(count) = per_minute.get_mut(&at.div_euclid(minute_ms)) {
            *count += 1;
        }
    }
    CompanyRun {
        division,
        calls: answered,
        refused,
        per_minute_mean: per_minute.values().sum::<usize>() as f64 / per_minute.len().max(1) as f64,
        per_minute_min: per_minute.values().copied().min().unwrap_or(0),
        per_minute_max: per_minute.values().copied().max().unwrap_or(0),
        most_in_a_day: per_day.values().copied().max().unwrap_or(0),
    }
}

pub fn print(report: &RateReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Rate-limited reality: {} companies, one serve, Exact enforcing {}/minute and {}/day ({}; {:.0} s, {} full minutes)",
        report.companies.len(),
        report.minutely_limit,
        report.daily_limit,
        report.clock,
        report.seconds,
        report.full_minutes
    )?;
    writeln!(
        out,
        "  {:<9} {:>7} {:>8} {:>10} {:>8} {:>8} {:>10}",
        "division", "calls", "429s", "per minute", "least", "most", "most a day"
    )?;
    for c in &report.companies {
        writeln!(
            out,
            "  {:<9} {:>7} {:>8} {:>10.1} {:>8} {:>8} {:>10}",
            c.division,
            c.calls,
            c.refused,
            c.per_minute_mean,
            c.per_minute_min,
            c.per_minute_max,
            c.most_in_a_day
        )?;
    }
    Ok(())
}
