//! `/api/v1/…`: routing, bearer authentication, rate and error-rate limits, fault injection,
//! content negotiation and the OData answers of every entity set.
//!
//! Order of checks per request: injected fault (`ServerError`, `TooManyRequests`) → error-rate
//! block of the endpoint → bearer token (401) → minutely/daily limits (429, nothing applied) →
//! `Accept: application/json` (406) → the request itself. Every answer carries the six
//! rate-limit headers; 400/401/403/404 answers count towards the error-rate block.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::entities::{Ctx, Division, Resource};
use super::odata::{self, Query, Row, Val};
use super::rate_limit::{Exceeded, RateHeaders};
use super::ExactSandbox;
use crate::faults::{broken_response, delay, Fault};
use crate::recorder::RecordedRequest;

/// A failed request: status plus the readable text Exact puts in `error.message.value`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

enum Payload {
    Json(Value),
    Text(String),
    Empty,
}

struct Reply {
    status: StatusCode,
    payload: Payload,
    location: Option<String>,
}

impl Reply {
    fn json(status: StatusCode, value: Value) -> Reply {
        Reply {
            status,
            payload: Payload::Json(value),
            location: None,
        }
    }

    fn error(status: StatusCode, message: impl Into<String>) -> Reply {
        Reply::json(
            status,
            json!({ "error": { "code": "", "message": { "lang": "", "value": message.into() } } }),
        )
    }
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Reply {
        Reply::error(error.status, error.message)
    }
}

/// What the URL addresses within an entity set.
enum Target {
    Collection,
    Count,
    Key(Val),
    Navigation(Val, String),
}

struct Route {
    /// Division of the URL (for `current/Me`: the user's current division); 0 when unreadable.
    division: i32,
    /// Division segment was readable (`current/Me` counts as readable).
    valid_division: bool,
    resource: Option<Resource>,
    /// `service/Entity`, lower-case: the unit of the error-rate limit.
    endpoint: String,
    target: Result<Target, ApiError>,
}

fn parse_route(path: &str, current_division: i32) -> Route {
    let rest = path.strip_prefix("/api/v1/").unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').collect();
    let (division, valid_division) = match segments.first() {
        Some(&"current") => (current_division, true),
        Some(d) => d.parse::<i32>().map_or((0, false), |d| (d, true)),
        None => (0, false),
    };
    let (service, entity_segment, extra) = if segments.first() == Some(&"current") {
        (
            "current",
            segments.get(1).copied().unwrap_or_default(),
            &segments[2.min(segments.len())..],
        )
    } else {
        (
            segments.get(1).copied().unwrap_or_default(),
            segments.get(2).copied().unwrap_or_default(),
            &segments[3.min(segments.len())..],
        )
    };
    let (entity, key_text) = match entity_segment.split_once('(') {
        Some((entity, rest)) => (entity, Some(rest.strip_suffix(')'))),
        None => (entity_segment, None),
    };
    // `Me` lives under `current/` only; nothing else does.
    let resource = Resource::lookup(service, entity)
        .filter(|r| (*r == Resource::Me) == (segments.first() == Some(&"current")));
    let endpoint = format!("{service}/{entity}").to_lowercase();
    let syntax = || ApiError::new(StatusCode::BAD_REQUEST, odata::SYNTAX_ERROR);
    let target = match resource {
        None => Ok(Target::Collection),
        Some(resource) => {
            let key = key_text.map(|text| {
                text.map(percent_decode)
                    .and_then(|t| resource.set().parse_key(&t))
                    .ok_or_else(syntax)
            });
            match (key, extra) {
                (None, []) => Ok(Target::Collection),
                (None, ["$count"]) => Ok(Target::Count),
                (Some(key), []) => key.map(Target::Key),
                (Some(key), [nav]) => key.map(|k| Target::Navigation(k, nav.to_string())),
                _ => Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("Resource not found for the segment '{}'.", extra.join("/")),
                )),
            }
        }
    };
    Route {
        division,
        valid_division,
        resource,
        endpoint,
        target,
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/json"))
}

