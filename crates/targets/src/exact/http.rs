//! Requests to Exact Online's REST API: bearer token, JSON, the rate budget per division and
//! one place that decides what each failure means.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ledgerlink_core::{ConnectorError, ErrorKind};
use ledgerlink_store::audit::{Auditor, Exchange};
use ledgerlink_store::{BudgetWindow, Store};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::error_guard::ErrorGuard;
use super::oauth::{ExactApp, Tokens};

/// What the last response's `X-RateLimit-*` headers said (resets are epoch milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateBudget {
    pub daily_limit: u32,
    pub daily_remaining: u32,
    pub daily_reset: DateTime<Utc>,
    pub minutely_limit: u32,
    pub minutely_remaining: u32,
    pub minutely_reset: DateTime<Utc>,
}

impl RateBudget {
    /// Reads the six `X-RateLimit-*` headers of an answer; `None` unless all are there.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateBudget> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        let instant = |name: &str| Utc.timestamp_millis_opt(number(name)?).single();
        Some(RateBudget {
            daily_limit: u32::try_from(number("x-ratelimit-limit")?).ok()?,
            daily_remaining: u32::try_from(number("x-ratelimit-remaining")?).ok()?,
            daily_reset: instant("x-ratelimit-reset")?,
            minutely_limit: u32::try_from(number("x-ratelimit-minutely-limit")?).ok()?,
            minutely_remaining: u32::try_from(number("x-ratelimit-minutely-remaining")?).ok()?,
            minutely_reset: instant("x-ratelimit-minutely-reset")?,
        })
    }

    /// When the next call may be made, if not now.
    fn blocked_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.daily_remaining == 0 && self.daily_reset > now {
            Some(self.daily_reset)
        } else if self.minutely_remaining == 0 && self.minutely_reset > now {
            Some(self.minutely_reset)
        } else {
            None
        }
    }

    /// The windows as the store shares them between processes.
    fn windows(&self) -> [BudgetWindow; 2] {
        [
            BudgetWindow {
                name: "daily".into(),
                remaining: self.daily_remaining.into(),
                resets_at: self.daily_reset,
            },
            BudgetWindow {
                name: "minutely".into(),
                remaining: self.minutely_remaining.into(),
                resets_at: self.minutely_reset,
            },
        ]
    }
}

/// Waits shorter than this are waited out; longer ones go back to the engine, which books
/// other documents (of other companies) meanwhile and takes this one up again at the reset.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub(crate) struct ExactHttp {
    base_url: String,
    http: reqwest::Client,
    tokens: Tokens,
    auditor: Auditor,
    store: Arc<dyn Store>,
    /// The company's API budget in the store, shared by every process that books into it.
    budget_key: String,
    /// What the last answer said, for display.
    budget: Arc<Mutex<Option<RateBudget>>>,
    error_guard: Arc<ErrorGuard>,
}

