//! The JSON API under `/api/v1`: what the panel shows and does, for programs, authenticated by
//! an API token of the merchant account (`Authorization: Bearer llk_…`). Every error has one
//! shape, `{"error": {"code": …, "message": …}}`, with a message a person can act on. The
//! OpenAPI document is generated from this code and served at `/api/v1/openapi.json`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::auth;
use super::view::{
    self, AccountUser, ConnectionSummary, DocumentDetail, DocumentFilter, DocumentSummary,
    InvitationLink, Notifications, NotificationsChange, Rules, ViewError,
};
use super::PanelState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ledgerlink",
        description = "Books a merchant's sales into their accounting system, exactly once and \
                       to the cent. This API gives a merchant account's connections and \
                       transfer log to programs.",
    ),
    paths(
        list_connections,
        list_users,
        invite_user,
        add_connection,
        go_live,
        dry_run,
        get_rules,
        put_rules,
        get_notifications,
        put_notifications,
        list_documents,
        get_document,
        retry_document,
        skip_document
    ),
    components(schemas(ApiError, ErrorBody, DocumentList, Rules, Notifications, NotificationsChange, NewConnection, AddedConnection, AccountUser, InvitationLink, NewInvitation)),
    modifiers(&BearerToken),
    security(("api_token" = [])),
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token made on the panel's API tokens page (`llk_…`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every error of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `not_found`, `refused`, `invalid`, `changed` or `internal`.
    pub code: &'static str,
    /// What is wrong and what to do about it.
    pub message: String,
    /// With `invalid`: each thing to correct, naming its setting.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: ErrorBody {
                code,
                message: message.into(),
                problems: Vec::new(),
            },
        }),
    )
        .into_response()
}

fn view_error(failure: ViewError) -> Response {
    match failure {
        ViewError::NotFound => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such document or connection in this account.",
        ),
        ViewError::Refused(reason) => error(StatusCode::CONFLICT, "refused", reason),
        ViewError::Invalid(problems) => invalid(problems),
        ViewError::Internal(cause) => {
            tracing::error!(%cause, "an API request failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side; it has been logged. Try again in a moment.",
            )
        }
    }
}

/// The view's answer as JSON, or its failure in the API's error shape.
fn reply<T: Serialize>(answer: Result<T, ViewError>) -> Response {
    match answer {
        Ok(value) => Json(value).into_response(),
        Err(failure) => view_error(failure),
    }
}

fn invalid(problems: Vec<String>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(ApiError {
            error: ErrorBody {
                code: "invalid",
                message: "Nothing was changed: correct what `problems` lists and send it again."
                    .into(),
                problems,
            },
        }),
    )
        .into_response()
}

async fn account(app: &PanelState, headers: &HeaderMap) -> Result<i64, Response> {
    auth::api_account(&*app.store, headers)
        .await
        .ok_or_else(|| {
            error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send an API token of your account as `Authorization: Bearer <token>`; make one on \
             the panel's API tokens page.",
        )
        })
}

/// The account's connections and their documents per state.
#[utoipa::path(
    get,
    path = "/api/v1/connections",
    responses(
        (status = 200, body = [ConnectionSummary]),
        (status = 401, body = ApiError),
    ),
)]
pub async fn list_connections(State(app): State<PanelState>, headers: HeaderMap) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    reply(view::connections(&*app.store, account).await)
}

/// The account's users.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    responses((status = 200, body = [AccountUser]), (status = 401, body = ApiError)),
)]
pub async fn list_users(State(app): State<PanelState>, headers: HeaderMap) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    reply(view::users(&*app.store, account).await)
}

#[derive(serde::Deserialize, ToSchema)]
pub struct NewInvitation {
    pub email: String,
}

