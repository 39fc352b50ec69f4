//! Exact's API limits, on the emulator clock:
//! - per app (client id) and division: calls per minute (fixed windows aligned to clock minutes,
//!   as the real `X-RateLimit-Minutely-Reset` shows) and per day (reset at midnight UTC); a
//!   benchmark may shorten both windows ([`RateWindows`]) to compress hours into minutes;
//! - the error-rate limit: more than 10 answers with 400/401/403/404 for the same app, division
//!   and endpoint within an hour block that endpoint for an hour.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};

const HOUR_MS: i64 = 3_600_000;
/// Errors tolerated per app, division, endpoint and hour.
pub const MAX_ERRORS_PER_HOUR: usize = 10;

/// The six rate-limit headers of one response.
#[derive(Clone, Copy, Debug)]
pub struct RateHeaders {
    pub daily_limit: u32,
    pub daily_remaining: u32,
    pub daily_reset_ms: i64,
    pub minutely_limit: u32,
    pub minutely_remaining: u32,
    pub minutely_reset_ms: i64,
}

impl RateHeaders {
    pub fn apply(&self, headers: &mut HeaderMap) {
        let pairs = [
            ("X-RateLimit-Limit", self.daily_limit.to_string()),
            ("X-RateLimit-Remaining", self.daily_remaining.to_string()),
            ("X-RateLimit-Reset", self.daily_reset_ms.to_string()),
            (
                "X-RateLimit-Minutely-Limit",
                self.minutely_limit.to_string(),
            ),
            (
                "X-RateLimit-Minutely-Remaining",
                self.minutely_remaining.to_string(),
            ),
            (
                "X-RateLimit-Minutely-Reset",
                self.minutely_reset_ms.to_string(),
            ),
        ];
        for (name, value) in pairs {
            headers.insert(
                name,
                HeaderValue::from_str(&value).expect("digits are a valid header value"),
            );
        }
    }
}

#[derive(Default)]
struct Usage {
    day: i64,
    day_used: u32,
    minute: i64,
    minute_used: u32,
}

#[derive(Default)]
struct ErrorLog {
    at: VecDeque<i64>,
    blocked_until: Option<i64>,
}

/// Which limit a refused call ran into.
pub enum Exceeded {
    Daily,
    Minutely,
}

/// How long the rate-limit "minute" and "day" last (Exact: 60 s and 24 h, the default). Shorter
/// windows compress the clock for a benchmark; resets are still reported in real epoch
/// milliseconds, so a client waits for them as it would for Exact's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateWindows {
    pub minute: Duration,
    pub day: Duration,
}

impl Default for RateWindows {
    fn default() -> Self {
        RateWindows {
            minute: Duration::from_secs(60),
            day: Duration::from_secs(86_400),
        }
    }
}

impl RateWindows {
    fn millis(&self) -> (i64, i64) {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1);
        (ms(self.minute), ms(self.day))
    }
}

#[derive(Default)]
pub struct Limits {
    windows: RateWindows,
    usage: HashMap<(String, i32), Usage>,
    errors: HashMap<(String, i32, String), ErrorLog>,
}

impl Limits {
    pub fn new(windows: RateWindows) -> Self {
        Limits {
            windows,
            ..Limits::default()
        }
    }

    fn usage(&mut self, client: &str, division: i32, now: i64) -> &mut Usage {
        let (minute_ms, day_ms) = self.windows.millis();
        let usage = self
            .usage
            .entry((client.to_string(), division))
            .or_default();
        let (day, minute) = (now.div_euclid(day_ms), now.div_euclid(minute_ms));
        if usage.day != day {
            usage.day = day;
            usage.day_used = 0;
        }
        if usage.minute != minute {
            usage.minute = minute;
            usage.minute_used = 0;
        }
        usage
    }

    /// The headers as they stand, without counting a call.
    pub fn peek(
        &mut self,
        client: &str,
        division: i32,
        now: i64,
        daily: u32,
        minutely: u32,
    ) -> RateHeaders {
        let windows = self.windows;
        let usage = self.usage(client, division, now);
        headers_for(usage, daily, minutely, windows)
    }

    /// Counts one call, or refuses it (nothing counted) when a window is used up.
    pub fn consume(
        &mut self,
        client: &str,
        division: i32,
        now: i64,
        daily: u32,
        minutely: u32,
    ) -> Result<RateHeaders, (RateHeaders, Exceeded)> {
        let windows = self.windows;
        let usage = self.usage(client, division, now);
        if usage.day_used >= daily {
            return Err((
                headers_for(usage, daily, minutely, windows),
                Exceeded::Daily,
            ));
        }
        if usage.minute_used >= minutely {
            return Err((
                headers_for(usage, daily, minutely, windows),
                Exceeded::Minutely,
            ));
        }
        usage.day_used += 1;
        usage.minute_used += 1;
        Ok(headers_for(usage, daily, minutely, windows))
    }

    /// When the endpoint is blocked for this app and division: the moment the block lifts.
    pub fn blocked_until(
        &mut self,
        client: &str,
        division: i32,
        endpoint: &str,
        now: i64,
    ) -> Option<i64> {
        let log = self
            .errors
            .get_mut(&(client.to_string(), division, endpoint.to_string()))?;
        match log.blocked_until {
            Some(until) if until > now => Some(until),
            Some(_) => {
                log.blocked_until = None;
                None
            }
            None => None,
        }
    }

    /// Moves the error-rate hour on by `by_ms`, as if that much time had passed for it.
    pub fn age_errors(&mut self, by_ms: i64) {
        for log in self.errors.values_mut() {
            for at in log.at.iter_mut() {
                *at -= by_ms;
            }
            if let Some(until) = log.blocked_until.as_mut() {
                *until -= by_ms;
            }
        }
    }

    /// Counts an error answer; the 11th within an hour blocks the endpoint for an hour.
    pub fn record_error(&mut self, client: &str, division: i32, endpoint: &str, now: i64) {
        let log = self
            .errors
            .entry((client.to_string(), division, endpoint.to_string()))
            .or_default();
        while log.at.front().is_some_and(|&t| t <= now - HOUR_MS) {
            log.at.pop_front();
        }
        log.at.push_back(now);
        if log.at.len() > MAX_ERRORS_PER_HOUR {
            log.blocked_until = Some(now + HOUR_MS);
            log.at.clear();
        }
    }
}

fn headers_for(usage: &Usage, daily: u32, minutely: u32, windows: RateWindows) -> RateHeaders {
    let (minute_ms, day_ms) = windows.millis();
    RateHeaders {
        daily_limit: daily,
        daily_remaining: daily.saturating_sub(usage.day_used),
        daily_reset_ms: (usage.day + 1) * day_ms,
        minutely_limit: minutely,
        minutely_remaining: minutely.saturating_sub(usage.minute_used),
        minutely_reset_ms: (usage.minute + 1) * minute_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_block_lifts_when_its_hour_has_passed_for_the_tokens() {
        let mut limits = Limits::default();
        for n in 0..=MAX_ERRORS_PER_HOUR as i64 {
            limits.record_error("app", 1, "crm/accounts", 1_000 + n);
        }
        let now = 2_000;
        assert!(limits
            .blocked_until("app", 1, "crm/accounts", now)
            .is_some());
        limits.age_errors(HOUR_MS);
        assert_eq!(limits.blocked_until("app", 1, "crm/accounts", now), None);
        // The aged errors no longer count towards the next block.
        limits.record_error("app", 1, "crm/accounts", now);
        assert_eq!(limits.blocked_until("app", 1, "crm/accounts", now), None);
    }
}