fn wants_representation(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("return=representation") || v.contains("return-content"))
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Entry point for every `/api/v1/…` request.
pub async fn handle(
    State(sandbox): State<ExactSandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let current_division = sandbox.current_division();
    let route = parse_route(&path, current_division);
    let config = sandbox.config();
    let client = config.client_id.as_str();
    let now = sandbox.now_ms();
    let (daily, minutely) = (config.daily_limit, config.minutely_limit);

    let fault = sandbox.faults().take(method.as_str(), &path);
    let (mut reply, rate) = match &fault {
        Some(Fault::ServerError) => {
            let rate = sandbox
                .limits()
                .peek(client, route.division, now, daily, minutely);
            (
                Reply::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An internal error occurred (injected by the sandbox); nothing was applied.",
                ),
                rate,
            )
        }
        Some(Fault::TooManyRequests) => {
            let mut rate = sandbox
                .limits()
                .peek(client, route.division, now, daily, minutely);
            rate.minutely_remaining = 0;
            (
                Reply::error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests: the minutely API limit was reached (injected by the \
                     sandbox). Retry after X-RateLimit-Minutely-Reset.",
                ),
                rate,
            )
        }
        _ => process(&sandbox, &method, &uri, &headers, &body, &route, now),
    };

    match fault {
        Some(Fault::ServerErrorAfterApply) => {
            reply = Reply::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable (injected by the sandbox after the \
                 request was applied).",
            );
        }
        Some(Fault::Slow { millis }) => delay(millis).await,
        _ => {}
    }

    let status = reply.status;
    let mut response = if fault == Some(Fault::LoseResponse) {
        let broken_status = match (status, &method) {
            (StatusCode::NO_CONTENT, &Method::POST) => StatusCode::CREATED,
            (StatusCode::NO_CONTENT, _) => StatusCode::OK,
            (other, _) => other,
        };
        broken_response(broken_status)
    } else {
        into_response(reply)
    };
    rate.apply(response.headers_mut());
    sandbox.recorder().record(RecordedRequest {
        method: method.to_string(),
        path,
        query: uri.query().map(str::to_string),
        status: response.status().as_u16(),
        tenant: route.valid_division.then(|| route.division.to_string()),
        credential: bearer(&headers)
            .and_then(|token| sandbox.inner.auth.lock().unwrap().grant_of(token))
            .map(|grant| format!("consent-{grant}")),
    });
    response
}

fn into_response(reply: Reply) -> Response {
    let mut builder = Response::builder().status(reply.status);
    if let Some(location) = &reply.location {
        builder = builder.header(header::LOCATION, location);
    }
    let body = match reply.payload {
        Payload::Json(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json; charset=utf-8");
            Body::from(value.to_string())
        }
        Payload::Text(text) => {
            builder = builder.header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
            Body::from(text)
        }
        Payload::Empty => Body::empty(),
    };
    builder.body(body).expect("reply parts are valid")
}

