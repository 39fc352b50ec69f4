//! Exact Online OAuth 2: authorization code, then refresh tokens that rotate: the previous one
//! dies once the new pair is used, so a pair whose answer was lost is replaced by redeeming the
//! previous one again (once Exact's 570 seconds have passed). The `oauth2` crate is not used
//! because Exact sends `expires_in` as a string, and because the rotation must be committed to
//! the store before the new token is first used.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ledgerlink_core::{ConnectorError, ErrorKind};
use ledgerlink_store::audit::{Auditor, Exchange};
use ledgerlink_store::{Store, TokenRecord};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

/// The app registered with Exact (App Center): its id, secret and redirect URI.
#[derive(Clone, Debug, Deserialize)]
pub struct ExactApp {
    pub client_id: String,
    pub client_secret: SecretString,
    pub redirect_uri: String,
}

/// Exact asks apps not to get a new access token more often than every 9.5 minutes.
pub const MIN_REFRESH_INTERVAL_SECS: i64 = 570;

/// The URL a person opens to connect their Exact Online user.
pub fn authorization_url(base_url: &str, app: &ExactApp, state: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("response_type", "code"),
        ("state", state),
    ])
    .expect("plain strings encode");
    format!("{}/api/oauth2/auth?{query}", base_url.trim_end_matches('/'))
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
    /// Exact sends a string of digits; accept a number too.
    expires_in: serde_json::Value,
}