/// Invites someone to the account: the link (a path on the panel) works once, for seven days,
/// and is given only in this answer.
#[utoipa::path(
    post,
    path = "/api/v1/invitations",
    request_body = NewInvitation,
    responses(
        (status = 201, body = InvitationLink),
        (status = 401, body = ApiError),
        (status = 409, description = "The address signs in already", body = ApiError),
        (status = 422, body = ApiError),
    ),
)]
pub async fn invite_user(
    State(app): State<PanelState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let wanted = match serde_json::from_slice::<NewInvitation>(&body) {
        Ok(wanted) => wanted,
        Err(e) => return invalid(vec![format!("The body is not an invitation: {e}")]),
    };
    match view::invite(&*app.store, account, "an API token", &wanted.email).await {
        Ok(link) => (StatusCode::CREATED, Json(link)).into_response(),
        Err(failure) => view_error(failure),
    }
}

/// A shop to add: WooCommerce with a REST API key, or PrestaShop with a webservice key.
#[derive(serde::Deserialize, ToSchema)]
pub struct NewConnection {
    pub name: String,
    /// `woocommerce` or `prestashop`.
    pub kind: String,
    /// The shop's address, `https://shop.example.nl`.
    pub url: String,
    #[serde(default)]
    pub consumer_key: String,
    #[serde(default)]
    pub consumer_secret: String,
    #[serde(default)]
    pub api_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct AddedConnection {
    /// The new connection's id.
    pub id: String,
    /// `false` until it is made live (`POST /api/v1/connections/{id}/live`).
    pub live: bool,
}

/// Adds a shop to the account, booking into Exact Online once connected (the panel's
/// "Connect Exact Online") and made live. Its keys are tried against the shop first.
#[utoipa::path(
    post,
    path = "/api/v1/connections",
    request_body = NewConnection,
    responses(
        (status = 201, body = AddedConnection),
        (status = 401, body = ApiError),
        (status = 422, description = "Not added; `problems` says why", body = ApiError),
    ),
)]
pub async fn add_connection(
    State(app): State<PanelState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let wanted = match serde_json::from_slice::<NewConnection>(&body) {
        Ok(wanted) => wanted,
        Err(e) => return invalid(vec![format!("The body is not a shop to add: {e}")]),
    };
    let shop = match super::shops::new_shop(
        &wanted.kind,
        &wanted.url,
        &wanted.consumer_key,
        &wanted.consumer_secret,
        &wanted.api_key,
    ) {
        Ok(shop) => shop,
        Err(problems) => return invalid(problems),
    };
    match view::add_shop(&app.engine, account, "an API token", &wanted.name, shop).await {
        Ok(id) => (
            StatusCode::CREATED,
            Json(AddedConnection { id, live: false }),
        )
            .into_response(),
        Err(failure) => view_error(failure),
    }
}

/// Makes a shop added through the panel or this API live: a WooCommerce shop is subscribed to
/// send its order events, and from now on its orders are booked.
#[utoipa::path(
    post,
    path = "/api/v1/connections/{id}/live",
    params(("id" = String, Path, description = "The connection's id")),
    responses(
        (status = 200, body = AddedConnection),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 422, description = "Not ready (e.g. Exact Online not connected); `problems` says what is missing", body = ApiError),
    ),
)]
pub async fn go_live(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match view::go_live(&app.engine, account, &id).await {
        Ok(()) => Json(AddedConnection { id, live: true }).into_response(),
        Err(failure) => view_error(failure),
    }
}

/// The period of a test run: shop-local days, `until` not included.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// The first day, `YYYY-MM-DD`.
    pub from: chrono::NaiveDate,
    /// The day after the last, `YYYY-MM-DD` (at most 92 days after `from`).
    pub until: chrono::NaiveDate,
}

