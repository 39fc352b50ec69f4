//! What `GET /metrics` shows, in Prometheus's text format. Each engine keeps its own recorder
//! (no process-wide one), so two engines in one process never mix their numbers.
//!
//! Bookings, holds and failed notifications are counted as they happen (from this process's
//! start, as Prometheus counters are); the documents per state and the calls to each target
//! are read from the ledger at every scrape, so they are the ledger's, whichever process
//! wrote them. Labels carry connection ids, states, currencies and system names only: never
//! a secret or an address.

use ledgerlink_core::BookingPlan;
use ledgerlink_store::DocState;
use metrics::{describe_counter, describe_gauge, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use rust_decimal::prelude::ToPrimitive;

pub struct Metrics {
    recorder: PrometheusRecorder,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Metrics {
            recorder: PrometheusBuilder::new().build_recorder(),
        };
        metrics.with(|| {
            describe_gauge!(
                "ledgerlink_documents",
                "Documents in the ledger per connection and state, read at scrape time."
            );
            describe_counter!(
                "ledgerlink_bookings_total",
                "Documents booked by this process (a summary entry counts its documents)."
            );
            describe_counter!(
                "ledgerlink_held_total",
                "Times a document was held by this process."
            );
            describe_gauge!(
                "ledgerlink_booked_amount_total",
                "Sum of the totals booked by this process, per currency (refunds negative)."
            );
            describe_counter!(
                "ledgerlink_target_calls_total",
                Unit::Count,
                "Requests to the target the audit log recorded, read at scrape time."
            );
            describe_counter!(
                "ledgerlink_notifications_failed_total",
                "Notifications that could not be sent after their retries."
            );
        });
        metrics
    }
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// Shows a connection's counters from the start, at zero.
    pub(crate) fn add_connection(&self, connection: &str) {
        self.with(|| {
            let labels = [("connection", connection.to_string())];
            metrics::counter!("ledgerlink_bookings_total", &labels).increment(0);
            metrics::counter!("ledgerlink_held_total", &labels).increment(0);
        });
    }

    pub(crate) fn booked(&self, connection: &str, plan: &BookingPlan) {
        // A summary entry books the documents it covers.
        let documents = plan.covers.len().max(1) as u64;
        // A metric, not money anyone computes with: the float is only for the exporter.
        let amount = plan.total.amount().to_f64().unwrap_or_default();
        self.with(|| {
            metrics::counter!("ledgerlink_bookings_total", "connection" => connection.to_string())
                .increment(documents);
            metrics::gauge!(
                "ledgerlink_booked_amount_total",
                "connection" => connection.to_string(),
                "currency" => plan.currency.code().to_string()
            )
            .increment(amount);
        });
    }

    pub(crate) fn held(&self, connection: &str) {
        self.with(|| {
            metrics::counter!("ledgerlink_held_total", "connection" => connection.to_string())
                .increment(1)
        });
    }

    pub(crate) fn notification_failed(&self, connection: &str, channel: &'static str) {
        self.with(|| {
            metrics::counter!(
                "ledgerlink_notifications_failed_total",
                "connection" => connection.to_string(),
                "channel" => channel
            )
            .increment(1)
        });
    }

    /// Every state is shown, at zero when no document is in it, so that a state emptied since
    /// the last scrape does not keep its old count.
    pub(crate) fn documents(&self, connection: &str, counts: &[(DocState, i64)]) {
        self.with(|| {
            for state in DocState::ALL {
                let count = counts
                    .iter()
                    .find(|(s, _)| *s == state)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!(
                    "ledgerlink_documents",
                    "connection" => connection.to_string(),
                    "state" => state.as_str()
                )
                .set(count as f64);
            }
        });
    }

    pub(crate) fn target_calls(&self, connection: &str, system: &'static str, calls: i64) {
        self.with(|| {
            metrics::counter!(
                "ledgerlink_target_calls_total",
                "connection" => connection.to_string(),
                "system" => system
            )
            .absolute(u64::try_from(calls).unwrap_or_default())
        });
    }

    pub(crate) fn render(&self) -> String {
        self.recorder.handle().render()
    }
}
