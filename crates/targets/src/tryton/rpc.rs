//! Tryton's JSON-RPC: the session (kept in the store, so every process of a connection shares
//! one login), the user's context on every call, warnings confirmed, and the one place that
//! decides what each failure means.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::Utc;
use ledgerlink_core::{ConnectorError, ErrorKind};
use ledgerlink_store::audit::{Auditor, Exchange};
use ledgerlink_store::{Store, TokenRecord};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::sync::{Mutex, OnceCell};

const LOGIN: &str = "common.db.login";
const SKIP_WARNING: &str = "model.res.user.warning.skip";
/// Tryton asks to confirm one warning at a time; more than this on one call is a loop.
const MAX_WARNINGS: usize = 5;
/// Tryton's default inactivity timeout. The server extends a session on every use and a 401
/// says when it has ended, so this is only what the stored record shows.
const SESSION_TIMEOUT: chrono::Duration = chrono::Duration::seconds(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Changes nothing: any failure can be retried.
    Read,
    /// Changes the books: a failure after sending leaves the outcome unknown.
    Write,
}

/// How a call failed, before [`TrytonRpc::error_for`] decides what that means.
enum Failure {
    /// HTTP 200 with `{"error": [kind, args]}`; Tryton rolled the call's transaction back.
    Fault { kind: String, args: Value },
    /// Any status but 200 (Tryton's bodies for these are HTML).
    Status(StatusCode),
    /// Nothing reached Tryton (connection refused, unknown host).
    NotSent(String),
    /// Sent, but the answer timed out, broke off or is not JSON-RPC.
    Lost(String),
}

#[derive(Clone)]
pub(crate) struct TrytonRpc {
    http: reqwest::Client,
    endpoint: String,
    database: String,
    username: String,
    password: SecretString,
    store: Arc<dyn Store>,
    connection_id: String,
    auditor: Auditor,
    next_id: Arc<AtomicU64>,
    /// Single flight: one login at a time per connection in this process.
    login_lock: Arc<Mutex<()>>,
    /// The user's preferences (company, language, ...), sent as every model call's context.
    context: Arc<OnceCell<Value>>,
}

