//! The control panel's pages, rendered on the server (askama), with forms that work without
//! JavaScript. Every form that changes something carries the session's CSRF token; the
//! sign-up and sign-in forms, shown before there is a session, carry a token that must match
//! a cookie of their own (double submit).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use ledgerlink_store::Session;
use serde::Deserialize;

use super::auth::{self, FORM_COOKIE, MIN_PASSWORD_CHARS, SESSION_COOKIE, SESSION_HOURS};
use super::view::{
    self, minute as when, ConnectionSummary, DocumentFilter, DocumentSummary, ViewError,
};
use super::PanelState;

/// What the navigation bar of a signed-in page shows.
pub struct Nav {
    pub email: String,
    pub account: String,
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A page that says what went wrong and what to do; internal causes go to the log only.
pub fn message(status: StatusCode, title: &str, message: &str) -> Response {
    render(status, &MessagePage { title, message })
}

pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "a panel page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged. Try again in a moment.",
            )
                .into_response()
        }
    }
}

pub(super) fn view_error(error: ViewError) -> Response {
    match error {
        ViewError::NotFound => message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page or document in your account.",
        ),
        ViewError::Refused(reason) => message(StatusCode::CONFLICT, "Not possible", &reason),
        ViewError::Invalid(problems) => message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing was changed",
            &problems.join(" "),
        ),
        ViewError::Internal(cause) => {
            tracing::error!(%cause, "a panel request failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side; it has been logged. Try again in a moment.",
            )
        }
    }
}

/// The signed-in session, or the way to the sign-in page.
pub(super) async fn signed_in(
    app: &PanelState,
    headers: &HeaderMap,
) -> Result<(Session, Nav), Response> {
    let Some(session) = auth::session(&*app.store, headers).await else {
        return Err(Redirect::to("/signin").into_response());
    };
    let account = app
        .store
        .account_name(session.account_id)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let nav = Nav {
        email: session.email.clone(),
        account,
        csrf: session.csrf_token.clone(),
    };
    Ok((session, nav))
}

/// The signed-in session, when the form sent came from one of its pages.
pub(super) async fn signed_in_form(
    app: &PanelState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(Session, Nav), Response> {
    let (session, nav) = signed_in(app, headers).await?;
    if auth::same(&session.csrf_token, csrf) {
        Ok((session, nav))
    } else {
        Err(csrf_refused())
    }
}

pub(super) fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this page of ledgerlink (or it is too old). Go back, reload \
         the page and send it again.",
    )
}

/// A fresh form token, set as a cookie and put in the form.
pub(super) fn form_token() -> (String, String) {
    let token = auth::random_token();
    let cookie = auth::set_cookie(FORM_COOKIE, &token, 3600);
    (token, cookie)
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    csrf: String,
    problem: Option<String>,
    account: String,
    email: String,
    min_password: usize,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    csrf: String,
    problem: Option<String>,
    email: String,
}

pub(super) fn with_cookie(cookie: String, response: Response) -> Response {
    ([(header::SET_COOKIE, cookie)], response).into_response()
}

fn sign_up_page(
    status: StatusCode,
    problem: Option<String>,
    account: &str,
    email: &str,
) -> Response {
    let (csrf, cookie) = form_token();
    let page = SignUpPage {
        csrf,
        problem,
        account: account.to_string(),
        email: email.to_string(),
        min_password: MIN_PASSWORD_CHARS,
    };
    with_cookie(cookie, render(status, &page))
}

fn sign_in_page(status: StatusCode, problem: Option<String>, email: &str) -> Response {
    let (csrf, cookie) = form_token();
    let page = SignInPage {
        csrf,
        problem,
        email: email.to_string(),
    };
    with_cookie(cookie, render(status, &page))
}

pub async fn sign_up_form() -> Response {
    sign_up_page(StatusCode::OK, None, "", "")
}

