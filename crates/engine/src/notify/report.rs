//! The transfer report: per connection, every day or week at its hour (UTC), what was booked
//! since the last report and for how much, what is held and why, the documents per state, and
//! the calls the target was sent.
//!
//! When the last report was sent is the connection's cursor `report.last` (the moment it was
//! due, not when it went out): a report is due once the hour has passed since then, and covers
//! the time since then. So a restart sends nothing twice, and after a stop of three days the
//! next report covers all three.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use ledgerlink_core::Money;
use ledgerlink_store::{BookedTotal, DocState, LedgerRow, Store};
use serde_json::json;

use super::{system_name, Job, Notifier, Outgoing, Route};

pub(crate) const CURSOR: &str = "report.last";
/// Held documents named in a report; `ledgerlink status` lists them all.
const HELD_LISTED: usize = 50;

/// How often a connection's transfer report is sent (`report`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportEvery {
    Off,
    Daily,
    /// On Mondays.
    Weekly,
}

impl ReportEvery {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportEvery::Off => "off",
            ReportEvery::Daily => "daily",
            ReportEvery::Weekly => "weekly",
        }
    }

    fn period(self) -> Option<TimeDelta> {
        match self {
            ReportEvery::Off => None,
            ReportEvery::Daily => Some(TimeDelta::days(1)),
            ReportEvery::Weekly => Some(TimeDelta::weeks(1)),
        }
    }

    /// The last moment a report was due at or before `now`.
    fn latest_due(self, hour: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let period = self.period()?;
        let back = match self {
            ReportEvery::Weekly => now.weekday().num_days_from_monday(),
            ReportEvery::Off | ReportEvery::Daily => 0,
        };
        let due = (now.date_naive() - TimeDelta::days(back.into()))
            .and_hms_opt(hour, 0, 0)?
            .and_utc();
        Some(if due <= now { due } else { due - period })
    }
}

impl FromStr for ReportEvery {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [ReportEvery::Off, ReportEvery::Daily, ReportEvery::Weekly]
            .into_iter()
            .find(|every| every.as_str() == s)
            .ok_or(())
    }
}

impl Notifier {
    /// Queues the report of every connection whose report is due at `now`; returns how many.
    /// Called from `serve`'s loop: cheap when nothing is due.
    pub async fn queue_due_reports(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let Some(inner) = &self.inner else {
            return Ok(0);
        };
        let mut queued = 0;
        for (connection, route) in inner.routes.all() {
            let (connection, route) = (&connection, &*route);
            let (Some(due), Some(period)) = (
                route.report.latest_due(route.report_hour, now),
                route.report.period(),
            ) else {
                continue;
            };
            if !route.sends_anything() || inner.seen().reports_queued.contains(connection) {
                continue;
            }
            let last = inner
                .store
                .cursor(connection, CURSOR)
                .await?
                .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
                .map(|at| at.with_timezone(&Utc));
            if last.is_some_and(|last| last >= due) {
                continue;
            }
            let from = last.unwrap_or(due - period);
            let report = Report::gather(&*inner.store, connection, route, from, due).await?;
            let job = Job::Report {
                connection: connection.clone(),
                slot: due,
                message: report.message(),
            };
            inner.seen().reports_queued.insert(connection.clone());
            if inner.queue.try_send(job).is_err() {
                // Too much is waiting; the next round tries again.
                inner.seen().reports_queued.remove(connection);
                continue;
            }
            queued += 1;
        }
        Ok(queued)
    }
}

struct Report<'a> {
    connection: &'a str,
    route: &'a Route,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    booked: Vec<BookedTotal>,
    states: Vec<(DocState, i64)>,
    held: Vec<LedgerRow>,
    target_calls: i64,
}

