//! The HTTP service of `ledgerlink serve`: webhook intake, the Exact Online OAuth flow,
//! `/metrics` for Prometheus, and the merchants' control panel and JSON API ([`panel`]).

pub mod panel;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ledgerlink_engine::Engine;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

/// An OAuth `state` is accepted for this long after the flow started (Exact's codes live ~3 min).
const OAUTH_STATE_LIFETIME: Duration = Duration::from_secs(600);

/// The cookie that ties an OAuth flow to the browser that started it: the callback must come
/// back in that browser, so a consent given from a link someone else started (and sent) is not
/// bound to their connection. `SameSite=Lax`, because Exact's redirect back is a cross-site
/// navigation, on which a `Strict` cookie is not sent.
pub const OAUTH_COOKIE: &str = "__Host-ledgerlink-oauth";

/// A started flow: its connection, when it started, and the browser's nonce.
struct Flow {
    connection: String,
    started: Instant,
    browser: String,
}

/// OAuth flows under way, by their unguessable `state`. Shared by the operator's start link and
/// the panel's "Connect" button.
#[derive(Clone, Default)]
pub struct OAuthFlows(Arc<Mutex<HashMap<String, Flow>>>);

impl OAuthFlows {
    /// Starts a flow for the connection: the `state` to send to the authorization page, and
    /// the `Set-Cookie` value that marks the browser it must come back in.
    pub fn begin(&self, connection_id: &str) -> (String, String) {
        let state = uuid::Uuid::new_v4().to_string();
        let browser = panel::auth::random_token();
        let mut pending = self.0.lock().expect("oauth state lock");
        pending.retain(|_, flow| flow.started.elapsed() < OAUTH_STATE_LIFETIME);
        pending.insert(
            state.clone(),
            Flow {
                connection: connection_id.to_string(),
                started: Instant::now(),
                browser: browser.clone(),
            },
        );
        let cookie = format!(
            "{OAUTH_COOKIE}={browser}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
            OAUTH_STATE_LIFETIME.as_secs()
        );
        (state, cookie)
    }

    /// The connection a returning `state` started for, once, while it is fresh and only in the
    /// browser that started it.
    fn finish(&self, state: &str, browser: Option<&str>) -> Option<String> {
        let flow = self.0.lock().expect("oauth state lock").remove(state)?;
        let same_browser = browser.is_some_and(|b| panel::auth::same(b, &flow.browser));
        (same_browser && flow.started.elapsed() < OAUTH_STATE_LIFETIME).then_some(flow.connection)
    }
}

/// Sends the browser to Exact's sign-in, marked as the one the flow must come back in.
pub fn to_exact_sign_in(authorization_url: &str, cookie: &str) -> Response {
    let mut response = Redirect::to(authorization_url).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(cookie) {
        response
            .headers_mut()
            .insert(axum::http::header::SET_COOKIE, value);
    }
    response
}

/// Why a connection lapsed when its Exact user connected another merchant account.
pub const LAPSED_FOR_ANOTHER_ACCOUNT: &str = "Its Exact Online user connected another \
    ledgerlink account, and one Exact user can connect one account only. Connect again, signed \
    in to Exact Online as a user of your own company.";

#[derive(Clone)]
struct AppState {
    engine: Arc<Engine>,
    oauth: OAuthFlows,
    /// Starting a connection replaces its tokens, so only whoever holds this key (printed by
    /// `serve` at start-up) may start one.
    connect_key: Arc<str>,
}

/// A running HTTP service.
pub struct Server {
    pub addr: SocketAddr,
    /// The key that `/oauth/exact/<connection>/start?key=…` requires.
    pub connect_key: String,
    pub handle: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The link an operator opens to connect Exact Online for a connection.
    pub fn connect_url(&self, connection_id: &str) -> String {
        format!(
            "http://{}/oauth/exact/{connection_id}/start?key={}",
            self.addr, self.connect_key
        )
    }
}

/// Webhook bodies larger than this are refused with 413 before they are read whole.
pub const MAX_WEBHOOK_BYTES: usize = 2 * 1024 * 1024;