pub async fn sign_in_form() -> Response {
    sign_in_page(StatusCode::OK, None, "")
}

#[derive(Deserialize)]
pub struct SignUp {
    csrf: String,
    account: String,
    email: String,
    password: String,
}

pub(super) fn form_token_matches(headers: &HeaderMap, sent: &str) -> bool {
    auth::cookie(headers, FORM_COOKIE).is_some_and(|cookie| auth::same(&cookie, sent))
}

/// Signed in: a new session cookie, the form cookie gone, on to the dashboard.
pub(super) fn enter(token: &str) -> Response {
    let mut response = Redirect::to("/").into_response();
    let headers = response.headers_mut();
    for cookie in [
        auth::set_cookie(SESSION_COOKIE, token, SESSION_HOURS * 3600),
        auth::set_cookie(FORM_COOKIE, "", 0),
    ] {
        headers.append(
            header::SET_COOKIE,
            cookie.parse().expect("a cookie is a valid header value"),
        );
    }
    response
}

/// The connections whose settings name this address as `owner` join its account.
async fn bind_owned_connections(app: &PanelState, email: &str, account: i64) {
    for (connection, owner) in app.owners.iter() {
        if owner.eq_ignore_ascii_case(email) {
            if let Err(error) = app.store.bind_connection(connection, account).await {
                tracing::error!(%error, connection, "binding a connection to its owner failed");
            }
        }
    }
}

pub async fn sign_up(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Form(form): Form<SignUp>,
) -> Response {
    if !form_token_matches(&headers, &form.csrf) {
        return csrf_refused();
    }
    let email = form.email.trim().to_lowercase();
    let account = form.account.trim();
    let again = |problem: &str| {
        sign_up_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(problem.to_string()),
            account,
            &email,
        )
    };
    if account.is_empty() {
        return again("Give your company's name.");
    }
    if email.parse::<ledgerlink_core::Email>().is_err() {
        return again("That is not an e-mail address we can send to; check it.");
    }
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        return again(&format!(
            "Choose a password of at least {MIN_PASSWORD_CHARS} characters."
        ));
    }
    let hash = match auth::hash_password(&form.password) {
        Ok(hash) => hash,
        Err(cause) => return view_error(ViewError::Internal(cause)),
    };
    let user = match app
        .store
        .create_account(account, &email, &hash, Utc::now())
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => {
            return again("An account with this e-mail address exists already: sign in instead.")
        }
        Err(error) => return view_error(error.into()),
    };
    bind_owned_connections(&app, &email, user.account_id).await;
    match auth::start_session(&*app.store, user.id).await {
        Ok(token) => enter(&token),
        Err(error) => view_error(error.into()),
    }
}

#[derive(Deserialize)]
pub struct SignIn {
    csrf: String,
    email: String,
    password: String,
}

pub async fn sign_in(
    State(app): State<PanelState>,
    request: Parts,
    Form(form): Form<SignIn>,
) -> Response {
    let headers = &request.headers;
    // The peer's address when the server was started with it (`serve` is).
    let client = request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    if !form_token_matches(headers, &form.csrf) {
        return csrf_refused();
    }
    let email = form.email.trim().to_lowercase();
    if !app.sign_in_limit.allow(&email, client) {
        return sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many attempts to sign in. Wait a few minutes and try again.".into()),
            &email,
        );
    }
    let user = match app.store.user_by_email(&email).await {
        Ok(user) => user,
        Err(error) => return view_error(error.into()),
    };
    let stored = user
        .as_ref()
        .map_or(auth::decoy_hash(), |u| u.password_hash.as_str());
    let matches = auth::password_matches(&form.password, stored);
    let Some(user) = user.filter(|_| matches) else {
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some("That e-mail address and password do not match an account.".into()),
            &email,
        );
    };
    // Whatever session the browser had is over: a new one, never the old token.
    if let Some(old) = auth::cookie(headers, SESSION_COOKIE) {
        let _ = app.store.delete_session(&auth::token_hash(&old)).await;
    }
    bind_owned_connections(&app, &email, user.account_id).await;
    match auth::start_session(&*app.store, user.id).await {
        Ok(token) => enter(&token),
        Err(error) => view_error(error.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    pub(super) csrf: String,
}

pub async fn sign_out(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(response) = signed_in_form(&app, &headers, &form.csrf).await {
        return response;
    }
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        let _ = app.store.delete_session(&auth::token_hash(&token)).await;
    }
    with_cookie(
        auth::set_cookie(SESSION_COOKIE, "", 0),
        Redirect::to("/signin").into_response(),
    )
}