impl TrytonRpc {
    pub(crate) fn new(
        settings: &super::TrytonSettings,
        store: Arc<dyn Store>,
        connection_id: &str,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let mut endpoint = url::Url::parse(&settings.url).map_err(|e| {
            ConnectorError::config(format!(
                "The Tryton `url` `{}` is not a URL ({e}). Write it as http://host:8000, then retry.",
                settings.url
            ))
        })?;
        if settings.database.trim().is_empty() {
            return Err(ConnectorError::config(
                "The Tryton `database` is empty. Set it to the database name Tryton serves, then retry.",
            ));
        }
        endpoint
            .path_segments_mut()
            .map_err(|_| {
                ConnectorError::config(format!(
                    "The Tryton `url` `{}` cannot take a path. Write it as http://host:8000, then retry.",
                    settings.url
                ))
            })?
            .pop_if_empty()
            .extend([settings.database.as_str(), "rpc", ""]);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ConnectorError::config(format!("cannot build an HTTP client: {e}")))?;
        Ok(TrytonRpc {
            http,
            endpoint: endpoint.to_string(),
            database: settings.database.clone(),
            username: settings.username.clone(),
            password: settings.password.clone(),
            auditor: Auditor::new(store.clone(), connection_id, "tryton"),
            store,
            connection_id: connection_id.to_string(),
            next_id: Arc::new(AtomicU64::new(1)),
            login_lock: Arc::new(Mutex::new(())),
            context: Arc::new(OnceCell::new()),
        })
    }

    /// `model.<model>.<method>` with the user's context as the last parameter.
    pub(crate) async fn execute(
        &self,
        model: &str,
        method: &str,
        mut args: Vec<Value>,
        effect: Effect,
    ) -> Result<Value, ConnectorError> {
        args.push(self.context().await?);
        self.call(
            &format!("model.{model}.{method}"),
            Value::Array(args),
            effect,
        )
        .await
    }

    /// Every record matching `domain`, oldest first.
    pub(crate) async fn search_read(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
    ) -> Result<Vec<Value>, ConnectorError> {
        let args = vec![
            domain,
            json!(0),
            Value::Null,
            json!([["id", "ASC"]]),
            json!(fields),
        ];
        let found = self
            .execute(model, "search_read", args, Effect::Read)
            .await?;
        records(model, found)
    }

    pub(crate) async fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
    ) -> Result<Vec<Value>, ConnectorError> {
        let found = self
            .execute(model, "read", vec![json!(ids), json!(fields)], Effect::Read)
            .await?;
        records(model, found)
    }

    /// Creates one record; returns its id.
    pub(crate) async fn create(&self, model: &str, values: Value) -> Result<i64, ConnectorError> {
        let ids = self
            .execute(model, "create", vec![json!([values])], Effect::Write)
            .await?;
        ids.get(0).and_then(Value::as_i64).ok_or_else(|| {
            ConnectorError::uncertain(format!("{model}.create answered without an id: {ids}"))
        })
    }

    pub(crate) async fn write(
        &self,
        model: &str,
        ids: &[i64],
        values: Value,
    ) -> Result<(), ConnectorError> {
        self.execute(model, "write", vec![json!(ids), values], Effect::Write)
            .await
            .map(drop)
    }

    /// A method taking only ids: `delete` and workflow buttons such as `post` or `draft`.
    pub(crate) async fn on_ids(
        &self,
        model: &str,
        method: &str,
        ids: &[i64],
    ) -> Result<(), ConnectorError> {
        self.execute(model, method, vec![json!(ids)], Effect::Write)
            .await
            .map(drop)
    }

    /// What ledgerlink remembers about a record of this database (e.g. a party it created).
    pub(crate) async fn remembered(
        &self,
        entity: &str,
        key: &str,
    ) -> Result<Option<Value>, ConnectorError> {
        self.store
            .cache_get(&self.connection_id, &self.database, entity, key)
            .await
            .map_err(store_unavailable)
    }

    pub(crate) async fn remember(
        &self,
        entity: &str,
        key: &str,
        value: &Value,
    ) -> Result<(), ConnectorError> {
        self.store
            .cache_put(
                &self.connection_id,
                &self.database,
                entity,
                key,
                value,
                chrono::Utc::now(),
            )
            .await
            .map_err(store_unavailable)
    }

    /// The company the connector's user books in (from its preferences).
    pub(crate) async fn company(&self) -> Result<i64, ConnectorError> {
        self.context().await?["company"].as_i64().ok_or_else(|| {
            ConnectorError::config(format!(
                "The Tryton user `{}` has no current company. Set one in the user's preferences in Tryton, then retry.",
                self.username
            ))
        })
    }

    async fn context(&self) -> Result<Value, ConnectorError> {
        self.context
            .get_or_try_init(|| {
                self.call(
                    "model.res.user.get_preferences",
                    json!([true, {}]),
                    Effect::Read,
                )
            })
            .await
            .cloned()
    }

    /// Calls `method` as the connector's user: logs in again (once) when Tryton refuses the
    /// session, and confirms warnings as the Tryton client does when a person clicks "Yes".
    async fn call(
        &self,
        method: &str,
        params: Value,
        effect: Effect,
    ) -> Result<Value, ConnectorError> {
        let mut refused: Option<String> = None;
        let mut warnings = 0;
        loop {
            let session = self.session(refused.as_deref()).await?;
            let failure = match self.send(method, &params, Some(&session)).await {
                Ok(result) => return Ok(result),
                Err(failure) => failure,
            };
            match failure {
                // An expired or unknown session: the call was not run.
                Failure::Status(StatusCode::UNAUTHORIZED) if refused.is_none() => {
                    refused = Some(session);
                }
                // The call was rolled back; confirm the warning, then make the call again.
                Failure::Fault { kind, args }
                    if kind == "UserWarning" && warnings < MAX_WARNINGS =>
                {
                    warnings += 1;
                    tracing::info!(method, warning = %args, "confirming a Tryton warning");
                    let name = args.get(0).cloned().unwrap_or_default();
                    self.send(SKIP_WARNING, &json!([name, false, {}]), Some(&session))
                        .await
                        .map_err(|failure| self.error_for(SKIP_WARNING, Effect::Write, failure))?;
                }
                failure => return Err(self.error_for(method, effect, failure)),
            }
        }
    }

    /// `login:user_id:session`, the text the `Authorization: Session` header carries: the
    /// stored one, unless Tryton just refused it.
    async fn session(&self, refused: Option<&str>) -> Result<String, ConnectorError> {
        let prefix = format!("{}:", self.username);
        let usable = |stored: Option<TokenRecord>| {
            stored
                .map(|record| record.access_token)
                .filter(|session| session.starts_with(&prefix) && Some(session.as_str()) != refused)
        };
        if let Some(session) = usable(self.load().await?) {
            return Ok(session);
        }
        let _guard = self.login_lock.lock().await;
        // Another task may have logged in while this one waited for the lock.
        if let Some(session) = usable(self.load().await?) {
            return Ok(session);
        }
        let session = self.login().await?;
        let now = Utc::now();
        self.store
            .save_token(
                &self.connection_id,
                &TokenRecord {
                    access_token: session.clone(),
                    refresh_token: String::new(),
                    expires_at: now + SESSION_TIMEOUT,
                    issued_at: now,
                },
            )
            .await
            .map_err(crate::credentials_error)?;
        Ok(session)
    }

    async fn load(&self) -> Result<Option<TokenRecord>, ConnectorError> {
        self.store
            .token(&self.connection_id)
            .await
            .map_err(crate::credentials_error)
    }

    async fn login(&self) -> Result<String, ConnectorError> {
        let params = json!([
            self.username,
            {"password": self.password.expose_secret()},
            "en"
        ]);
        let answer = self
            .send(LOGIN, &params, None)
            .await
            .map_err(|failure| self.error_for(LOGIN, Effect::Read, failure))?;
        // [user_id, session, bus_url]
        match (
            answer.get(0).and_then(Value::as_i64),
            answer.get(1).and_then(Value::as_str),
        ) {
            (Some(user_id), Some(session)) => Ok(format!("{}:{user_id}:{session}", self.username)),
            _ => Err(ConnectorError::transient(
                "Tryton answered the login unexpectedly; ledgerlink will try again.",
                format!("{LOGIN}: a result that is not [user_id, session, ...]"),
            )),
        }
    }

    async fn send(
        &self,
        method: &str,
        params: &Value,
        session: Option<&str>,
    ) -> Result<Value, Failure> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"id": id, "method": method, "params": params}).to_string();
        let mut request = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(session) = session {
            request = request.header(
                "authorization",
                format!("Session {}", BASE64.encode(session)),
            );
        }
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                let cause = format!("{method}: {error}");
                self.audit(&body, None, None, Some(&cause), started).await;
                return Err(if error.is_connect() {
                    Failure::NotSent(cause)
                } else {
                    Failure::Lost(cause)
                });
            }
        };
        let status = response.status();
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => {
                let cause = format!("{method}: HTTP {status}, the body broke off: {error}");
                self.audit(&body, Some(status), None, Some(&cause), started)
                    .await;
                return Err(Failure::Lost(cause));
            }
        };
        let logged = if method == LOGIN {
            hide_session(&text)
        } else {
            text.clone()
        };
        self.audit(&body, Some(status), Some(&logged), None, started)
            .await;
        if status != StatusCode::OK {
            return Err(Failure::Status(status));
        }
        let reply: Value = serde_json::from_str(&text).map_err(|e| {
            Failure::Lost(format!(
                "{method}: HTTP 200 with a body that is not JSON: {e}"
            ))
        })?;
        if let Some(error) = reply.get("error").filter(|error| !error.is_null()) {
            return Err(Failure::Fault {
                kind: error[0].as_str().unwrap_or_default().to_string(),
                args: error[1].clone(),
            });
        }
        reply
            .get("result")
            .cloned()
            .ok_or_else(|| Failure::Lost(format!("{method}: HTTP 200 without a result: {text}")))
    }

    /// What a failure means for the booking, decided here and nowhere else.
    fn error_for(&self, method: &str, effect: Effect, failure: Failure) -> ConnectorError {
        let user = &self.username;
        let database = &self.database;
        match failure {
            Failure::Fault { kind, args } => {
                let cause = format!("{method}: {kind} {args}");
                // UserError: [message, description, domain];
                // UserWarning: [name, message, description].
                let words = |skip: usize| {
                    let texts: Vec<&str> = args
                        .as_array()
                        .into_iter()
                        .flatten()
                        .skip(skip)
                        .take(2)
                        .filter_map(Value::as_str)
                        .filter(|text| !text.trim().is_empty())
                        .collect();
                    texts.join(" ")
                };
                match kind.as_str() {
                    "UserError" => ConnectorError::rejected(words(0), cause),
                    "UserWarning" => ConnectorError::rejected(
                        format!("Tryton keeps asking to confirm warnings: {}", words(1)),
                        cause,
                    ),
                    "ConcurrencyException" => ConnectorError::transient(
                        "A record changed in Tryton while ledgerlink was writing it; ledgerlink will try again.",
                        cause,
                    ),
                    "LoginException" => ConnectorError::new(
                        ErrorKind::Auth,
                        format!("Tryton asks the user `{user}` for more than a password to log in. Give the connector's user a password login, then retry."),
                        cause,
                    ),
                    _ if kind.contains("database is locked") => ConnectorError::transient(
                        "Tryton's database is busy; ledgerlink will try again.",
                        cause,
                    ),
                    // An unexpected exception in Tryton: rolled back, and it would happen again.
                    _ => ConnectorError::rejected(
                        format!("Tryton failed on {method}: {kind}. Tryton's log has the details."),
                        cause,
                    ),
                }
            }
            Failure::Status(status) => {
                let cause = format!("{method}: HTTP {status}");
                match status.as_u16() {
                    401 if method == LOGIN => ConnectorError::new(
                        ErrorKind::Auth,
                        format!("Tryton refused the login of user `{user}` on database `{database}`. Check `username` and `password`, then retry."),
                        cause,
                    ),
                    401 => ConnectorError::new(
                        ErrorKind::Auth,
                        format!("Tryton refused a fresh session of user `{user}`. Check that the user is active, then retry."),
                        cause,
                    ),
                    403 => ConnectorError::config(format!(
                        "Tryton refuses the call {method} (HTTP 403): the Tryton module providing it is probably not activated. Activate account_invoice, then retry."
                    )),
                    404 => ConnectorError::config(format!(
                        "Tryton has no database `{database}` at {}. Check `url` and `database`, then retry.",
                        self.endpoint
                    )),
                    429 => ConnectorError::transient(
                        "Tryton refuses logins for a while after too many failed ones; ledgerlink will try again.",
                        cause,
                    ),
                    500..=599 if effect == Effect::Write => ConnectorError::uncertain(cause),
                    500..=599 => ConnectorError::transient(
                        "Tryton is failing; ledgerlink will try again.",
                        cause,
                    ),
                    _ => ConnectorError::config(format!(
                        "Tryton answered HTTP {status} to {method} at {}. Check that `url` is the Tryton server's address, then retry.",
                        self.endpoint
                    )),
                }
            }
            Failure::NotSent(cause) => ConnectorError::transient(
                format!(
                    "Tryton did not answer at {}; ledgerlink will try again.",
                    self.endpoint
                ),
                cause,
            ),
            Failure::Lost(cause) => match effect {
                Effect::Read => ConnectorError::transient(
                    "Tryton's answer was lost or broken; ledgerlink will try again.",
                    cause,
                ),
                Effect::Write => ConnectorError::uncertain(cause),
            },
        }
    }

    async fn audit(
        &self,
        request: &str,
        status: Option<StatusCode>,
        response: Option<&str>,
        error: Option<&str>,
        started: Instant,
    ) {
        self.auditor
            .record(Exchange {
                method: "POST",
                url: &self.endpoint,
                request_body: Some(request),
                status: status.map(|s| s.as_u16()),
                response_body: response,
                error,
                duration_ms: started.elapsed().as_millis() as i64,
            })
            .await;
    }
}

