//! OAuth 2.0 authorization-code flow as Exact runs it: `/api/oauth2/auth` hands out a code (valid
//! three minutes, single use), `/api/oauth2/token` trades it — or a refresh token — for a bearer
//! access token. Refresh tokens rotate: each refresh returns a new pair, and the refresh token
//! it was minted from stays redeemable until that new pair is used — its access token presented
//! to the API or its refresh token redeemed — then it is dead ("Old refresh token used."). So a
//! client whose token answer was lost can redeem its refresh token again; that mints a fresh
//! pair and the unused one dies. A new access token is refused while the grant's current one is
//! younger than 570 s (Exact's "no new token more often than every 9.5 minutes").

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde_json::json;
use uuid::Uuid;

use super::ExactSandbox;
use crate::faults::{broken_response, delay, Fault};

const CODE_TTL_MS: i64 = 3 * 60_000;
/// Minimum age of the current access token before a refresh is allowed.
pub const MIN_REFRESH_INTERVAL_MS: i64 = 570_000;
/// Refresh tokens that are not used expire after 30 days.
const REFRESH_TTL_MS: i64 = 30 * 86_400_000;

fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

struct IssuedCode {
    redirect_uri: String,
    issued_ms: i64,
    /// The Exact user who consented.
    user: Uuid,
}

/// One consent of the user to the app: a chain of access and refresh tokens.
struct Grant {
    user: Uuid,
    /// The latest pair.
    access_token: String,
    access_issued_ms: i64,
    refresh_token: String,
    refresh_issued_ms: i64,
    /// The refresh token (and its issue time) the latest pair was minted from, while that pair
    /// is unused: the client may never have received it.
    unconfirmed_previous: Option<(String, i64)>,
}

struct IssuedAccess {
    grant: usize,
    expires_ms: i64,
    /// Minted but replaced before it was ever used.
    revoked: bool,
}

/// A token-endpoint failure: `{"error": …, "error_description": …}` with status 400.
pub struct OAuthError {
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            error,
            description: description.into(),
        }
    }
}

pub struct Tokens {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
}

#[derive(Default)]
pub struct AuthState {
    codes: HashMap<String, IssuedCode>,
    grants: Vec<Grant>,
    access: HashMap<String, IssuedAccess>,
    /// every refresh token ever issued → its grant (only the grant's latest one, and the one
    /// before while the latest pair is unused, are redeemable)
    refresh: HashMap<String, usize>,
}

impl AuthState {
    pub fn issue_code(&mut self, redirect_uri: &str, now: i64, user: Uuid) -> String {
        let code = random_token(32);
        self.codes.insert(
            code.clone(),
            IssuedCode {
                redirect_uri: redirect_uri.to_string(),
                issued_ms: now,
                user,
            },
        );
        code
    }

    /// A new pair for `grant`, minted from `redeemed` (a refresh token and its issue time).
    fn mint(
        &mut self,
        grant: usize,
        redeemed: Option<(String, i64)>,
        now: i64,
        lifetime_secs: i64,
    ) -> Tokens {
        let access_token = random_token(48);
        let refresh_token = random_token(48);
        self.access.insert(
            access_token.clone(),
            IssuedAccess {
                grant,
                expires_ms: now + lifetime_secs * 1000,
                revoked: false,
            },
        );
        self.refresh.insert(refresh_token.clone(), grant);
        let g = &mut self.grants[grant];
        g.access_token = access_token.clone();
        g.access_issued_ms = now;
        g.refresh_token = refresh_token.clone();
        g.refresh_issued_ms = now;
        g.unconfirmed_previous = redeemed;
        Tokens {
            access_token,
            refresh_token,
            expires_in: lifetime_secs,
        }
    }