/// Days the dashboard's chart covers.
const CHART_DAYS: i64 = 14;

/// One day's stacked bar: booked at the bottom, held on top.
pub struct Bar {
    x: i64,
    booked: i64,
    held: i64,
    booked_y: i64,
    booked_height: i64,
    held_y: i64,
    held_height: i64,
    label: String,
    short: String,
}

pub struct Chart {
    days: i64,
    width: i64,
    height: i64,
    bar_width: i64,
    booked: i64,
    held: i64,
    bars: Vec<Bar>,
}

impl Chart {
    fn of(activity: &[view::DayActivity]) -> Chart {
        let (height, bar_width, gap) = (120, 36, 8);
        let most = activity
            .iter()
            .map(|d| d.booked + d.held)
            .max()
            .unwrap_or(0)
            .max(1);
        let scale = |count: i64| count * height / most;
        let bars = activity
            .iter()
            .zip(0..)
            .map(|(day, index)| {
                let booked_height = scale(day.booked);
                let held_height = scale(day.held);
                Bar {
                    x: index * (bar_width + gap),
                    booked: day.booked,
                    held: day.held,
                    booked_y: height - booked_height,
                    booked_height,
                    held_y: height - booked_height - held_height,
                    held_height,
                    label: day.day.format("%Y-%m-%d").to_string(),
                    short: day.day.format("%d/%m").to_string(),
                }
            })
            .collect::<Vec<_>>();
        Chart {
            days: activity.len() as i64,
            width: (bar_width + gap) * activity.len() as i64,
            height,
            bar_width,
            booked: activity.iter().map(|d| d.booked).sum(),
            held: activity.iter().map(|d| d.held).sum(),
            bars,
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    connections: Vec<ConnectionSummary>,
    chart: Chart,
    amounts: Vec<view::Amounts>,
}

pub async fn dashboard(State(app): State<PanelState>, headers: HeaderMap) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let store = &*app.store;
    let account = session.account_id;
    let gathered = async {
        Ok::<_, ViewError>((
            view::connections(store, account).await?,
            view::activity(store, account, CHART_DAYS).await?,
            view::amounts(store, account, CHART_DAYS).await?,
        ))
    };
    match gathered.await {
        Ok((connections, activity, amounts)) => render(
            StatusCode::OK,
            &DashboardPage {
                nav,
                connections,
                chart: Chart::of(&activity),
                amounts,
            },
        ),
        Err(error) => view_error(error),
    }
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    nav: Nav,
    connections: Vec<String>,
    states: Vec<&'static str>,
    filter: DocumentFilter,
    documents: Vec<DocumentSummary>,
    truncated: bool,
}

pub async fn documents(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Query(filter): Query<DocumentFilter>,
) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let store = &*app.store;
    let listed = view::documents(store, session.account_id, &filter).await;
    let connections = view::connection_ids(store, session.account_id).await;
    match (listed, connections) {
        (Ok((documents, truncated)), Ok(connections)) => render(
            StatusCode::OK,
            &DocumentsPage {
                nav,
                connections,
                states: ledgerlink_store::DocState::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect(),
                filter,
                documents,
                truncated,
            },
        ),
        (Err(error), _) | (_, Err(error)) => view_error(error),
    }
}