fn records(model: &str, found: Value) -> Result<Vec<Value>, ConnectorError> {
    match found {
        Value::Array(records) => Ok(records),
        other => Err(ConnectorError::transient(
            "Tryton answered unexpectedly; ledgerlink will try again.",
            format!("{model}: expected a list of records, got {other}"),
        )),
    }
}

/// A record's `id`, which Tryton always reads.
pub(crate) fn id_of(record: &Value) -> Result<i64, ConnectorError> {
    record["id"].as_i64().ok_or_else(|| {
        ConnectorError::transient(
            "Tryton answered unexpectedly; ledgerlink will try again.",
            format!("a record without an id: {record}"),
        )
    })
}

/// The login's answer carries the session (`[user_id, session, bus_url]`), a credential the
/// audit log must not keep; the password in the request is redacted by the auditor.
pub fn hide_session(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut reply) => {
            if let Some(session) = reply.pointer_mut("/result/1").filter(|s| s.is_string()) {
                *session = json!("[redacted]");
            }
            reply.to_string()
        }
        Err(_) => text.to_string(),
    }
}

fn store_unavailable(error: ledgerlink_store::StoreError) -> ConnectorError {
    ConnectorError::transient("The ledger database is unavailable.", error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn rpc(url: &str) -> TrytonRpc {
        let settings = super::super::TrytonSettings {
            url: url.into(),
            database: "books".into(),
            username: "connector".into(),
            password: "not used".to_string().into(),
        };
        let store: Arc<dyn Store> =
            Arc::new(ledgerlink_store::SqliteStore::in_memory().await.unwrap());
        TrytonRpc::new(&settings, store, "test", Duration::from_secs(1)).unwrap()
    }

    #[tokio::test]
    async fn calls_go_to_the_database_endpoint() {
        assert_eq!(
            rpc("http://127.0.0.1:8000").await.endpoint,
            "http://127.0.0.1:8000/books/rpc/"
        );
        assert_eq!(
            rpc("https://erp.example.nl/tryton/").await.endpoint,
            "https://erp.example.nl/tryton/books/rpc/"
        );
    }

    #[tokio::test]
    async fn each_failure_means_one_thing() {
        let rpc = rpc("http://127.0.0.1:8000").await;
        let post = "model.account.invoice.post";
        let search = "model.account.invoice.search_read";
        let transient = ErrorKind::Transient { retry_after: None };
        let fault = |kind: &str, args: Value| Failure::Fault {
            kind: kind.into(),
            args,
        };
        let kind = |method, effect, failure| rpc.error_for(method, effect, failure).kind;

        let refused = rpc.error_for(
            post,
            Effect::Write,
            fault(
                "UserError",
                json!(["To continue, you must create a period.", "", null]),
            ),
        );
        assert_eq!(refused.kind, ErrorKind::Rejected);
        assert_eq!(
            refused.message_for_user,
            "To continue, you must create a period."
        );
        let warning = rpc.error_for(
            post,
            Effect::Write,
            fault("UserWarning", json!(["w1", "Date in the future.", ""])),
        );
        assert_eq!(warning.kind, ErrorKind::Rejected);
        assert!(warning.message_for_user.ends_with("Date in the future."));
        assert_eq!(
            kind(
                post,
                Effect::Write,
                fault("ConcurrencyException", json!("changed"))
            ),
            transient
        );
        assert_eq!(
            kind(post, Effect::Write, fault("database is locked", json!(""))),
            transient
        );
        assert_eq!(
            kind(
                post,
                Effect::Write,
                fault("'NoneType' object has no attribute 'id'", json!(""))
            ),
            ErrorKind::Rejected
        );

        assert_eq!(
            kind(
                LOGIN,
                Effect::Read,
                Failure::Status(StatusCode::UNAUTHORIZED)
            ),
            ErrorKind::Auth
        );
        assert_eq!(
            kind(search, Effect::Read, Failure::Status(StatusCode::NOT_FOUND)),
            ErrorKind::Config
        );
        assert_eq!(
            kind(search, Effect::Read, Failure::Status(StatusCode::FORBIDDEN)),
            ErrorKind::Config
        );
        assert_eq!(
            kind(
                LOGIN,
                Effect::Read,
                Failure::Status(StatusCode::TOO_MANY_REQUESTS)
            ),
            transient
        );
        assert_eq!(
            kind(
                search,
                Effect::Read,
                Failure::Status(StatusCode::BAD_GATEWAY)
            ),
            transient
        );
        assert_eq!(
            kind(
                post,
                Effect::Write,
                Failure::Status(StatusCode::BAD_GATEWAY)
            ),
            ErrorKind::Uncertain
        );

        assert_eq!(
            kind(post, Effect::Write, Failure::NotSent("refused".into())),
            transient
        );
        assert_eq!(
            kind(search, Effect::Read, Failure::Lost("timed out".into())),
            transient
        );
        assert_eq!(
            kind(post, Effect::Write, Failure::Lost("timed out".into())),
            ErrorKind::Uncertain
        );
    }

    #[test]
    fn the_session_in_a_login_answer_is_hidden() {
        let answer = r#"{"id":3,"result":[2,"d24931469620f065c3b9",null]}"#;
        let hidden = hide_session(answer);
        assert!(!hidden.contains("d24931469620f065c3b9"), "{hidden}");
        assert!(hidden.contains("[redacted]") && hidden.contains('2'));
        assert_eq!(hide_session("<html>401</html>"), "<html>401</html>");
    }
}
