//! The control panel (server-rendered pages) and the JSON API a merchant account uses: sign-up
//! and sign-in, the dashboard, the transfer log with retries, and API tokens.

mod api;
pub mod auth;
mod notifications;
mod pages;
mod rules;
mod shops;
mod team;
pub mod view;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use ledgerlink_store::Store;

pub use api::ApiDoc;

#[derive(Clone)]
pub struct PanelState {
    pub engine: Arc<ledgerlink_engine::Engine>,
    pub oauth: crate::OAuthFlows,
    pub store: Arc<dyn Store>,
    /// Connection id → the e-mail address its settings name as `owner`.
    pub owners: Arc<Vec<(String, String)>>,
    pub sign_in_limit: auth::SignInLimit,
}

pub fn router(state: PanelState) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/panel.css", get(pages::stylesheet))
        .route("/signup", get(pages::sign_up_form).post(pages::sign_up))
        .route("/signin", get(pages::sign_in_form).post(pages::sign_in))
        .route("/signout", post(pages::sign_out))
        .route("/connections", get(pages::connections).post(shops::add))
        .route("/connections/{id}/live", post(shops::go_live))
        .route("/connections/{id}/connect", post(pages::connect_exact))
        .route("/connections/{id}/dry-run", get(pages::dry_run))
        .route(
            "/connections/{id}/rules",
            get(rules::rules).post(rules::save),
        )
        .route("/connections/{id}/rules/toml", post(rules::save_toml))
        .route("/connections/{id}/rules/reset", post(rules::reset))
        .route(
            "/connections/{id}/notifications",
            get(notifications::notifications).post(notifications::save),
        )
        .route(
            "/connections/{id}/notifications/reset",
            post(notifications::reset),
        )
        .route("/documents", get(pages::documents))
        .route("/documents/{id}", get(pages::document))
        .route("/documents/{id}/retry", post(pages::retry))
        .route("/documents/{id}/skip", post(pages::skip))
        .route("/tokens", get(pages::tokens).post(pages::create_token))
        .route("/team", get(team::team).post(team::invite))
        .route("/join/{token}", get(team::join_form).post(team::join))
        .route("/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route(
            "/api/v1/connections",
            get(api::list_connections).post(api::add_connection),
        )
        .route("/api/v1/connections/{id}/live", post(api::go_live))
        .route("/api/v1/users", get(api::list_users))
        .route("/api/v1/invitations", post(api::invite_user))
        .route("/api/v1/connections/{id}/dry-run", get(api::dry_run))
        .route(
            "/api/v1/connections/{id}/rules",
            get(api::get_rules).put(api::put_rules),
        )
        .route(
            "/api/v1/connections/{id}/notifications",
            get(api::get_notifications).put(api::put_notifications),
        )
        .route("/api/v1/documents", get(api::list_documents))
        .route("/api/v1/documents/{id}", get(api::get_document))
        .route("/api/v1/documents/{id}/retry", post(api::retry_document))
        .route("/api/v1/documents/{id}/skip", post(api::skip_document))
        .route("/api/v1/{*rest}", any(api::unknown))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Response {
    pages::message(
        axum::http::StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page in ledgerlink.",
    )
}

/// The content security policy of a page whose forms may lead to `form_targets` as well as to
/// the panel (Exact Online's sign-in, for the connect button): browsers apply `form-action`
/// to the redirects after a form is sent too.
pub fn content_security_policy(form_targets: &[String]) -> String {
    let mut form_action = "'self'".to_string();
    for origin in form_targets {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// On every answer: no framing by other sites, no scripts or styles but our own, no sniffing,
/// no referrer leaving the panel. A page that set its own policy keeps it.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(policy) = HeaderValue::from_str(&content_security_policy(&[])) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    let set = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