    pub fn exchange_code(
        &mut self,
        code: &str,
        redirect_uri: Option<&str>,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<Tokens, OAuthError> {
        let issued = self.codes.remove(code).ok_or_else(|| {
            OAuthError::new(
                "invalid_grant",
                "The authorization code is invalid or has already been used.",
            )
        })?;
        if now - issued.issued_ms > CODE_TTL_MS {
            return Err(OAuthError::new(
                "invalid_grant",
                "The authorization code has expired (codes are valid for 3 minutes).",
            ));
        }
        match redirect_uri {
            None => {
                return Err(OAuthError::new(
                    "invalid_request",
                    "The redirect_uri parameter is missing.",
                ))
            }
            Some(uri) if uri != issued.redirect_uri => {
                return Err(OAuthError::new(
                    "invalid_grant",
                    "The redirect_uri does not match the one used in the authorization request.",
                ))
            }
            Some(_) => {}
        }
        self.grants.push(Grant {
            user: issued.user,
            access_token: String::new(),
            access_issued_ms: now,
            refresh_token: String::new(),
            refresh_issued_ms: now,
            unconfirmed_previous: None,
        });
        Ok(self.mint(self.grants.len() - 1, None, now, lifetime_secs))
    }

    pub fn refresh(
        &mut self,
        refresh_token: &str,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<Tokens, OAuthError> {
        let grant = *self
            .refresh
            .get(refresh_token)
            .ok_or_else(|| OAuthError::new("invalid_grant", "Invalid refresh token."))?;
        let g = &self.grants[grant];
        let is_latest = g.refresh_token == refresh_token;
        let issued_ms = match &g.unconfirmed_previous {
            _ if is_latest => g.refresh_issued_ms,
            Some((previous, issued_ms)) if previous == refresh_token => *issued_ms,
            _ => return Err(OAuthError::new("invalid_grant", "Old refresh token used.")),
        };
        if now - issued_ms > REFRESH_TTL_MS {
            let expired = chrono::DateTime::from_timestamp_millis(issued_ms + REFRESH_TTL_MS)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            return Err(OAuthError::new(
                "invalid_request",
                format!("The refresh token expired at {expired}."),
            ));
        }
        let age = now - g.access_issued_ms;
        if age < MIN_REFRESH_INTERVAL_MS {
            let wait = (MIN_REFRESH_INTERVAL_MS - age + 999) / 1000;
            return Err(OAuthError::new(
                "invalid_request",
                format!(
                    "The current access token is still valid: a new access token may be \
                     requested at most once every 570 seconds (9.5 minutes). Try again in \
                     {wait} seconds."
                ),
            ));
        }
        if !is_latest {
            // The unused pair is replaced: it never works.
            let unused = g.access_token.clone();
            if let Some(access) = self.access.get_mut(&unused) {
                access.revoked = true;
            }
        }
        let redeemed = Some((refresh_token.to_string(), issued_ms));
        Ok(self.mint(grant, redeemed, now, lifetime_secs))
    }

    /// Makes every token older by `by_ms` (time passing for the tokens only, not for the rate
    /// limits): access tokens expire, refreshes become allowed.
    pub fn age(&mut self, by_ms: i64) {
        for grant in &mut self.grants {
            grant.access_issued_ms -= by_ms;
            grant.refresh_issued_ms -= by_ms;
            if let Some((_, issued_ms)) = &mut grant.unconfirmed_previous {
                *issued_ms -= by_ms;
            }
        }
        for access in self.access.values_mut() {
            access.expires_ms -= by_ms;
        }
    }

    /// Every access and refresh token ever issued, expired and used ones included.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.access
            .keys()
            .chain(self.refresh.keys())
            .cloned()
            .collect()
    }

    /// The Exact user whose consent an access token was issued under.
    pub fn user_of(&self, token: &str) -> Option<Uuid> {
        self.grant_of(token).map(|grant| self.grants[grant].user)
    }

    /// The consent an access token was issued under (expired or not).
    pub fn grant_of(&self, token: &str) -> Option<usize> {
        self.access.get(token).map(|access| access.grant)
    }

    /// `Err` carries the reason a bearer token is refused. Presenting a grant's latest access
    /// token uses its pair: the refresh token it was minted from is dead from then on.
    pub fn check_access(&mut self, token: &str, now: i64) -> Result<(), &'static str> {
        let access = match self.access.get(token) {
            Some(access) if !access.revoked => access,
            _ => return Err("The access token is invalid."),
        };
        let grant = &mut self.grants[access.grant];
        if grant.access_token == token {
            grant.unconfirmed_previous = None;
        }
        if access.expires_ms <= now {
            return Err("The access token has expired.");
        }
        Ok(())
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn error_page(message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><title>Exact Online</title></head><body>\
         <h1>Error</h1><p>{}</p></body></html>",
        escape_html(message)
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

fn redirect(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// Appends `pairs` to the app's redirect URI.
fn redirect_with(redirect_uri: &str, pairs: &[(&str, Option<&str>)]) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in pairs {
                    if let Some(value) = value {
                        query.append_pair(name, value);
                    }
                }
            }
            redirect(url.as_str())
        }
        Err(_) => error_page("The redirect_uri is not a valid URL."),
    }
}

