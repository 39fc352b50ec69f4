//! Exact Online blocks an app for an hour once it has had 10 error answers (400, 401, 403,
//! 404) on one endpoint of one company within an hour. The guard stops calling an endpoint a
//! little before that, so one bad document cannot cut every booking off for an hour.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use ledgerlink_core::{ConnectorError, ErrorKind};

/// Errors per endpoint per hour after which ledgerlink pauses the endpoint (Exact blocks at 10).
pub(crate) const PAUSE_AFTER_ERRORS: usize = 8;

#[derive(Default)]
pub(crate) struct ErrorGuard {
    errors: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

/// `salesentry/SalesEntries` from `https://…/api/v1/100001/salesentry/SalesEntries(guid'…')?$filter=…`.
fn endpoint(url: &str) -> String {
    let path = url.split(['?', '(']).next().unwrap_or(url);
    let after_api = path.split("/api/v1/").nth(1).unwrap_or(path);
    // Drop the division segment.
    after_api
        .split_once('/')
        .map(|(_, rest)| rest)
        .unwrap_or(after_api)
        .to_string()
}

impl ErrorGuard {
    /// Refuses the call when the endpoint has had too many errors in the past hour.
    pub(crate) fn check(&self, url: &str, now: DateTime<Utc>) -> Result<(), ConnectorError> {
        let endpoint = endpoint(url);
        let mut errors = self.errors.lock().expect("error guard lock");
        let Some(recent) = errors.get_mut(&endpoint) else {
            return Ok(());
        };
        while recent
            .front()
            .is_some_and(|at| now - *at >= Duration::hours(1))
        {
            recent.pop_front();
        }
        if recent.len() < PAUSE_AFTER_ERRORS {
            return Ok(());
        }
        let until =
            *recent.front().expect("at least PAUSE_AFTER_ERRORS entries") + Duration::hours(1);
        Err(ConnectorError::new(
            ErrorKind::RateLimited { until },
            format!(
                "Exact Online answered {} errors on {endpoint} within the hour; ledgerlink pauses it until {until} so that Exact does not block the app. Check the held documents' reasons.",
                recent.len()
            ),
            format!("error guard: {} errors on {endpoint}", recent.len()),
        ))
    }

    /// Counts an answer if it is one of the statuses Exact counts.
    pub(crate) fn record(&self, url: &str, status: u16, now: DateTime<Utc>) {
        if matches!(status, 400 | 401 | 403 | 404) {
            let mut errors = self.errors.lock().expect("error guard lock");
            errors.entry(endpoint(url)).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRIES: &str = "https://start.exactonline.nl/api/v1/100001/salesentry/SalesEntries";

    #[test]
    fn names_the_endpoint_without_division_key_or_query() {
        assert_eq!(endpoint(ENTRIES), "salesentry/SalesEntries");
        assert_eq!(
            endpoint(&format!("{ENTRIES}(guid'1')?$select=ID")),
            "salesentry/SalesEntries"
        );
        assert_eq!(
            endpoint("http://x/api/v1/1/crm/Accounts?$filter=a"),
            "crm/Accounts"
        );
    }

    #[test]
    fn pauses_an_endpoint_before_exact_would_block_it_and_resumes_after_the_hour() {
        let guard = ErrorGuard::default();
        let start = Utc::now();
        for minute in 0..PAUSE_AFTER_ERRORS as i64 {
            assert!(guard.check(ENTRIES, start).is_ok());
            guard.record(ENTRIES, 400, start + Duration::minutes(minute));
        }
        guard.record(ENTRIES, 201, start);
        let paused = guard
            .check(ENTRIES, start + Duration::minutes(30))
            .unwrap_err();
        assert_eq!(
            paused.kind,
            ErrorKind::RateLimited {
                until: start + Duration::hours(1)
            }
        );
        assert!(paused.message_for_user.contains("salesentry/SalesEntries"));
        assert!(
            guard
                .check("http://x/api/v1/100001/crm/Accounts", start)
                .is_ok(),
            "other endpoints go on"
        );
        assert!(
            guard.check(ENTRIES, start + Duration::minutes(61)).is_ok(),
            "the oldest error has aged out"
        );
    }
}
