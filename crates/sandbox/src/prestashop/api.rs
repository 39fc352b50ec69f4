//! `/api/...`: the webservice dispatcher. Checks run in `WebserviceRequest::fetch()`'s order:
//! authentication (401, with `WWW-Authenticate`), the `language` parameter, the resource (400
//! unknown, 401 not granted to the key), the method (405; the key may GET and HEAD), then the
//! request itself (400 bad parameters, 404 unknown id).

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::query::{self, did_you_mean, php_int, Display, Params, PsError};
use super::render::{Format, Renderer};
use super::resources::{self, ALL_RESOURCES};
use super::sha1::sha1_hex;
use super::PrestaSandbox;
use crate::faults::{broken_response, delay, Fault};
use crate::recorder::RecordedRequest;

/// The version the emulated shop reports in `PSWS-Version`.
pub(crate) const PSWS_VERSION: &str = "8.1.7";

const REALM: &str = "Basic realm=\"Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required.\"";

/// A webservice answer before it becomes an HTTP response.
struct Reply {
    status: u16,
    format: Format,
    body: String,
    challenge: bool,
}

impl Reply {
    fn ok(format: Format, body: String) -> Self {
        Reply {
            status: 200,
            format,
            body,
            challenge: false,
        }
    }

    fn errors(renderer: &Renderer<'_>, errors: &[PsError]) -> Self {
        Reply {
            status: errors.last().map_or(500, |e| e.status),
            format: renderer.format,
            body: renderer.errors(errors),
            challenge: false,
        }
    }
}

/// `output_format` or `io_format` (query), else the `Output-Format` or `Io-Format` header;
/// anything but JSON is XML.
fn output_format(params: &Params, headers: &HeaderMap) -> Format {
    let requested = params
        .get("output_format")
        .or_else(|| params.get("io_format"))
        .map(str::to_string)
        .or_else(|| {
            ["output-format", "io-format"].iter().find_map(|name| {
                headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            })
        });
    match requested {
        Some(value) if value.trim().eq_ignore_ascii_case("json") => Format::Json,
        _ => Format::Xml,
    }
}

/// The key: `ws_key` first, then the HTTP Basic user name (any password).
fn key_of(params: &Params, headers: &HeaderMap) -> Option<String> {
    if let Some(key) = params.get("ws_key") {
        return Some(key.to_string());
    }
    let encoded = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.get(..6)
                .filter(|p| p.eq_ignore_ascii_case("basic "))
                .map(|_| &v[6..])
        })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    Some(pair.split(':').next().unwrap_or_default().to_string())
}

fn authenticate(key: Option<&str>, expected: &str) -> Result<(), PsError> {
    let error = |code, message: &str| Err(PsError::new(401, code, message));
    match key {
        None => error(
            16,
            "Please enter the authentication key as the login. No password required",
        ),
        Some("") => error(17, "Authentication key is empty"),
        Some(k) if k.len() != 32 => error(18, "Invalid authentication key format"),
        Some(k) if k != expected => error(19, "Authentication key does not exist"),
        Some(_) => Ok(()),
    }
}