impl ExactSandbox {
    /// Validates the app's authorization request; `Some` is the page to show instead.
    fn reject_authorize(&self, params: &HashMap<String, String>) -> Option<Response> {
        let config = self.config();
        if params.get("client_id").map(String::as_str) != Some(config.client_id.as_str()) {
            return Some(error_page(
                "The client_id is unknown: this app is not registered.",
            ));
        }
        if params.get("redirect_uri").map(String::as_str) != Some(config.redirect_uri.as_str()) {
            return Some(error_page(
                "The redirect_uri does not match the redirect URI registered for this app.",
            ));
        }
        if params.get("response_type").map(String::as_str) != Some("code") {
            let state = params.get("state").map(String::as_str);
            return Some(redirect_with(
                &config.redirect_uri,
                &[
                    ("error", Some("unsupported_response_type")),
                    ("state", state),
                ],
            ));
        }
        None
    }

    fn approve(&self, params: &HashMap<String, String>) -> Response {
        let code = self.issue_authorization_code();
        redirect_with(
            &self.config().redirect_uri,
            &[
                ("code", Some(&code)),
                ("state", params.get("state").map(String::as_str)),
            ],
        )
    }
}

/// `GET /api/oauth2/auth`: redirects at once with a code (auto-approve) or shows a consent page.
pub async fn authorize(
    State(sandbox): State<ExactSandbox>,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let response = match sandbox.reject_authorize(&params) {
        Some(page) => page,
        None if sandbox.config().auto_approve => sandbox.approve(&params),
        None => {
            let hidden: String = ["client_id", "redirect_uri", "response_type", "state"]
                .iter()
                .filter_map(|name| params.get(*name).map(|v| (name, v)))
                .map(|(name, value)| {
                    format!(
                        "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                        escape_html(value)
                    )
                })
                .collect();
            Html(format!(
                "<!DOCTYPE html><html><head><title>Exact Online - Authorize</title></head><body>\
                 <h1>Exact Online (sandbox)</h1>\
                 <p>The app <strong>{}</strong> asks for access to your Exact Online divisions.</p>\
                 <form method=\"post\" action=\"/api/oauth2/auth\">{hidden}\
                 <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button> \
                 <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
                 </form></body></html>",
                escape_html(&sandbox.config().client_id)
            ))
            .into_response()
        }
    };
    sandbox.record_plain("GET", &uri, response.status());
    response
}

/// `POST /api/oauth2/auth`: the consent form's answer.
pub async fn consent(State(sandbox): State<ExactSandbox>, uri: Uri, body: Bytes) -> Response {
    let params: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let response = match sandbox.reject_authorize(&params) {
        Some(page) => page,
        None if params.get("decision").map(String::as_str) == Some("approve") => {
            sandbox.approve(&params)
        }
        None => redirect_with(
            &sandbox.config().redirect_uri,
            &[
                ("error", Some("access_denied")),
                ("state", params.get("state").map(String::as_str)),
            ],
        ),
    };
    sandbox.record_plain("POST", &uri, response.status());
    response
}

fn token_error(error: OAuthError) -> Response {
    token_failure(StatusCode::BAD_REQUEST, error)
}

fn token_failure(status: StatusCode, error: OAuthError) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": error.error, "error_description": error.description })),
    )
        .into_response()
}