pub fn router(engine: Arc<Engine>, connect_key: &str) -> Router {
    let oauth = OAuthFlows::default();
    let panel = panel::PanelState {
        engine: engine.clone(),
        oauth: oauth.clone(),
        store: engine.store().clone(),
        owners: Arc::new(
            engine
                .connection_ids()
                .into_iter()
                .filter_map(|id| {
                    let owner = engine.connection(&id)?.owner.clone()?;
                    Some((id, owner))
                })
                .collect(),
        ),
        sign_in_limit: panel::auth::SignInLimit::default(),
    };
    let state = AppState {
        engine,
        oauth,
        connect_key: connect_key.into(),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route(
            "/webhooks/woocommerce/{connection_id}",
            post(woocommerce_webhook),
        )
        .route("/oauth/exact/{connection_id}/start", get(exact_oauth_start))
        .route("/oauth/exact/callback", get(exact_oauth_callback))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
        .with_state(state)
        .merge(panel::router(panel))
        .layer(axum::middleware::from_fn(panel::security_headers))
}

/// Starts the authorization-code flow: a person opens this, signs in at Exact and consents.
#[derive(Deserialize)]
struct StartQuery {
    key: Option<String>,
}

async fn exact_oauth_start(
    State(app): State<AppState>,
    Path(connection_id): Path<String>,
    Query(query): Query<StartQuery>,
) -> Response {
    let given = query.key.unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(app.connect_key.as_bytes())) {
        return page(
            StatusCode::FORBIDDEN,
            "This link needs the key that `ledgerlink serve` printed when it started.",
        );
    }
    let Some(connection) = app.engine.connection(&connection_id) else {
        return (
            StatusCode::NOT_FOUND,
            Html("No such connection.".to_string()),
        )
            .into_response();
    };
    let Some(target) = connection.target.exact() else {
        return page(
            StatusCode::NOT_FOUND,
            "This connection's ledger is not connected through OAuth.",
        );
    };
    let (state, cookie) = app.oauth.begin(&connection_id);
    to_exact_sign_in(&target.authorization_url(&state), &cookie)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn page(status: StatusCode, text: &str) -> Response {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let html = format!("<!doctype html><title>ledgerlink</title><p>{escaped}</p>");
    (status, Html(html)).into_response()
}

/// Where Exact sends the person back: the `state` must be one we issued, and is used once.
async fn exact_oauth_callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if query.error.is_some() {
        return page(
            StatusCode::BAD_REQUEST,
            "Exact Online did not grant access. Start the connection again.",
        );
    }
    let browser = panel::auth::cookie(&headers, OAUTH_COOKIE);
    let started = query
        .state
        .and_then(|state| app.oauth.finish(&state, browser.as_deref()));
    let (Some(connection_id), Some(code)) = (started, query.code) else {
        return page(
            StatusCode::BAD_REQUEST,
            "This link is not (or no longer) valid, or it was started in another browser. Start the connection again, in this browser.",
        );
    };
    let Some(connection) = app.engine.connection(&connection_id) else {
        return page(StatusCode::NOT_FOUND, "No such connection.");
    };
    let Some(target) = connection.target.exact() else {
        return page(
            StatusCode::NOT_FOUND,
            "This connection's ledger is not connected through OAuth.",
        );
    };
    let connected = async {
        target.connect_with_code(&code).await?;
        target.connected_user().await
    };
    let me = match connected.await {
        Ok(me) => me,
        Err(error) => {
            tracing::warn!(connection_id, cause = %error.internal_cause, "Exact Online authorisation failed");
            return page(StatusCode::BAD_GATEWAY, &error.message_for_user);
        }
    };
    let lapsed = match app
        .engine
        .store()
        .connect_target_user(
            &connection_id,
            &me.id,
            &me.name,
            LAPSED_FOR_ANOTHER_ACCOUNT,
            chrono::Utc::now(),
        )
        .await
    {
        Ok(lapsed) => lapsed,
        Err(error) => {
            tracing::error!(connection_id, %error, "recording the connected Exact user failed");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Exact Online is connected, but recording it failed; it has been logged. Connect again.",
            );
        }
    };
    if !lapsed.is_empty() {
        tracing::warn!(
            connection_id,
            ?lapsed,
            "connections of another account lapsed: their Exact user connected this one"
        );
    }
    let mut note = None;
    if let Some(division) = me.division {
        // A shop added in the panel books into the division the person works in.
        match app.engine.exact_connected(&connection_id, division).await {
            Ok(said) => note = said,
            Err(error) => {
                tracing::error!(connection_id, %error, "taking up the connected Exact division failed");
                return page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Exact Online is connected, but the shop could not be set to book into its company; it has been logged. Connect again.",
                );
            }
        }
    }
    let mut text = format!(
        "Exact Online is connected as {}. You can close this page.",
        me.name
    );
    if let Some(note) = note {
        text.push(' ');
        text.push_str(&note);
    }
    if !lapsed.is_empty() {
        text.push_str(
            " This Exact user was connected to another ledgerlink account: that account's \
             connection has now lapsed, and its owner is told why. One Exact user can connect \
             one ledgerlink account.",
        );
    }
    page(StatusCode::OK, &text)
}

/// Prometheus's text format (docs/notifications.md lists the series).
async fn metrics(State(app): State<AppState>) -> Response {
    match app.engine.render_metrics().await {
        Ok(text) => (
            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "the metrics could not be read from the ledger");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn woocommerce_webhook(
    State(AppState { engine, .. }): State<AppState>,
    Path(connection_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<serde_json::Value>) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let reply = engine
        .webhook(
            &connection_id,
            header("x-wc-webhook-signature"),
            header("x-wc-webhook-topic"),
            header("x-wc-webhook-delivery-id"),
            &body,
        )
        .await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "message": reply.message })))
}

/// Serves the router on `addr` until the process ends.
pub async fn serve(engine: Arc<Engine>, addr: &str) -> anyhow::Result<Server> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let connect_key = uuid::Uuid::new_v4().simple().to_string();
    let app = router(engine, &connect_key);
    let handle = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the HTTP server stopped");
        }
    });
    Ok(Server {
        addr: local,
        connect_key,
        handle,
    })
}