/// Limits, authentication and the request itself; returns the answer and its rate headers.
fn process(
    sandbox: &ExactSandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    route: &Route,
    now: i64,
) -> (Reply, RateHeaders) {
    let config = sandbox.config();
    let client = config.client_id.as_str();
    let (daily, minutely) = (config.daily_limit, config.minutely_limit);
    let division = route.division;

    let blocked = sandbox
        .limits()
        .blocked_until(client, division, &route.endpoint, now);
    if let Some(until) = blocked {
        let rate = sandbox
            .limits()
            .peek(client, division, now, daily, minutely);
        let until = chrono::DateTime::from_timestamp_millis(until)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let message = format!(
            "API rate limit exceeded: your app is blocked for endpoint '{}' in division \
             {division} because it caused more than {} errors (400, 401, 403, 404) within an \
             hour. The block is lifted at {until}.",
            route.endpoint,
            super::rate_limit::MAX_ERRORS_PER_HOUR
        );
        return (Reply::error(StatusCode::TOO_MANY_REQUESTS, message), rate);
    }

    let authorized = match bearer(headers) {
        None => Err("Authorization header with a bearer access token is missing."),
        Some(token) => sandbox.inner.auth.lock().unwrap().check_access(token, now),
    };
    let (reply, rate) = match authorized {
        Err(reason) => {
            let rate = sandbox
                .limits()
                .peek(client, division, now, daily, minutely);
            (Reply::error(StatusCode::UNAUTHORIZED, reason), rate)
        }
        Ok(()) => {
            let consumed = sandbox
                .limits()
                .consume(client, division, now, daily, minutely);
            match consumed {
                Err((rate, exceeded)) => {
                    let message = match exceeded {
                        Exceeded::Minutely => format!(
                            "API rate limit exceeded: at most {} calls per minute per \
                             app and division. Retry after X-RateLimit-Minutely-Reset.",
                            minutely
                        ),
                        Exceeded::Daily => format!(
                            "API rate limit exceeded: at most {} calls per day per app \
                             and division. Retry after X-RateLimit-Reset.",
                            daily
                        ),
                    };
                    (Reply::error(StatusCode::TOO_MANY_REQUESTS, message), rate)
                }
                Ok(rate) => {
                    let is_count = matches!(route.target, Ok(Target::Count));
                    let reply = if !is_count && !accepts_json(headers) {
                        Reply::error(
                            StatusCode::NOT_ACCEPTABLE,
                            "This sandbox answers JSON only: send 'Accept: application/json' \
                             (without it Exact Online answers in Atom/XML).",
                        )
                    } else {
                        dispatch(sandbox, method, uri, headers, body, route, now)
                            .unwrap_or_else(Reply::from)
                    };
                    (reply, rate)
                }
            }
        }
    };
    if matches!(reply.status.as_u16(), 400 | 401 | 403 | 404) {
        sandbox
            .limits()
            .record_error(client, division, &route.endpoint, now);
    }
    (reply, rate)
}

fn not_allowed(method: &Method, resource: Resource) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "The HTTP method {method} is not allowed on {} in this sandbox.",
            resource.path()
        ),
    )
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let json_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !json_content {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json.",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Error processing request stream. The request should be a valid top-level resource \
             object.",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Error processing request stream. JSON text specified is not valid.",
        )),
    }
}

/// Renders rows of `resource` for the response.
struct Renderer<'a> {
    resource: Resource,
    base: String,
    division: Option<&'a Division>,
    select: Option<Vec<&'static str>>,
    expand: Vec<&'static str>,
}

impl Renderer<'_> {
    fn uri(&self, row: &Row) -> String {
        let set = self.resource.set();
        let key = set.key_literal(&odata::get(row, set.key, set.key_kind()));
        match (self.resource, self.division) {
            (Resource::Me, _) | (_, None) => {
                format!("{}/api/v1/current/{}({key})", self.base, "Me")
            }
            (resource, Some(d)) => {
                format!("{}/api/v1/{}/{}({key})", self.base, d.code, resource.path())
            }
        }
    }

    fn lines(&self, row: &Row) -> Vec<Value> {
        let key = self.resource.set().key;
        let (Some(division), Some((_, line_resource)), Some(id)) = (
            self.division,
            self.resource.lines(),
            row.get(key).and_then(Val::as_guid),
        ) else {
            return Vec::new();
        };
        let lines = Renderer {
            resource: line_resource,
            base: self.base.clone(),
            division: self.division,
            select: None,
            expand: Vec::new(),
        };
        division
            .lines_of(self.resource, id)
            .map(|rows| rows.iter().map(|l| lines.render(l)).collect())
            .unwrap_or_default()
    }

    fn render(&self, row: &Row) -> Value {
        let uri = self.uri(row);
        let expand = |name: &'static str| -> Option<Value> {
            let is_lines = self.resource.lines().is_some_and(|(nav, _)| nav == name);
            (is_lines && self.expand.contains(&name)).then(|| json!({ "results": self.lines(row) }))
        };
        self.resource
            .set()
            .render(row, &uri, self.select.as_deref(), &expand)
    }
}