impl ExactHttp {
    pub(crate) fn new(
        app: ExactApp,
        base_url: &str,
        division: i32,
        store: Arc<dyn Store>,
        connection_id: &str,
        auditor: Auditor,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ConnectorError::config(format!("cannot build an HTTP client: {e}")))?;
        let base_url = base_url.trim_end_matches('/').to_string();
        // Exact counts calls per app and company.
        let budget_key = format!("exact:{}:{division}", app.client_id);
        let tokens = Tokens::new(
            app,
            &base_url,
            store.clone(),
            connection_id,
            http.clone(),
            auditor.clone(),
        );
        Ok(ExactHttp {
            base_url,
            http,
            tokens,
            auditor,
            store,
            budget_key,
            budget: Arc::new(Mutex::new(None)),
            error_guard: Arc::default(),
        })
    }

    pub(crate) fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub(crate) fn budget(&self) -> Option<RateBudget> {
        *self.budget.lock().expect("budget lock")
    }

    /// Every record matching `filter`, following `__next` links.
    pub(crate) async fn get_all(
        &self,
        division: i32,
        entity: &str,
        filter: &str,
        select: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut query = vec![("$select", select.to_string())];
        if !filter.is_empty() {
            query.push(("$filter", filter.to_string()));
        }
        let first = format!(
            "{}/api/v1/{division}/{entity}?{}",
            self.base_url,
            serde_urlencoded::to_string(&query).expect("strings encode")
        );
        let mut next = Some(first);
        let mut results = Vec::new();
        while let Some(url) = next.take() {
            let body = self.send(Method::GET, &url, None).await?;
            let page = &body["d"];
            match page.get("results").and_then(Value::as_array) {
                Some(items) => results.extend(items.iter().cloned()),
                None => {
                    return Err(ConnectorError::transient(
                        "Exact Online answered unexpectedly.",
                        format!("GET {entity}: no d.results"),
                    ))
                }
            }
            next = page
                .get("__next")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Ok(results)
    }

    /// The user the tokens belong to (`current/Me`, outside any division).
    pub(crate) async fn current_user(&self) -> Result<Value, ConnectorError> {
        let url = format!(
            "{}/api/v1/current/Me?$select=UserID,FullName,CurrentDivision",
            self.base_url
        );
        let body = self.send(Method::GET, &url, None).await?;
        body["d"]["results"].get(0).cloned().ok_or_else(|| {
            ConnectorError::transient(
                "Exact Online answered unexpectedly.",
                "GET current/Me: no d.results[0]",
            )
        })
    }

    /// Creates a record; returns it as Exact stored it (`Prefer: return=representation`).
    pub(crate) async fn post(
        &self,
        division: i32,
        entity: &str,
        body: &Value,
    ) -> Result<Value, ConnectorError> {
        let url = format!("{}/api/v1/{division}/{entity}", self.base_url);
        let created = self.send(Method::POST, &url, Some(body)).await?;
        Ok(created.get("d").cloned().unwrap_or(created))
    }

    /// Updates a record's fields (master data only: a booked entry is never changed).
    pub(crate) async fn put(
        &self,
        division: i32,
        entity: &str,
        id: &str,
        body: &Value,
    ) -> Result<(), ConnectorError> {
        let url = format!("{}/api/v1/{division}/{entity}(guid'{id}')", self.base_url);
        self.send(Method::PUT, &url, Some(body)).await.map(drop)
    }

    /// Takes a call from the company's budget, which every process shares through the
    /// store; waits for the minute to turn, or gives the wait back to the engine when longer.
    async fn wait_for_budget(&self) -> Result<(), ConnectorError> {
        loop {
            let blocked = self
                .store
                .take_call(&self.budget_key, Utc::now())
                .await
                .map_err(|e| {
                    ConnectorError::transient("The ledger database is unavailable.", e.to_string())
                })?;
            let Some(until) = blocked else {
                return Ok(());
            };
            let wait = (until - Utc::now()).to_std().unwrap_or_default();
            if wait > MAX_INLINE_WAIT {
                return Err(ConnectorError::new(
                    ErrorKind::RateLimited { until },
                    format!("The Exact Online API budget for this company is used up until {until}; ledgerlink continues then."),
                    "rate limit reached",
                ));
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, ConnectorError> {
        let mut rejected_token: Option<String> = None;
        loop {
            self.error_guard.check(url, Utc::now())?;
            self.wait_for_budget().await?;
            let token = self.tokens.access_token(rejected_token.as_deref()).await?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header("accept", "application/json");
            if let Some(body) = body {
                request = request.header("prefer", "return=representation").json(body);
            }
            let started = Instant::now();
            let request_text = body.map(Value::to_string);
            let outcome = request.send().await;
            let response = match outcome {
                Ok(response) => response,
                Err(error) => {
                    let cause = format!("{method} {url}: {error}");
                    self.audit(
                        &method,
                        url,
                        request_text.as_deref(),
                        None,
                        None,
                        Some(&cause),
                        started,
                    )
                    .await;
                    // A request that never connected was not applied; any other failure of a
                    // write leaves its outcome unknown.
                    return Err(if method == Method::GET || error.is_connect() {
                        ConnectorError::transient(
                            "Exact Online did not answer; ledgerlink will try again.",
                            cause,
                        )
                    } else {
                        ConnectorError::uncertain(cause)
                    });
                }
            };
            let status = response.status();
            if let Some(budget) = RateBudget::from_headers(response.headers()) {
                *self.budget.lock().expect("budget lock") = Some(budget);
                if let Err(error) = self
                    .store
                    .set_budget(&self.budget_key, &budget.windows())
                    .await
                {
                    // The next answer says it again; the call itself went through.
                    tracing::warn!(%error, "could not record Exact's rate budget");
                }
            }
            let text = response.text().await;
            let text = match text {
                Ok(text) => text,
                Err(error) => {
                    let cause = format!("{method} {url}: HTTP {status}, body broke off: {error}");
                    self.audit(
                        &method,
                        url,
                        request_text.as_deref(),
                        Some(status),
                        None,
                        Some(&cause),
                        started,
                    )
                    .await;
                    return Err(if method == Method::GET {
                        ConnectorError::transient(
                            "Exact Online's answer broke off; ledgerlink will try again.",
                            cause,
                        )
                    } else {
                        ConnectorError::uncertain(cause)
                    });
                }
            };
            self.audit(
                &method,
                url,
                request_text.as_deref(),
                Some(status),
                Some(&text),
                None,
                started,
            )
            .await;
            self.error_guard.record(url, status.as_u16(), Utc::now());
            if status == StatusCode::UNAUTHORIZED && rejected_token.is_none() {
                // Not applied; refresh once and try again.
                rejected_token = Some(token);
                continue;
            }
            return self.interpret(&method, url, status, &text);
        }
    }

    fn interpret(
        &self,
        method: &Method,
        url: &str,
        status: StatusCode,
        text: &str,
    ) -> Result<Value, ConnectorError> {
        let cause = |detail: &str| format!("{method} {url}: HTTP {status}: {detail}");
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(text).map_err(|e| {
                if *method == Method::GET {
                    ConnectorError::transient(
                        "Exact Online answered with malformed JSON; ledgerlink will try again.",
                        cause(&e.to_string()),
                    )
                } else {
                    ConnectorError::uncertain(cause(&format!("malformed body after a write: {e}")))
                }
            });
        }
        let message = exact_message(text);
        match status.as_u16() {
            429 => {
                let until = self
                    .budget()
                    .and_then(|b| b.blocked_until(Utc::now()))
                    .unwrap_or_else(|| Utc::now() + chrono::Duration::seconds(60));
                Err(ConnectorError::new(
                    ErrorKind::RateLimited { until },
                    "Exact Online's rate limit for this company is reached; ledgerlink waits and continues.",
                    cause(&message),
                ))
            }
            401 => Err(ConnectorError::new(
                ErrorKind::Auth,
                "Exact Online refused this connection's access. Reconnect Exact Online, then retry.",
                cause(&message),
            )),
            403 => Err(ConnectorError::new(
                ErrorKind::Auth,
                format!("The Exact Online user lacks a right this booking needs: {message} Ask the administrator of the Exact company to grant it."),
                cause(&message),
            )),
            500..=599 if *method != Method::GET => Err(ConnectorError::uncertain(cause(&message))),
            500..=599 => Err(ConnectorError::transient("Exact Online is failing; ledgerlink will try again.", cause(&message))),
            404 => Err(ConnectorError::new(ErrorKind::NotFound, format!("Exact Online: {message}"), cause(&message))),
            _ => Err(ConnectorError::rejected(format!("Exact Online refused the booking: {message}"), cause(&message))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        method: &Method,
        url: &str,
        request: Option<&str>,
        status: Option<StatusCode>,
        response: Option<&str>,
        error: Option<&str>,
        started: Instant,
    ) {
        self.auditor
            .record(Exchange {
                method: method.as_str(),
                url,
                request_body: request,
                status: status.map(|s| s.as_u16()),
                response_body: response,
                error,
                duration_ms: started.elapsed().as_millis() as i64,
            })
            .await;
    }
}

/// The reason in an error answer: Exact's errors read `{"error": {"message": {"value": "..."}}}`.
pub fn exact_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["error"]["message"]["value"].as_str().map(str::to_string))
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| "no reason given".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_six_headers_in_epoch_milliseconds() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "4766"),
            ("x-ratelimit-reset", "1683936000000"),
            ("x-ratelimit-minutely-limit", "60"),
            ("x-ratelimit-minutely-remaining", "0"),
            ("x-ratelimit-minutely-reset", "1683879540000"),
        ] {
            headers.insert(name, value.parse().unwrap());
        }
        let budget = RateBudget::from_headers(&headers).unwrap();
        assert_eq!(budget.daily_remaining, 4766);
        assert_eq!(
            budget.minutely_reset,
            Utc.timestamp_millis_opt(1683879540000).unwrap()
        );
        let before_reset = Utc.timestamp_millis_opt(1683879500000).unwrap();
        assert_eq!(
            budget.blocked_until(before_reset),
            Some(budget.minutely_reset)
        );
        assert_eq!(budget.blocked_until(budget.minutely_reset), None);
    }

    #[test]
    fn error_bodies_become_readable_reasons() {
        let body = r#"{"error":{"code":"","message":{"lang":"","value":"Grootboekrekening bestaat niet: 9999"}}}"#;
        assert_eq!(exact_message(body), "Grootboekrekening bestaat niet: 9999");
        assert_eq!(exact_message("<html>"), "no reason given");
    }
}
