//! Exact Online API calls per order for the seeded mix, in the three ways of booking it: an
//! entry per document, private customers on a collective debtor, and daily summaries. Every
//! request the emulator served counts, the one-off OAuth and master-data reads included.

use ledgerlink_rules::settings::{CollectiveDebtor, PostingMode};
use ledgerlink_rules::BookingSettings;
use ledgerlink_sandbox::exact::ExactConfig;
use ledgerlink_store::DocState;
use serde::Serialize;
use serde_json::json;

use super::{mix, per, BenchWorld, Sizes};

/// The relation the collective-debtor and summary modes book private customers on.
const COLLECTIVE_RELATION: &str = "9999";

#[derive(Debug, Serialize)]
pub struct ModeCalls {
    pub mode: &'static str,
    pub orders: usize,
    /// Orders and refunds booked (a summary's members count, the summary does not).
    pub documents_booked: usize,
    pub not_booked: usize,
    pub calls: usize,
    /// `salesentry/SalesEntries`: the bookings themselves.
    pub entry_calls: usize,
    /// `crm/Accounts` and `crm/Addresses`: finding and creating customers.
    pub customer_calls: usize,
    /// OAuth and master data, once per connection.
    pub setup_calls: usize,
    pub calls_per_order: f64,
    pub calls_per_document: f64,
    /// The goal for calls per order in this mode.
    pub goal: f64,
}

#[derive(Debug, Serialize)]
pub struct CallsReport {
    pub seed: u64,
    pub mix: mix::MixCounts,
    pub modes: Vec<ModeCalls>,
}

pub async fn run(sizes: &Sizes) -> anyhow::Result<CallsReport> {
    let mut modes = Vec::new();
    let mut counts = mix::MixCounts::default();
    for (name, mode, collective, goal) in [
        ("per document", PostingMode::PerDocument, false, 1.3),
        ("collective debtor", PostingMode::PerDocument, true, 1.0),
        ("daily summary", PostingMode::DailySummary, true, 0.01),
    ] {
        let (measured, mix_counts) = book_mix(sizes, name, mode, collective, goal).await?;
        counts = mix_counts;
        modes.push(measured);
    }
    Ok(CallsReport {
        seed: sizes.seed,
        mix: counts,
        modes,
    })
}

async fn book_mix(
    sizes: &Sizes,
    name: &'static str,
    mode: PostingMode,
    collective: bool,
    goal: f64,
) -> anyhow::Result<(ModeCalls, mix::MixCounts)> {
    let mut settings: BookingSettings = crate::demo::demo_settings();
    settings.posting.mode = mode;
    if collective {
        settings.customers.private.collective_debtor = Some(CollectiveDebtor {
            default: Some(COLLECTIVE_RELATION.into()),
            by_country: Default::default(),
        });
    }
    let world = BenchWorld::sqlite(settings, unthrottled()).await?;
    if collective {
        // The bookkeeper made the collective relation in Exact.
        world
            .demo
            .exact
            .create_account(
                super::DIVISION,
                json!({ "Code": COLLECTIVE_RELATION, "Name": "Webshop particulieren", "Status": "C" }),
            )
            .map_err(anyhow::Error::msg)?;
    }
    let (orders, counts) = mix::orders(sizes.seed, sizes.calls_orders);
    mix::place(&world.demo.shop, orders);
    world.demo.settle().await?;
    let rows = world
        .demo
        .engine
        .store()
        .documents(crate::demo::CONNECTION, None)
        .await?;
    let booked = rows
        .iter()
        .filter(|r| r.state == DocState::Booked && r.kind != "summary")
        .count();
    let not_booked = rows
        .iter()
        .filter(|r| !matches!(r.state, DocState::Booked))
        .count();
    let (mut entry_calls, mut customer_calls, mut setup_calls) = (0, 0, 0);
    for request in world.demo.exact.recorder().all() {
        if request.path.contains("salesentry/SalesEntries") {
            entry_calls += 1;
        } else if request.path.contains("crm/Accounts") || request.path.contains("crm/Addresses") {
            customer_calls += 1;
        } else {
            setup_calls += 1;
        }
    }
    let calls = entry_calls + customer_calls + setup_calls;
    Ok((
        ModeCalls {
            mode: name,
            orders: counts.orders,
            documents_booked: booked,
            not_booked,
            calls,
            entry_calls,
            customer_calls,
            setup_calls,
            calls_per_order: per(calls, counts.orders),
            calls_per_document: per(calls, booked),
            goal,
        },
        counts,
    ))
}

/// Exact's limits lifted: this benchmark counts calls, it does not wait for them.
pub fn unthrottled() -> ExactConfig {
    ExactConfig {
        minutely_limit: u32::MAX,
        daily_limit: u32::MAX,
        ..ExactConfig::default()
    }
}

pub fn print(report: &CallsReport, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mix = &report.mix;
    writeln!(
        out,
        "Calls per order into the Exact emulator (seed {}: {} orders, {} new customers, {} business, {} with 20 lines, {} refunds)",
        report.seed, mix.orders, mix.new_customers, mix.business_orders, mix.large_orders, mix.refunds
    )?;
    writeln!(
        out,
        "  {:<18} {:>7} {:>8} {:>9} {:>9} {:>6} {:>10} {:>10} {:>6}",
        "mode", "calls", "entries", "customers", "once", "booked", "per order", "per doc", "goal"
    )?;
    for m in &report.modes {
        writeln!(
            out,
            "  {:<18} {:>7} {:>8} {:>9} {:>9} {:>6} {:>10.3} {:>10.3} {:>6}",
            m.mode,
            m.calls,
            m.entry_calls,
            m.customer_calls,
            m.setup_calls,
            m.documents_booked,
            m.calls_per_order,
            m.calls_per_document,
            format!("≤{}", m.goal)
        )?;
    }
    Ok(())
}