/// Test mode: what the connection would book for the orders of a period, and at most how many
/// API calls it would cost. Nothing is booked or sent to the ledger.
#[utoipa::path(
    get,
    path = "/api/v1/connections/{id}/dry-run",
    params(("id" = String, Path, description = "The connection's id"), Period),
    responses(
        (status = 200, description = "`documents` (kind, number, outcome `book`/`not_yet`/`skip`/`hold`, reference, currency, total, reason), `to_book`, `totals` per currency, `customers`, `most_calls`"),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "The period is not valid, or the shop could not be read", body = ApiError),
    ),
)]
pub async fn dry_run(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(period): Query<Period>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    reply(view::dry_run(&app.engine, account, &id, period.from, period.until).await)
}

/// A connection's booking rules in force, and whether they are the settings file's or were
/// changed through the panel or this API.
#[utoipa::path(
    get,
    path = "/api/v1/connections/{id}/rules",
    params(("id" = String, Path, description = "The connection's id")),
    responses(
        (status = 200, body = Rules),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
    ),
)]
pub async fn get_rules(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    reply(view::rules(&app.engine, account, &id).await)
}

/// Puts new booking rules in force: a JSON merge patch (RFC 7396) of the
/// `[connections.booking]` table as `GET` gives it — keys left out keep their value, `null`
/// removes one (a VAT code mapping, say). They pass the settings file's checks, and every account, journal and VAT
/// code they name must exist in the ledger; otherwise nothing changes and `problems` says why.
#[utoipa::path(
    put,
    path = "/api/v1/connections/{id}/rules",
    params(
        ("id" = String, Path, description = "The connection's id"),
        ("If-Match" = Option<String>, Header, description = "The `revision` the GET answered: the change is made only if no one changed the rules since"),
    ),
    request_body(content = Object, description = "The booking rules (`settings` of the GET answer)"),
    responses(
        (status = 200, body = Rules),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 412, description = "Changed since the `If-Match` revision; nothing changed", body = ApiError),
        (status = 422, description = "Not valid rules; nothing changed", body = ApiError),
    ),
)]
pub async fn put_rules(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    // Keys left out keep their value: the body is laid over the rules in force.
    let mut merged = match view::rules(&app.engine, account, &id).await {
        Ok(rules) => rules.settings,
        Err(failure) => return view_error(failure),
    };
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(change @ serde_json::Value::Object(_)) => lay_over(&mut merged, change),
        Ok(_) => {
            return invalid(vec![
                "The body is not a JSON object of booking rules.".into()
            ])
        }
        Err(e) => return invalid(vec![format!("The body is not JSON: {e}")]),
    }
    let settings = match serde_json::from_value::<ledgerlink_rules::BookingSettings>(merged) {
        Ok(settings) => settings,
        Err(e) => return invalid(vec![format!("The body is not booking rules: {e}")]),
    };
    // `If-Match: "<revision>"` (as `GET` gave it): only while no one changed them since.
    let read_at = match headers.get(axum::http::header::IF_MATCH) {
        None => None,
        Some(value) => match value
            .to_str()
            .ok()
            .and_then(|v| v.trim().trim_matches('"').parse::<i64>().ok())
        {
            Some(revision) => Some(revision),
            None => {
                return invalid(vec![
                    "`If-Match`: give the `revision` the GET answered, e.g. `If-Match: \"7\"`"
                        .into(),
                ])
            }
        },
    };
    match view::change_rules(&app.engine, account, &id, settings, "an API token", read_at).await {
        Ok(()) => {}
        Err(ViewError::Refused(said)) if read_at.is_some() => {
            return error(StatusCode::PRECONDITION_FAILED, "changed", said)
        }
        Err(failure) => return view_error(failure),
    }
    reply(view::rules(&app.engine, account, &id).await)
}

/// Who hears of what for a connection: e-mail addresses, events, the transfer report.
#[utoipa::path(
    get,
    path = "/api/v1/connections/{id}/notifications",
    params(("id" = String, Path, description = "The connection's id")),
    responses(
        (status = 200, body = Notifications),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
    ),
)]
pub async fn get_notifications(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    reply(view::notifications(&app.engine, account, &id).await)
}