/// A document's detail as the page shows it: JSON pretty-printed.
pub struct DocumentView {
    id: i64,
    connection: String,
    kind: String,
    number: String,
    reference: String,
    state: String,
    reason: String,
    target_id: String,
    attempts: i64,
    document: String,
    plan: String,
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage {
    nav: Nav,
    d: DocumentView,
    transitions: Vec<view::StateChange>,
    exchanges: Vec<view::LedgerExchange>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

pub async fn document(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(notice): Query<Notice>,
) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let detail = match view::document(&*app.store, session.account_id, id).await {
        Ok(detail) => detail,
        Err(error) => return view_error(error),
    };
    let pretty =
        |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let page = DocumentPage {
        nav,
        d: DocumentView {
            id: detail.summary.id,
            connection: detail.summary.connection,
            kind: detail.summary.kind,
            number: detail.summary.number,
            reference: detail.summary.reference,
            state: detail.summary.state,
            reason: detail.summary.reason,
            target_id: detail.target_id,
            attempts: detail.attempts,
            document: pretty(&detail.document),
            plan: detail
                .plan
                .as_ref()
                .map(pretty)
                .unwrap_or_else(|| "(none yet)".into()),
        },
        transitions: detail.history,
        exchanges: detail.exchanges,
        notice: match notice.done.as_deref() {
            Some("retry") => Some("Queued: the next worker round books it or says why not.".into()),
            Some("skip") => Some("Skipped: it will not be booked.".into()),
            _ => None,
        },
    };
    render(StatusCode::OK, &page)
}

pub async fn retry(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (session, _) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match view::retry(&*app.store, session.account_id, id).await {
        Ok(()) => Redirect::to(&format!("/documents/{id}?done=retry")).into_response(),
        Err(error) => view_error(error),
    }
}

/// A connection's health as the connections page shows it.
pub struct ConnectionView {
    id: String,
    source: &'static str,
    target: &'static str,
    /// The target connects through OAuth (Exact Online): the page offers to connect it.
    oauth: bool,
    connected: bool,
    connected_as: String,
    lapsed: Option<String>,
    token: String,
    budget: String,
    last_booked: String,
    /// Added in the panel: live since when (`None`: not live yet), what it still needs, and
    /// where its webhooks go.
    added: Option<AddedShopView>,
}

pub struct AddedShopView {
    live_since: Option<String>,
    not_ready: Vec<String>,
    webhook_url: Option<String>,
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    nav: Nav,
    connections: Vec<ConnectionView>,
    /// The form to add a shop, when this ledgerlink takes shops from the panel.
    add: Option<AddShopForm>,
}

/// The add-a-shop form as shown again after a refusal: what was sent (never the keys) and why.
#[derive(Default)]
pub struct AddShopForm {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub problems: Vec<String>,
}

async fn connection_view(app: &PanelState, id: String) -> Result<ConnectionView, ViewError> {
    let store = &*app.store;
    let running = app.engine.connection(&id);
    let exact = running.as_ref().and_then(|c| c.target.exact());
    let (source, target) = match &running {
        Some(c) => (
            match c.source {
                ledgerlink_engine::Source::Prestashop { .. } => "PrestaShop",
                ledgerlink_engine::Source::Woocommerce { .. } => "WooCommerce",
            },
            match c.target.kind() {
                ledgerlink_targets::TargetKind::Exact => "Exact Online",
                ledgerlink_targets::TargetKind::Tryton => "Tryton",
            },
        ),
        None => ("not running", "not running"),
    };
    let target_user = store.target_user(&id).await?;
    let token = match (exact, store.token(&id).await) {
        (None, _) => "a user name and password in the settings".to_string(),
        (Some(_), Ok(Some(token))) => format!(
            "authorised; the current token runs until {} and is renewed automatically",
            when(token.expires_at)
        ),
        (Some(_), Ok(None)) => "not connected: connect Exact Online below".to_string(),
        (Some(_), Err(error)) => format!("cannot be read: {error}"),
    };
    let budget = exact
        .and_then(|e| e.rate_budget())
        .map(|b| format!("{} of {}", b.daily_remaining, b.daily_limit))
        .unwrap_or_else(|| "not known until the next call".into());
    let last_booked = store
        .recent_documents(&id, Some(ledgerlink_store::DocState::Booked), None, 1)
        .await?
        .first()
        .map(|d| when(d.updated_at))
        .unwrap_or_else(|| "none yet".into());
    let added = match app.engine.added_shop(&id).await? {
        Some(live_since) => Some(AddedShopView {
            live_since: live_since.map(when),
            not_ready: app.engine.not_ready(&id).await?,
            webhook_url: match &running {
                Some(c) if matches!(c.source, ledgerlink_engine::Source::Woocommerce { .. }) => {
                    app.engine.shop_app().map(|shops| shops.webhook_url(&id))
                }
                _ => None,
            },
        }),
        None => None,
    };
    Ok(ConnectionView {
        added,
        oauth: exact.is_some(),
        connected: target_user.is_some(),
        connected_as: target_user
            .as_ref()
            .map(|u| format!("{} (since {})", u.display_name, when(u.connected_at)))
            .unwrap_or_else(|| "—".into()),
        lapsed: target_user.and_then(|u| u.lapsed_reason),
        id,
        source,
        target,
        token,
        budget,
        last_booked,
    })
}

pub async fn connections(State(app): State<PanelState>, headers: HeaderMap) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    connections_page(&app, session.account_id, nav, AddShopForm::default()).await
}