fn dispatch(
    sandbox: &ExactSandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    route: &Route,
    now: i64,
) -> Result<Reply, ApiError> {
    let Some(resource) = route.resource else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("The resource '{}' was not found.", route.endpoint),
        ));
    };
    if !route.valid_division {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "The division in the URL must be a number (see current/Me, CurrentDivision).",
        ));
    }
    let target = match &route.target {
        Ok(target) => target,
        Err(error) => return Err(ApiError::new(error.status, error.message.clone())),
    };
    let user = &sandbox.inner.user;
    let ctx = Ctx { now, user };
    let mut divisions = sandbox.inner.divisions.lock().unwrap();
    let set = resource.set();
    let query =
        Query::parse(set, uri.query()).map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, m))?;
    if !query.expand.is_empty() && resource.lines().is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "$expand of '{}' is not supported by the sandbox.",
                query.expand.join(",")
            ),
        ));
    }
    let base = base_url(headers);

    // Resources outside a division's data: current/Me and system/Divisions.
    if matches!(resource, Resource::Me | Resource::Divisions) {
        if *method != Method::GET {
            return Err(not_allowed(method, resource));
        }
        if !divisions.contains_key(&route.division) {
            return Err(no_access(route.division));
        }
        let rows = match resource {
            Resource::Me => vec![sandbox.me_row(&divisions, route.division, now, bearer(headers))],
            _ => divisions
                .values()
                .map(|d| sandbox.division_row(d, route.division))
                .collect(),
        };
        let renderer = Renderer {
            resource,
            base,
            division: divisions.get(&route.division),
            select: query.select.clone(),
            expand: Vec::new(),
        };
        return read(&renderer, &query, target, rows, uri.path());
    }

    let division = divisions
        .get_mut(&route.division)
        .ok_or_else(|| no_access(route.division))?;

    let reply = match (method.as_str(), target) {
        ("GET", Target::Navigation(key, nav)) => {
            let Some((_, line_resource)) = resource.lines().filter(|(lines, _)| lines == nav)
            else {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("Resource not found for the segment '{nav}'."),
                ));
            };
            let id = key.as_guid().unwrap_or_default();
            let rows = division
                .lines_of(resource, id)
                .ok_or_else(|| not_found(resource, id))?
                .to_vec();
            let query = Query::parse(line_resource.set(), uri.query())
                .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, m))?;
            let renderer = Renderer {
                resource: line_resource,
                base,
                division: Some(division),
                select: query.select.clone(),
                expand: Vec::new(),
            };
            return read(&renderer, &query, &Target::Collection, rows, uri.path());
        }
        // PrintedSalesInvoices only processes: there is nothing to read back.
        ("GET", _) if resource == Resource::PrintedSalesInvoices => {
            return Err(not_allowed(method, resource))
        }
        ("GET", _) => {
            let rows = division.rows(resource);
            let renderer = Renderer {
                resource,
                base,
                division: Some(division),
                select: query.select.clone(),
                expand: query.expand.clone(),
            };
            return read(&renderer, &query, target, rows, uri.path());
        }
        ("POST", Target::Collection) => {
            let body = parse_body(headers, body)?;
            let row = match resource {
                Resource::Accounts => division.create_account(&body, &ctx)?,
                Resource::Addresses => division.create_address(&body, &ctx)?,
                Resource::Items => division.create_item(&body, &ctx)?,
                Resource::SalesEntries => {
                    let index = division.create_sales_entry(&body, &ctx)?;
                    division.entries[index].header.clone()
                }
                Resource::SalesInvoices => {
                    let index = division.create_sales_invoice(&body, &ctx)?;
                    division.invoices[index].header.clone()
                }
                Resource::PrintedSalesInvoices => division.print_sales_invoice(&body, &ctx)?,
                _ => return Err(not_allowed(method, resource)),
            };
            let renderer = Renderer {
                resource,
                base,
                division: Some(division),
                select: None,
                expand: resource
                    .lines()
                    .map(|(nav, _)| vec![nav])
                    .unwrap_or_default(),
            };
            let location = renderer.uri(&row);
            let mut reply = if wants_representation(headers) {
                Reply::json(StatusCode::CREATED, json!({ "d": renderer.render(&row) }))
            } else {
                Reply {
                    status: StatusCode::NO_CONTENT,
                    payload: Payload::Empty,
                    location: None,
                }
            };
            reply.location = Some(location);
            reply
        }
        ("PUT" | "PATCH" | "MERGE", Target::Key(key)) if resource == Resource::SalesEntries => {
            let body = parse_body(headers, body)?;
            let id = key.as_guid().unwrap_or_default();
            division.update_sales_entry(id, &body, &ctx)?;
            no_content()
        }
        // Accounts take PUT only, the reference's update method (Storable = POST/PUT/DELETE).
        ("PUT", Target::Key(key)) if resource == Resource::Accounts => {
            let body = parse_body(headers, body)?;
            division.update_account(key.as_guid().unwrap_or_default(), &body, &ctx)?;
            no_content()
        }
        ("PUT" | "PATCH" | "MERGE", Target::Key(key)) if resource == Resource::SalesInvoices => {
            let body = parse_body(headers, body)?;
            let id = key.as_guid().unwrap_or_default();
            division.update_sales_invoice(id, &body, &ctx)?;
            no_content()
        }
        ("DELETE", Target::Key(key)) if resource == Resource::SalesEntries => {
            division.delete_sales_entry(key.as_guid().unwrap_or_default())?;
            no_content()
        }
        ("DELETE", Target::Key(key)) if resource == Resource::SalesInvoices => {
            division.delete_sales_invoice(key.as_guid().unwrap_or_default())?;
            no_content()
        }
        _ => return Err(not_allowed(method, resource)),
    };
    Ok(reply)
}