/// Sets who hears of what for a connection (a webhook stays the settings file's). E-mail
/// needs the operator's mail server; otherwise nothing changes and `problems` says why.
#[utoipa::path(
    put,
    path = "/api/v1/connections/{id}/notifications",
    params(("id" = String, Path, description = "The connection's id")),
    request_body = NotificationsChange,
    responses(
        (status = 200, body = Notifications),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 422, description = "Not valid; nothing changed", body = ApiError),
    ),
)]
pub async fn put_notifications(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let change = match serde_json::from_slice::<NotificationsChange>(&body) {
        Ok(change) => change,
        Err(e) => return invalid(vec![format!("The body is not notification settings: {e}")]),
    };
    if let Err(failure) =
        view::change_notifications(&app.engine, account, &id, &change, "an API token").await
    {
        return view_error(failure);
    }
    reply(view::notifications(&app.engine, account, &id).await)
}

/// `change` laid over `base` as a JSON merge patch (RFC 7396): objects key by key, `null`
/// removes a key, anything else replaces.
fn lay_over(base: &mut serde_json::Value, change: serde_json::Value) {
    match (base, change) {
        (serde_json::Value::Object(base), serde_json::Value::Object(change)) => {
            for (key, value) in change {
                if value.is_null() {
                    base.remove(&key);
                } else {
                    lay_over(base.entry(key).or_insert(serde_json::Value::Null), value);
                }
            }
        }
        (base, change) => *base = change,
    }
}

/// A page of the transfer log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    /// Newest first, at most 200.
    pub documents: Vec<DocumentSummary>,
    /// More documents match than were listed: narrow the filter.
    pub more: bool,
}

/// The transfer log: the newest documents of the account's connections.
#[utoipa::path(
    get,
    path = "/api/v1/documents",
    params(DocumentFilter),
    responses(
        (status = 200, body = DocumentList),
        (status = 401, body = ApiError),
        (status = 409, description = "A filter is not valid", body = ApiError),
    ),
)]
pub async fn list_documents(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Query(filter): Query<DocumentFilter>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match view::documents(&*app.store, account, &filter).await {
        Ok((documents, more)) => Json(DocumentList { documents, more }).into_response(),
        Err(failure) => view_error(failure),
    }
}

/// One document: its source payload, plan and history.
#[utoipa::path(
    get,
    path = "/api/v1/documents/{id}",
    params(("id" = i64, Path, description = "The document's id in the ledger")),
    responses(
        (status = 200, body = DocumentDetail),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
    ),
)]
pub async fn get_document(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    reply(view::document(&*app.store, account, id).await)
}

/// Tries a held document again (after its cause was fixed).
#[utoipa::path(
    post,
    path = "/api/v1/documents/{id}/retry",
    params(("id" = i64, Path, description = "The document's id in the ledger")),
    responses(
        (status = 202, description = "Queued for the next worker round"),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "The document is not held", body = ApiError),
    ),
)]
pub async fn retry_document(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match view::retry(&*app.store, account, id).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(failure) => view_error(failure),
    }
}

/// Skips a held document: it is not to be booked (a newer version from the shop re-opens it).
#[utoipa::path(
    post,
    path = "/api/v1/documents/{id}/skip",
    params(("id" = i64, Path, description = "The document's id in the ledger")),
    responses(
        (status = 204, description = "Skipped"),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "The document is not held", body = ApiError),
    ),
)]
pub async fn skip_document(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let account = match account(&app, &headers).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match view::skip(&*app.store, account, id, "an API token").await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(failure) => view_error(failure),
    }
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Any other path under `/api/v1`.
pub async fn unknown() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such API path; /api/v1/openapi.json lists them.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published API changes only on purpose: review the snapshot's diff.
    #[test]
    fn the_openapi_document_is_as_published() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        insta::assert_json_snapshot!("openapi", document);
    }
}