/// The connections page; `add` is the add-a-shop form as it is to be shown (with its
/// problems, answered 422).
pub(super) async fn connections_page(
    app: &PanelState,
    account: i64,
    nav: Nav,
    add: AddShopForm,
) -> Response {
    let status = if add.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ids = match view::connection_ids(&*app.store, account).await {
        Ok(ids) => ids,
        Err(error) => return view_error(error),
    };
    let mut connections = Vec::new();
    for id in ids {
        match connection_view(app, id).await {
            Ok(connection) => connections.push(connection),
            Err(error) => return view_error(error),
        }
    }
    // The connect buttons lead to Exact Online's sign-in, and from there to the app's
    // redirect URI.
    let mut exact_origins: Vec<String> = connections
        .iter()
        .filter_map(|c| {
            let running = app.engine.connection(&c.id)?;
            let url = url::Url::parse(&running.target.exact()?.authorization_url("")).ok()?;
            let back = url
                .query_pairs()
                .find(|(key, _)| key == "redirect_uri")
                .and_then(|(_, uri)| url::Url::parse(&uri).ok());
            Some(
                [Some(url), back]
                    .into_iter()
                    .flatten()
                    .map(|url| url.origin().ascii_serialization())
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect();
    exact_origins.sort();
    exact_origins.dedup();
    let add = app.engine.shop_app().map(|_| add);
    let mut response = render(
        status,
        &ConnectionsPage {
            nav,
            connections,
            add,
        },
    );
    if let Ok(policy) =
        header::HeaderValue::from_str(&super::content_security_policy(&exact_origins))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// Whether the connection is one of the account's; "not found" when it is not.
pub(super) async fn owned_connection(
    app: &PanelState,
    account: i64,
    id: &str,
) -> Result<(), Response> {
    match view::connection_ids(&*app.store, account).await {
        Ok(ids) if ids.iter().any(|own| own == id) => Ok(()),
        Ok(_) => Err(view_error(ViewError::NotFound)),
        Err(error) => Err(view_error(error)),
    }
}

/// The owner starts Exact Online's authorization-code flow for one of its connections.
pub async fn connect_exact(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (session, _) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = owned_connection(&app, session.account_id, &id).await {
        return response;
    }
    let running = app.engine.connection(&id);
    let Some(target) = running.as_ref().and_then(|c| c.target.exact()) else {
        return view_error(ViewError::Refused(
            "This connection's ledger is not connected through Exact Online's sign-in.".into(),
        ));
    };
    let (state, cookie) = app.oauth.begin(&id);
    crate::to_exact_sign_in(&target.authorization_url(&state), &cookie)
}

#[derive(Template)]
#[template(path = "dry_run.html")]
struct DryRunPage {
    nav: Nav,
    connection: String,
    from: String,
    until: String,
    problem: Option<String>,
    run: Option<ledgerlink_engine::dry_run::DryRun>,
}

#[derive(Deserialize)]
pub struct Period {
    from: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
}

/// Test mode: the form, and with a period, what it would book.
pub async fn dry_run(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(period): Query<Period>,
) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = owned_connection(&app, session.account_id, &id).await {
        return response;
    }
    let today = Utc::now().date_naive();
    let from = period.from.unwrap_or(today - chrono::Duration::days(7));
    let until = period.until.unwrap_or(today + chrono::Duration::days(1));
    let (run, problem, status) = if period.from.is_some() {
        match view::dry_run(&app.engine, session.account_id, &id, from, until).await {
            Ok(run) => (Some(run), None, StatusCode::OK),
            Err(ViewError::Refused(reason)) => {
                (None, Some(reason), StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(error) => return view_error(error),
        }
    } else {
        (None, None, StatusCode::OK)
    };
    render(
        status,
        &DryRunPage {
            nav,
            connection: id,
            from: from.to_string(),
            until: until.to_string(),
            problem,
            run,
        },
    )
}

pub async fn skip(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (session, _) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match view::skip(&*app.store, session.account_id, id, &session.email).await {
        Ok(()) => Redirect::to(&format!("/documents/{id}?done=skip")).into_response(),
        Err(error) => view_error(error),
    }
}

pub struct TokenView {
    id: i64,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Nav,
    tokens: Vec<TokenView>,
    new_token: Option<String>,
}

async fn tokens_page(
    app: &PanelState,
    session: &Session,
    nav: Nav,
    new_token: Option<String>,
) -> Response {
    let tokens = match app.store.api_tokens(session.account_id).await {
        Ok(tokens) => tokens,
        Err(error) => return view_error(error.into()),
    };
    let tokens = tokens
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            name: t.name,
            created: when(t.created_at),
            last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let status = if new_token.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = render(
        status,
        &TokensPage {
            nav,
            tokens,
            new_token,
        },
    );
    // A page that shows a secret is not kept by the browser or a proxy.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("valid"));
    response
}

pub async fn tokens(State(app): State<PanelState>, headers: HeaderMap) -> Response {
    match signed_in(&app, &headers).await {
        Ok((session, nav)) => tokens_page(&app, &session, nav, None).await,
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct NewToken {
    csrf: String,
    name: String,
}

pub async fn create_token(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Form(form): Form<NewToken>,
) -> Response {
    let (session, nav) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let name = form.name.trim();
    if name.is_empty() {
        return view_error(ViewError::Refused(
            "Give the token a name that says who or what uses it.".into(),
        ));
    }
    let token = format!("llk_{}", auth::random_token());
    if let Err(error) = app
        .store
        .create_api_token(
            session.account_id,
            name,
            &auth::token_hash(&token),
            Utc::now(),
        )
        .await
    {
        return view_error(error.into());
    }
    tokens_page(&app, &session, nav, Some(token)).await
}

pub async fn revoke_token(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (session, _) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match app.store.revoke_api_token(session.account_id, id).await {
        Ok(true) => Redirect::to("/tokens").into_response(),
        Ok(false) => view_error(ViewError::NotFound),
        Err(error) => view_error(error.into()),
    }
}

pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../templates/panel.css"),
    )
        .into_response()
}