/// `POST /api/oauth2/token` (form-encoded), with the faults armed for it: those that apply
/// the write mint the pair and then fail to deliver it.
pub async fn token(
    State(sandbox): State<ExactSandbox>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = sandbox.faults().take("POST", uri.path());
    let response = match &fault {
        Some(Fault::ServerError) => token_failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            OAuthError::new(
                "server_error",
                "An internal error occurred (injected by the sandbox); no token was issued.",
            ),
        ),
        Some(Fault::TooManyRequests) => token_failure(
            StatusCode::TOO_MANY_REQUESTS,
            OAuthError::new(
                "temporarily_unavailable",
                "Too many requests (injected by the sandbox); no token was issued.",
            ),
        ),
        _ => token_response(&sandbox, &headers, &body),
    };
    let response = match fault {
        Some(Fault::ServerErrorAfterApply) => token_failure(
            StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::new(
                "temporarily_unavailable",
                "The service is temporarily unavailable (injected by the sandbox after the \
                 request was applied).",
            ),
        ),
        Some(Fault::Slow { millis }) => {
            delay(millis).await;
            response
        }
        Some(Fault::LoseResponse) => broken_response(response.status()),
        _ => response,
    };
    sandbox.record_plain("POST", &uri, response.status());
    response
}

fn token_response(sandbox: &ExactSandbox, headers: &HeaderMap, body: &[u8]) -> Response {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return token_error(OAuthError::new(
            "invalid_request",
            "The token request must be sent as application/x-www-form-urlencoded.",
        ));
    }
    let params: HashMap<String, String> = match serde_urlencoded::from_bytes(body) {
        Ok(p) => p,
        Err(_) => {
            return token_error(OAuthError::new(
                "invalid_request",
                "The request body is not valid form data.",
            ))
        }
    };
    let config = sandbox.config();
    let param = |name: &str| params.get(name).map(String::as_str);
    if param("client_id") != Some(config.client_id.as_str())
        || param("client_secret") != Some(config.client_secret.as_str())
    {
        return token_error(OAuthError::new(
            "invalid_client",
            "Client authentication failed: unknown client_id or wrong client_secret.",
        ));
    }
    let now = sandbox.now_ms();
    let lifetime = config.access_token_secs;
    let mut auth = sandbox.inner.auth.lock().unwrap();
    let result = match param("grant_type") {
        Some("authorization_code") => match param("code") {
            Some(code) => auth.exchange_code(code, param("redirect_uri"), now, lifetime),
            None => Err(OAuthError::new(
                "invalid_request",
                "The code parameter is missing.",
            )),
        },
        Some("refresh_token") => match param("refresh_token") {
            Some(token) => auth.refresh(token, now, lifetime),
            None => Err(OAuthError::new(
                "invalid_request",
                "The refresh_token parameter is missing.",
            )),
        },
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "Only authorization_code and refresh_token grants are supported.",
        )),
        None => Err(OAuthError::new(
            "invalid_request",
            "The grant_type parameter is missing.",
        )),
    };
    drop(auth);
    match result {
        Ok(tokens) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({
                "access_token": tokens.access_token,
                "token_type": "bearer",
                "expires_in": tokens.expires_in.to_string(),
                "refresh_token": tokens.refresh_token,
            })),
        )
            .into_response(),
        Err(error) => token_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;
    const LIFETIME_SECS: i64 = 600;
    /// Long enough for the 570-second rule to allow the next refresh.
    const PAST_MIN_INTERVAL_MS: i64 = MIN_REFRESH_INTERVAL_MS + 1_000;

    fn connected() -> (AuthState, Tokens) {
        let mut auth = AuthState::default();
        let code = auth.issue_code("http://app/cb", NOW, Uuid::new_v4());
        let tokens = auth
            .exchange_code(&code, Some("http://app/cb"), NOW, LIFETIME_SECS)
            .unwrap_or_else(|e| panic!("{}", e.description));
        (auth, tokens)
    }

    fn refresh(auth: &mut AuthState, refresh_token: &str) -> Result<Tokens, OAuthError> {
        auth.refresh(refresh_token, NOW, LIFETIME_SECS)
    }

    fn refreshed(auth: &mut AuthState, refresh_token: &str) -> Tokens {
        refresh(auth, refresh_token).unwrap_or_else(|e| panic!("{}", e.description))
    }

    fn assert_old(result: Result<Tokens, OAuthError>) {
        let error = result.err().expect("refused");
        assert_eq!(
            (error.error, error.description.as_str()),
            ("invalid_grant", "Old refresh token used.")
        );
    }

    #[test]
    fn the_previous_refresh_token_works_while_the_new_pair_is_unused() {
        let (mut auth, first) = connected();
        auth.age(PAST_MIN_INTERVAL_MS);
        // The client never receives this pair.
        let lost = refreshed(&mut auth, &first.refresh_token);
        auth.age(PAST_MIN_INTERVAL_MS);
        let retried = refreshed(&mut auth, &first.refresh_token);
        assert!(auth.check_access(&retried.access_token, NOW).is_ok());
        // The pair it replaced is dead.
        assert_eq!(
            auth.check_access(&lost.access_token, NOW),
            Err("The access token is invalid.")
        );
        auth.age(PAST_MIN_INTERVAL_MS);
        assert_old(refresh(&mut auth, &lost.refresh_token));
    }

    #[test]
    fn the_previous_refresh_token_dies_when_the_new_access_token_is_used() {
        let (mut auth, first) = connected();
        auth.age(PAST_MIN_INTERVAL_MS);
        let second = refreshed(&mut auth, &first.refresh_token);
        assert!(auth.check_access(&second.access_token, NOW).is_ok());
        auth.age(PAST_MIN_INTERVAL_MS);
        assert_old(refresh(&mut auth, &first.refresh_token));
        refreshed(&mut auth, &second.refresh_token);
    }

    #[test]
    fn an_expired_new_access_token_presented_also_uses_its_pair() {
        let (mut auth, first) = connected();
        auth.age(PAST_MIN_INTERVAL_MS);
        let second = refreshed(&mut auth, &first.refresh_token);
        auth.age(LIFETIME_SECS * 1000);
        assert!(auth.check_access(&second.access_token, NOW).is_err());
        assert_old(refresh(&mut auth, &first.refresh_token));
    }

    #[test]
    fn the_previous_refresh_token_dies_when_the_new_refresh_token_is_used() {
        let (mut auth, first) = connected();
        auth.age(PAST_MIN_INTERVAL_MS);
        let second = refreshed(&mut auth, &first.refresh_token);
        auth.age(PAST_MIN_INTERVAL_MS);
        let third = refreshed(&mut auth, &second.refresh_token);
        auth.age(PAST_MIN_INTERVAL_MS);
        assert_old(refresh(&mut auth, &first.refresh_token));
        // One step back stays possible while the third pair is unused.
        let retried = refreshed(&mut auth, &second.refresh_token);
        assert_ne!(retried.refresh_token, third.refresh_token);
    }

    #[test]
    fn the_570_second_rule_applies_to_the_previous_refresh_token_too() {
        let (mut auth, first) = connected();
        auth.age(PAST_MIN_INTERVAL_MS);
        refreshed(&mut auth, &first.refresh_token);
        let error = refresh(&mut auth, &first.refresh_token)
            .err()
            .expect("too soon");
        assert_eq!(error.error, "invalid_request");
        assert!(
            error.description.ends_with("Try again in 570 seconds."),
            "{}",
            error.description
        );
        auth.age(300_000);
        let error = refresh(&mut auth, &first.refresh_token)
            .err()
            .expect("still too soon");
        assert!(error.description.ends_with("Try again in 270 seconds."));
        auth.age(270_000);
        refreshed(&mut auth, &first.refresh_token);
    }

    #[test]
    fn the_previous_refresh_token_expires_after_30_days() {
        let (mut auth, first) = connected();
        auth.age(PAST_MIN_INTERVAL_MS);
        refreshed(&mut auth, &first.refresh_token);
        auth.age(REFRESH_TTL_MS);
        let error = refresh(&mut auth, &first.refresh_token)
            .err()
            .expect("expired");
        assert!(
            error.description.contains("expired"),
            "{}",
            error.description
        );
    }
}