/// Reads the token service's successful answer, received at `now`.
pub fn token_record(text: &str, now: DateTime<Utc>) -> Result<TokenRecord, ConnectorError> {
    let parsed: TokenResponse = serde_json::from_str(text).map_err(|e| {
        ConnectorError::transient(
            "Exact Online's login service answered unexpectedly.",
            format!("token response: {e}"),
        )
    })?;
    let seconds = match &parsed.expires_in {
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .ok_or_else(|| {
        ConnectorError::transient(
            "Exact Online's login service answered unexpectedly.",
            "expires_in is not a number".to_string(),
        )
    })?;
    // Checked: a number of seconds beyond the calendar is no expiry.
    let expires_at = Duration::try_seconds(seconds)
        .and_then(|lifetime| now.checked_add_signed(lifetime))
        .ok_or_else(|| {
            ConnectorError::transient(
                "Exact Online's login service answered unexpectedly.",
                format!("expires_in {seconds} is beyond the calendar"),
            )
        })?;
    Ok(TokenRecord {
        access_token: parsed.access_token,
        refresh_token: parsed.refresh_token,
        expires_at,
        issued_at: now,
    })
}

#[derive(Clone)]
pub(crate) struct Tokens {
    app: ExactApp,
    token_url: String,
    store: Arc<dyn Store>,
    connection_id: String,
    http: reqwest::Client,
    auditor: Auditor,
    /// Single flight: one refresh at a time per connection in this process, and through the
    /// store's lock `exact-oauth:<connection>` one across every process.
    refresh_lock: Arc<Mutex<()>>,
    /// This process's name for the store's lock.
    holder: String,
}

/// How long one process may hold the refresh lock (a token request is cut off well before).
const REFRESH_LOCK_SECS: i64 = 60;
/// How often a process waiting for another's refresh looks again.
const REFRESH_POLL: std::time::Duration = std::time::Duration::from_millis(200);
/// How long a refreshed token pair is held in memory while the ledger cannot store it.
const KEEP_REFRESHED_FOR: std::time::Duration = std::time::Duration::from_secs(120);

/// The store lock under which one process at a time refreshes a connection's tokens; whoever
/// else writes them (`ledgerlink chaos` ageing them) takes it too.
pub fn refresh_lock(connection_id: &str) -> String {
    format!("exact-oauth:{connection_id}")
}

fn auth_error(message: &str, cause: String) -> ConnectorError {
    ConnectorError::new(ErrorKind::Auth, message, cause)
}

/// How long to wait when the token service refused a new access token because the current
/// one is younger than 570 s: the consent stands, only the time is wrong.
fn refused_as_too_soon(error: &str, description: &str) -> Option<std::time::Duration> {
    let description = description.to_ascii_lowercase();
    let too_soon = description.contains("570 seconds") || description.contains("9.5 minutes");
    if error != "invalid_request" || !too_soon {
        return None;
    }
    let full_interval = MIN_REFRESH_INTERVAL_SECS.unsigned_abs();
    let seconds = description
        .split("try again in ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(full_interval);
    Some(std::time::Duration::from_secs(
        seconds.clamp(1, full_interval),
    ))
}

impl Tokens {
    pub(crate) fn new(
        app: ExactApp,
        base_url: &str,
        store: Arc<dyn Store>,
        connection_id: &str,
        http: reqwest::Client,
        auditor: Auditor,
    ) -> Self {
        Tokens {
            app,
            token_url: format!("{}/api/oauth2/token", base_url.trim_end_matches('/')),
            store,
            connection_id: connection_id.to_string(),
            http,
            auditor,
            refresh_lock: Arc::new(Mutex::new(())),
            holder: uuid::Uuid::new_v4().to_string(),
        }
    }

    pub(crate) async fn exchange_code(&self, code: &str) -> Result<(), ConnectorError> {
        let _guard = self.refresh_lock.lock().await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.app.redirect_uri.as_str()),
            ("client_id", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose_secret()),
        ];
        let token = self.request_token(&form).await?;
        self.save(&token).await
    }

    /// A valid access token: the stored one, or a refreshed one when it has (nearly) expired.
    /// `rejected` is the token the API just refused with 401, if any.
    pub(crate) async fn access_token(
        &self,
        rejected: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let current = self.load().await?;
        if rejected.is_none() && current.expires_at - Duration::seconds(30) > Utc::now() {
            return Ok(current.access_token);
        }
        let _guard = self.refresh_lock.lock().await;
        let lock = refresh_lock(&self.connection_id);
        // Another process may be refreshing: wait for its new token rather than spend the
        // same single-use refresh token.
        let current = loop {
            let current = self.load().await?;
            let still_good = current.expires_at - Duration::seconds(30) > Utc::now();
            if still_good && rejected != Some(current.access_token.as_str()) {
                return Ok(current.access_token);
            }
            let until = Utc::now() + Duration::seconds(REFRESH_LOCK_SECS);
            let taken = self
                .store
                .try_lock(&lock, &self.holder, until, Utc::now())
                .await
                .map_err(|e| {
                    ConnectorError::transient("The ledger database is unavailable.", e.to_string())
                })?;
            if taken {
                // Taken: what was stored before may have changed while it was held elsewhere.
                break self.load().await?;
            }
            tokio::time::sleep(REFRESH_POLL).await;
        };
        let refreshed = self.refresh(current, rejected).await;
        if let Err(error) = self.store.unlock(&lock, &self.holder).await {
            // It runs out by itself.
            tracing::warn!(%error, "could not release the OAuth refresh lock");
        }
        refreshed
    }

    /// Spends the refresh token, unless what is stored now is already good.
    async fn refresh(
        &self,
        current: TokenRecord,
        rejected: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let still_good = current.expires_at - Duration::seconds(30) > Utc::now();
        if still_good && rejected != Some(current.access_token.as_str()) {
            return Ok(current.access_token);
        }
        let age = Utc::now() - current.issued_at;
        if age < Duration::seconds(MIN_REFRESH_INTERVAL_SECS) {
            return Err(auth_error(
                "Exact Online refused an access token that is less than 9.5 minutes old. Reconnect Exact Online for this connection.",
                format!("token refused {}s after it was issued", age.num_seconds()),
            ));
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", current.refresh_token.as_str()),
            ("client_id", self.app.client_id.as_str()),
            ("client_secret", self.app.client_secret.expose_secret()),
        ];
        let token = match self.request_token(&form).await {
            Ok(token) => token,
            Err(error) => {
                // Another process (a `sync` beside `serve`) may have used the same refresh
                // token a moment earlier and stored the new pair: use that.
                let stored = self.load().await?;
                if stored.refresh_token != current.refresh_token {
                    return Ok(stored.access_token);
                }
                return Err(error);
            }
        };
        // The old refresh token dies once the new pair is used: commit the new one before
        // using it, and do not let a database that is down for a moment lose it.
        self.save_refreshed(&token).await?;
        Ok(token.access_token)
    }

    /// Saves a token pair Exact just issued, trying again while the ledger is unavailable
    /// (a restart, a failover) for up to [`KEEP_REFRESHED_FOR`].
    async fn save_refreshed(&self, token: &TokenRecord) -> Result<(), ConnectorError> {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(200);
        loop {
            match self.store.save_token(&self.connection_id, token).await {
                Ok(()) => return Ok(()),
                Err(ledgerlink_store::StoreError::Database(error))
                    if started.elapsed() < KEEP_REFRESHED_FOR =>
                {
                    tracing::warn!(%error, "the ledger did not take the refreshed Exact token; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
                Err(error) => return Err(crate::credentials_error(error)),
            }
        }
    }

    async fn load(&self) -> Result<TokenRecord, ConnectorError> {
        self.store
            .token(&self.connection_id)
            .await
            .map_err(crate::credentials_error)?
            .ok_or_else(|| {
                auth_error(
                    "This connection has not been authorised in Exact Online yet. Open /oauth/exact/<connection>/start on `ledgerlink serve` (its start-up message shows the link), then retry.",
                    "no token stored".into(),
                )
            })
    }

    async fn save(&self, token: &TokenRecord) -> Result<(), ConnectorError> {
        self.store
            .save_token(&self.connection_id, token)
            .await
            .map_err(crate::credentials_error)
    }

    async fn request_token(&self, form: &[(&str, &str)]) -> Result<TokenRecord, ConnectorError> {
        let started = std::time::Instant::now();
        let body = serde_urlencoded::to_string(form).expect("plain strings encode");
        let response = self
            .http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.clone())
            .send()
            .await;
        let answer = match response {
            Ok(r) => {
                let status = r.status();
                r.text()
                    .await
                    .map(|text| (status, text))
                    .map_err(|e| format!("token answer broke off (HTTP {status}): {e}"))
            }
            Err(error) => Err(format!("token request failed: {error}")),
        };
        let (status, text) = match answer {
            Ok(answer) => answer,
            Err(cause) => {
                // Exact may have minted a pair we never saw: the refresh token we hold stays
                // redeemable until that pair is used.
                self.audit(&body, None, None, Some(&cause), started).await;
                return Err(ConnectorError::transient(
                    "Exact Online's login service did not answer; ledgerlink will try again.",
                    cause,
                ));
            }
        };
        self.audit(&body, Some(status.as_u16()), Some(&text), None, started)
            .await;
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(ConnectorError::transient(
                "Exact Online's login service is failing; ledgerlink will try again.",
                format!("HTTP {status}"),
            ));
        }
        if !status.is_success() {
            let detail: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let error = detail["error"].as_str().unwrap_or("unknown error");
            let description = detail["error_description"].as_str().unwrap_or_default();
            if let Some(wait) = refused_as_too_soon(error, description) {
                return Err(ConnectorError::new(
                    ErrorKind::Transient {
                        retry_after: Some(wait),
                    },
                    "Exact Online issues a new access token at most once every 9.5 minutes; ledgerlink waits and continues.",
                    format!("HTTP {status}: {error} {description}"),
                ));
            }
            return Err(auth_error(
                "Exact Online no longer accepts this connection's authorisation (it may have been revoked or used elsewhere). Reconnect Exact Online, then retry.",
                format!("HTTP {status}: {error} {description}"),
            ));
        }
        token_record(&text, Utc::now())
    }

    async fn audit(
        &self,
        body: &str,
        status: Option<u16>,
        response: Option<&str>,
        error: Option<&str>,
        started: std::time::Instant,
    ) {
        self.auditor
            .record(Exchange {
                method: "POST",
                url: &self.token_url,
                request_body: Some(body),
                status,
                response_body: response,
                error,
                duration_ms: started.elapsed().as_millis() as i64,
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_answer_reads_with_its_expiry() {
        let now = Utc::now();
        let answer = r#"{"access_token":"a","refresh_token":"r","expires_in":"600"}"#;
        let token = token_record(answer, now).unwrap();
        assert_eq!(token.expires_at, now + Duration::seconds(600));
        // Found by fuzzing: an expiry beyond the calendar panicked.
        let beyond =
            r#"{"access_token":"a","refresh_token":"r","expires_in":"9223372036854775807"}"#;
        assert!(token_record(beyond, now).is_err());
    }

    #[test]
    fn only_a_refusal_for_asking_too_soon_is_waited_out() {
        let too_soon = "The current access token is still valid: a new access token may be \
                        requested at most once every 570 seconds (9.5 minutes). Try again in \
                        270 seconds.";
        assert_eq!(
            refused_as_too_soon("invalid_request", too_soon),
            Some(std::time::Duration::from_secs(270))
        );
        assert_eq!(
            refused_as_too_soon(
                "invalid_request",
                "No new token within 9.5 minutes of the last."
            ),
            Some(std::time::Duration::from_secs(570)),
            "without a number, the whole interval"
        );
        assert_eq!(
            refused_as_too_soon("invalid_grant", "Old refresh token used."),
            None
        );
        assert_eq!(
            refused_as_too_soon(
                "invalid_request",
                "The refresh token expired at 2024-01-01T00:00:00+00:00."
            ),
            None
        );
    }
}