/// PHP's `round(x, 3)` as it prints: "0.003", "0".
fn execution_time(started: Instant) -> String {
    let millis = started.elapsed().as_millis();
    if millis == 0 {
        return "0".to_string();
    }
    let text = format!("{}.{:03}", millis / 1000, millis % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn html(status: StatusCode, title: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html")
        .body(Body::from(format!(
            "<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center><hr><center>nginx</center></body></html>"
        )))
        .unwrap_or_else(|_| status.into_response())
}

impl PrestaSandbox {
    /// Answers one webservice request; `None` for paths outside `/api` (the shop's front
    /// office, which has nothing for a client).
    fn answer(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Reply> {
        let rest = uri.path().strip_prefix("/api")?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        let params = Params::parse(uri.query());
        let format = output_format(&params, headers);
        let ws = format!("{}/api/", self.site_url());
        let renderer = Renderer { ws: &ws, format };
        let method = params
            .get("ps_method")
            .map_or_else(|| method.as_str().to_string(), str::to_uppercase);

        if let Err(error) =
            authenticate(key_of(&params, headers).as_deref(), &self.config().api_key)
        {
            let mut reply = Reply::errors(&renderer, &[error]);
            reply.challenge = true;
            return Some(reply);
        }
        if let Err(error) = query::check_language(&params) {
            return Some(Reply::errors(&renderer, &[error]));
        }
        let name = segments[0];
        let resource = if name.is_empty() {
            None
        } else {
            match resources::find(name) {
                Some(resource) => Some(resource),
                None if ALL_RESOURCES.contains(&name) => {
                    return Some(Reply::errors(
                        &renderer,
                        &[PsError::new(
                            401,
                            26,
                            format!(
                                "Resource of type \"{name}\" is not allowed with this authentication key"
                            ),
                        )],
                    ))
                }
                None => {
                    return Some(Reply::errors(
                        &renderer,
                        &[did_you_mean(
                            400,
                            &format!("Resource of type \"{name}\" does not exists"),
                            name,
                            &ALL_RESOURCES,
                            27,
                        )],
                    ))
                }
            }
        };
        if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].contains(&method.as_str()) {
            return Some(Reply::errors(
                &renderer,
                &[PsError::new(
                    405,
                    23,
                    format!("Method {method} is not valid"),
                )],
            ));
        }
        if !["GET", "HEAD"].contains(&method.as_str()) {
            return Some(Reply::errors(
                &renderer,
                &[PsError::new(
                    405,
                    25,
                    format!(
                        "Method {method} is not allowed for the resource {name} with this authentication key"
                    ),
                )],
            ));
        }
        let Some(resource) = resource else {
            return Some(Reply::ok(format, renderer.resources()));
        };
        if let Some(schema) = params.get("schema") {
            return Some(Reply::errors(
                &renderer,
                &[PsError::new(
                    501,
                    0,
                    format!("The PrestaShop sandbox does not emulate ?schema={schema}"),
                )],
            ));
        }
        let display = match query::display(resource.schema, &params) {
            Ok(display) => display,
            Err(errors) => return Some(Reply::errors(&renderer, &errors)),
        };
        let records = {
            let shop = self.shop();
            (resource.records)(&shop)
        };
        let id = segments.get(1).filter(|s| !s.is_empty());
        Some(match id {
            Some(raw) => {
                let id = php_int(raw);
                match records.iter().find(|r| i64::try_from(r.id) == Ok(id)) {
                    Some(record) => Reply::ok(
                        format,
                        renderer.detail(resource.schema, record, &display.unwrap_or(Display::Full)),
                    ),
                    None => Reply::errors(
                        &renderer,
                        &[PsError::new(404, 87, format!("Id(s) not exists: {id}"))],
                    ),
                }
            }
            None => match query::select(resource.schema, records, &params) {
                Ok(selected) => Reply::ok(
                    format,
                    renderer.list(
                        resource.schema,
                        &selected,
                        &display.unwrap_or(Display::Minimum),
                    ),
                ),
                Err(error) => Reply::errors(&renderer, &[error]),
            },
        })
    }

    /// Renders GET /api/orders/{id} (XML) as the webservice would.
    pub(crate) fn render_order(&self, id: u64) -> String {
        let ws = format!("{}/api/", self.site_url());
        let renderer = Renderer {
            ws: &ws,
            format: Format::Xml,
        };
        let shop = self.shop();
        match shop.orders.get(&id) {
            Some(order) => renderer.detail(
                &resources::ORDERS,
                &resources::order(&shop, order),
                &Display::Full,
            ),
            None => renderer.errors(&[PsError::new(404, 87, format!("Id(s) not exists: {id}"))]),
        }
    }
}

fn into_response(reply: Reply, head: bool, headers: &HeaderMap, started: Instant) -> Response {
    let sha1 = sha1_hex(reply.body.as_bytes());
    let not_modified = reply.status == 200
        && headers
            .get("local-content-sha1")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == sha1);
    let status = if not_modified { 304 } else { reply.status };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, reply.format.content_type())
        .header("Execution-Time", execution_time(started))
        .header("PSWS-Version", PSWS_VERSION)
        .header("X-Powered-By", "PrestaShop Webservice");
    if reply.challenge {
        builder = builder.header(header::WWW_AUTHENTICATE, REALM);
    }
    let body = if head || not_modified {
        Body::empty()
    } else {
        builder = builder.header("Content-Sha1", sha1);
        Body::from(reply.body)
    };
    builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The fallback handler: every request outside `/__sandbox/`.
pub(crate) async fn webservice(
    State(sandbox): State<PrestaSandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let path = uri.path().to_string();
    let query = uri.query().map(str::to_string);
    let head = method == Method::HEAD;
    let fault = sandbox.faults().take(method.as_str(), &path);
    let reply = match fault {
        Some(Fault::ServerError) => {
            let params = Params::parse(uri.query());
            let ws = format!("{}/api/", sandbox.site_url());
            let renderer = Renderer {
                ws: &ws,
                format: output_format(&params, &headers),
            };
            Some(Reply::errors(
                &renderer,
                &[PsError::new(
                    500,
                    3,
                    "[PHP Warning #2] mysqli::query(): MySQL server has gone away (/var/www/html/classes/db/DbMySQLi.php, line 137)",
                )],
            ))
        }
        Some(Fault::TooManyRequests) => None,
        _ => sandbox.answer(&method, &uri, &headers),
    };
    let status = match (&fault, &reply) {
        (Some(Fault::TooManyRequests), _) => 429,
        (Some(Fault::ServerErrorAfterApply), _) => 503,
        (_, Some(reply)) => reply.status,
        (_, None) => 404,
    };
    sandbox.recorder().record(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        status,
        tenant: None,
        credential: None,
    });
    let Some(reply) = reply else {
        return match fault {
            Some(Fault::TooManyRequests) => {
                let mut response = html(StatusCode::TOO_MANY_REQUESTS, "429 Too Many Requests");
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
                response
            }
            _ => html(StatusCode::NOT_FOUND, "404 Not Found"),
        };
    };
    match fault {
        Some(Fault::ServerErrorAfterApply) => html(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Temporarily Unavailable",
        ),
        Some(Fault::LoseResponse) => {
            broken_response(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK))
        }
        Some(Fault::Slow { millis }) => {
            delay(millis).await;
            into_response(reply, head, &headers, started)
        }
        _ => into_response(reply, head, &headers, started),
    }
}