impl<'a> Report<'a> {
    async fn gather(
        store: &dyn Store,
        connection: &'a str,
        route: &'a Route,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> anyhow::Result<Report<'a>> {
        Ok(Report {
            connection,
            route,
            from,
            to,
            booked: store.booked_totals(connection, from, to).await?,
            states: store.state_counts(connection).await?,
            held: store.documents(connection, Some(DocState::Held)).await?,
            target_calls: store
                .audit_count(connection, route.target.as_str(), from, to)
                .await?,
        })
    }

    /// Net totals per currency, over every kind of document.
    fn totals(&self) -> BTreeMap<&str, Money> {
        let mut totals: BTreeMap<&str, Money> = BTreeMap::new();
        for booked in &self.booked {
            *totals.entry(booked.currency.as_str()).or_default() += booked.total;
        }
        totals
    }

    fn message(&self) -> Outgoing {
        let name = &self.route.name;
        let every = match self.route.report {
            ReportEvery::Weekly => "Weekly",
            ReportEvery::Off | ReportEvery::Daily => "Daily",
        };
        let minute = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M").to_string();
        let documents: i64 = self.booked.iter().map(|b| b.documents).sum();
        let system = system_name(self.route.target);
        let mut text = format!(
            "Transfer report of {name} ({})\n{every}, from {} to {} UTC.\n\n",
            self.connection,
            minute(self.from),
            minute(self.to)
        );
        if documents == 0 {
            text.push_str("Booked in this period: nothing.\n");
        } else {
            text.push_str(&format!("Booked in this period: {documents} documents\n"));
            for booked in &self.booked {
                text.push_str(&format!(
                    "  {:<10} {:>6}   {} {:>12}\n",
                    booked.kind,
                    booked.documents,
                    booked.currency,
                    booked.total.to_string()
                ));
            }
            for (currency, total) in self.totals() {
                text.push_str(&format!(
                    "  {:<10} {:>6}   {currency} {:>12}\n",
                    "total",
                    "",
                    total.to_string()
                ));
            }
        }
        text.push_str(&format!(
            "\nCalls to {system} in this period: {}\n\nDocuments now, by state:\n",
            self.target_calls
        ));
        for (state, count) in &self.states {
            text.push_str(&format!("  {:<10} {count:>6}\n", state.as_str()));
        }
        if self.held.is_empty() {
            text.push_str("\nNothing is held.\n");
        } else {
            text.push_str(&format!(
                "\nHeld, waiting for a person ({}):\n",
                self.held.len()
            ));
            for row in self.held.iter().take(HELD_LISTED) {
                text.push_str(&format!(
                    "  #{} {} {}: {}\n",
                    row.id,
                    row.kind,
                    row.number,
                    row.reason.as_deref().unwrap_or("no reason recorded")
                ));
            }
            if self.held.len() > HELD_LISTED {
                text.push_str(&format!(
                    "  and {} more; `ledgerlink status` lists them all.\n",
                    self.held.len() - HELD_LISTED
                ));
            }
            text.push_str("Fix the cause, then run `ledgerlink retry <#>`; a newer version from the shop re-opens a document too.\n");
        }
        let totals: Vec<_> = self
            .totals()
            .into_iter()
            .map(|(currency, total)| json!({ "currency": currency, "total": total }))
            .collect();
        let states: serde_json::Map<String, serde_json::Value> = self
            .states
            .iter()
            .map(|(state, count)| (state.as_str().to_string(), json!(count)))
            .collect();
        let held: Vec<_> = self
            .held
            .iter()
            .take(HELD_LISTED)
            .map(|row| json!({ "id": row.id, "kind": row.kind, "number": row.number, "reason": row.reason }))
            .collect();
        Outgoing {
            subject: format!(
                "[ledgerlink] {name}: transfer report {} to {} UTC",
                minute(self.from),
                minute(self.to)
            ),
            text,
            json: json!({
                "event": "report",
                "connection": self.connection,
                "name": name,
                "period": { "every": self.route.report.as_str(), "from": self.from, "to": self.to },
                "booked": { "documents": documents, "by_kind": self.booked, "totals": totals },
                "target": { "system": self.route.target.as_str(), "calls": self.target_calls },
                "states": states,
                "held": held,
                "held_count": self.held.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        // November 2026: the 23rd is a Monday.
        Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
            .unwrap()
    }

    #[test]
    fn a_report_is_due_from_its_hour_on() {
        let daily = ReportEvery::Daily;
        assert_eq!(daily.latest_due(7, at(24, 6, 59)), Some(at(23, 7, 0)));
        assert_eq!(daily.latest_due(7, at(24, 7, 0)), Some(at(24, 7, 0)));
        assert_eq!(daily.latest_due(7, at(24, 23, 0)), Some(at(24, 7, 0)));
        let weekly = ReportEvery::Weekly;
        assert_eq!(weekly.latest_due(7, at(23, 6, 0)), Some(at(16, 7, 0)));
        assert_eq!(weekly.latest_due(7, at(23, 8, 0)), Some(at(23, 7, 0)));
        assert_eq!(weekly.latest_due(7, at(29, 23, 0)), Some(at(23, 7, 0)));
        assert_eq!(ReportEvery::Off.latest_due(7, at(24, 8, 0)), None);
    }
}