fn no_content() -> Reply {
    Reply {
        status: StatusCode::NO_CONTENT,
        payload: Payload::Empty,
        location: None,
    }
}

fn no_access(division: i32) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("Forbidden: the user has no access to division {division}."),
    )
}

fn not_found(resource: Resource, id: Uuid) -> ApiError {
    let type_name = resource.set().type_name;
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "{} {id} was not found.",
            type_name.rsplit('.').next().unwrap_or_default()
        ),
    )
}

/// GET of a collection, its `$count`, or one entity by key.
fn read(
    renderer: &Renderer,
    query: &Query,
    target: &Target,
    rows: Vec<Row>,
    path: &str,
) -> Result<Reply, ApiError> {
    let set = renderer.resource.set();
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    match target {
        Target::Navigation(_, nav) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Resource not found for the segment '{nav}'."),
        )),
        Target::Key(key) => {
            let row = rows
                .iter()
                .find(|r| odata::get(r, set.key, set.key_kind()) == *key)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        format!(
                            "{} {} was not found.",
                            set.type_name.rsplit('.').next().unwrap_or_default(),
                            set.key_literal(key)
                        ),
                    )
                })?;
            Ok(Reply::json(
                StatusCode::OK,
                json!({ "d": renderer.render(row) }),
            ))
        }
        Target::Count => {
            let count = rows
                .iter()
                .filter(|r| query.filter.as_ref().is_none_or(|f| f.matches(r)))
                .count();
            Ok(Reply {
                status: StatusCode::OK,
                payload: Payload::Text(count.to_string()),
                location: None,
            })
        }
        Target::Collection => {
            let page = query.apply(set, rows).map_err(bad)?;
            let results: Vec<Value> = page.rows.iter().map(|r| renderer.render(r)).collect();
            let mut d = Map::new();
            d.insert("results".into(), Value::Array(results));
            if let Some(count) = page.count {
                d.insert("__count".into(), Value::String(count.to_string()));
            }
            if let Some(next) = page.next {
                d.insert(
                    "__next".into(),
                    Value::String(format!("{}{path}?{next}", renderer.base)),
                );
            }
            Ok(Reply::json(StatusCode::OK, json!({ "d": d })))
        }
    }
}
