//! `/wp-json/wc/v3/...`: routing, authentication, parameter validation, paging and the
//! resources, in the order WordPress applies them: WooCommerce's authentication error (wrong
//! key or secret) first, then route matching (`rest_no_route`), then parameter validation
//! (`rest_invalid_param`), then the permission check (401 `woocommerce_rest_cannot_*`), then
//! the handler.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::json::{php_json, SITE_UTC_OFFSET_SECS};
use super::model::{valid_topic, Address, Meta, Order};
use super::shop::{invalid_order_id, RefundItem, RefundRequest, Shop};
use super::spec::{AddressSpec, CustomerSpec, FeeSpec, LineSpec, OrderSpec, ShippingSpec};
use super::WooSandbox;
use crate::faults::{broken_response, delay, Fault};
use crate::recorder::RecordedRequest;

/// A WordPress REST error: `{"code", "message", "data": {"status", ...}}`.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub status: u16,
    code: String,
    message: String,
    data: Map<String, Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: &str) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.to_string(),
            data: Map::new(),
        }
    }

    /// `rest_invalid_param` as WordPress 5.5+ reports it, with `params` and `details`.
    fn invalid_param(param: &str, detail_code: &str, message: &str) -> Self {
        let mut error = ApiError::new(
            400,
            "rest_invalid_param",
            &format!("Invalid parameter(s): {param}"),
        );
        error
            .data
            .insert("params".into(), json!({ param: message }));
        error.data.insert(
            "details".into(),
            json!({ param: {"code": detail_code, "message": message, "data": null} }),
        );
        error
    }

    fn no_route() -> Self {
        ApiError::new(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        )
    }

    fn not_implemented(what: &str) -> Self {
        ApiError::new(
            501,
            "sandbox_not_implemented",
            &format!("The WooCommerce sandbox does not emulate {what}."),
        )
    }

    pub fn body(&self) -> Value {
        let mut data = Map::new();
        data.insert("status".into(), json!(self.status));
        data.extend(self.data.clone());
        json!({"code": self.code, "message": self.message, "data": data})
    }
}

/// A REST answer before it becomes an HTTP response.
pub(crate) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }

    fn created(body: Value, location: String) -> Self {
        Reply {
            status: 201,
            headers: vec![("Location".to_string(), location)],
            body,
        }
    }

    fn error(error: &ApiError) -> Self {
        Reply {
            status: error.status,
            headers: Vec::new(),
            body: error.body(),
        }
    }

    fn into_response(self) -> Response {
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8");
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Body::from(php_json(&self.body)))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// Query parameters as PHP sees them: a repeated plain key keeps its last value; `key[]` and
/// `key[N]` build a list, and a plain list parameter is also split on commas (`wp_parse_list`).
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

/// A parsed ISO-8601 date parameter: WordPress's `rest_parse_date` format, offset optional.
#[derive(Clone, Copy)]
struct ParamDate {
    naive: NaiveDateTime,
    offset: Option<FixedOffset>,
}

impl ParamDate {
    /// Without an offset the date is read in the column's zone: site time, or GMT with
    /// `dates_are_gmt=true`.
    fn instant(self, gmt: bool) -> DateTime<Utc> {
        match self.offset {
            Some(offset) => offset
                .from_local_datetime(&self.naive)
                .single()
                .map_or_else(
                    || Utc.from_utc_datetime(&self.naive),
                    |d| d.with_timezone(&Utc),
                ),
            None if gmt => Utc.from_utc_datetime(&self.naive),
            None => Utc.from_utc_datetime(&self.naive) - Duration::seconds(SITE_UTC_OFFSET_SECS),
        }
    }
}

fn parse_date(raw: &str) -> Option<ParamDate> {
    let raw = raw.trim();
    if raw.len() < 19 {
        return None;
    }
    let (head, tail) = raw.split_at(19);
    let head = head.replacen(['t', ' '], "T", 1);
    let naive = NaiveDateTime::parse_from_str(&head, "%Y-%m-%dT%H:%M:%S").ok()?;
    let mut rest = tail;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "" => None,
        "Z" | "z" => FixedOffset::east_opt(0),
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let body = &rest[1..];
            let (hours, minutes) = match body.len() {
                2 => (body, "00"),
                5 if &body[2..3] == ":" => (&body[..2], &body[3..]),
                _ => return None,
            };
            let hours: i32 = hours.parse().ok()?;
            let minutes: i32 = minutes.parse().ok()?;
            FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
        }
    };
    if !rest.is_empty() && offset.is_none() {
        return None;
    }
    Some(ParamDate { naive, offset })
}

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Params { pairs }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn list(&self, name: &str) -> Option<Vec<String>> {
        let indexed: Vec<String> = self
            .pairs
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('['))
                    .is_some_and(|rest| rest.ends_with(']'))
            })
            .map(|(_, v)| v.clone())
            .collect();
        if !indexed.is_empty() {
            return Some(indexed);
        }
        self.get(name).map(|v| {
            v.split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => raw.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid_param(
                    name,
                    "rest_invalid_type",
                    &format!("{name} is not of type integer."),
                )
            }),
        }
    }

    fn int_at_least(&self, name: &str, min: i64) -> Result<Option<i64>, ApiError> {
        match self.int(name)? {
            Some(v) if v < min => Err(ApiError::invalid_param(
                name,
                "rest_out_of_bounds",
                &format!("{name} must be greater than or equal to {min}"),
            )),
            v => Ok(v),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name).map(str::to_lowercase).as_deref() {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0" | "") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_param(
                name,
                "rest_invalid_type",
                &format!("{name} is not of type boolean."),
            )),
        }
    }

    fn one_of(&self, name: &str, options: &[&str], default: &str) -> Result<String, ApiError> {
        match self.get(name) {
            None => Ok(default.to_string()),
            Some(v) if options.contains(&v) => Ok(v.to_string()),
            Some(_) => Err(ApiError::invalid_param(
                name,
                "rest_not_in_enum",
                &format!("{name} is not one of {}.", options.join(", ")),
            )),
        }
    }

    fn date(&self, name: &str) -> Result<Option<ParamDate>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => parse_date(raw)
                .map(Some)
                .ok_or_else(|| ApiError::invalid_param(name, "rest_invalid_date", "Invalid date.")),
        }
    }

    fn ids(&self, name: &str) -> Result<Vec<u64>, ApiError> {
        self.list(name)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.parse::<u64>().map_err(|_| {
                    let item = format!("{name}[{i}]");
                    ApiError::invalid_param(
                        name,
                        "rest_invalid_type",
                        &format!("{item} is not of type integer."),
                    )
                })
            })
            .collect()
    }
}

/// `page`, `per_page` (1–100, default 10) and `offset`.
struct Paging {
    page: i64,
    per_page: i64,
    offset: Option<i64>,
}

impl Paging {
    fn from(params: &Params) -> Result<Self, ApiError> {
        let page = params.int_at_least("page", 1)?.unwrap_or(1);
        let per_page = match params.int("per_page")? {
            None => 10,
            Some(n) if (1..=100).contains(&n) => n,
            Some(_) => {
                return Err(ApiError::invalid_param(
                    "per_page",
                    "rest_out_of_bounds",
                    "per_page must be between 1 (inclusive) and 100 (inclusive)",
                ))
            }
        };
        let offset = params.int("offset")?;
        Ok(Paging {
            page,
            per_page,
            offset,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    List,
    View,
    Create,
    Edit,
    Delete,
}

/// One REST request on its way through the dispatcher.
struct Ctx {
    /// e.g. `/wc/v3/orders`
    route: String,
    params: Params,
    body: Result<Map<String, Value>, ApiError>,
    authenticated: bool,
    site: String,
}

impl Ctx {
    fn allow(&self, access: Access) -> Result<(), ApiError> {
        if self.authenticated {
            return Ok(());
        }
        let (code, message) = match access {
            Access::List => (
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot list resources.",
            ),
            Access::View => (
                "woocommerce_rest_cannot_view",
                "Sorry, you cannot view this resource.",
            ),
            Access::Create => (
                "woocommerce_rest_cannot_create",
                "Sorry, you are not allowed to create resources.",
            ),
            Access::Edit => (
                "woocommerce_rest_cannot_edit",
                "Sorry, you are not allowed to edit this resource.",
            ),
            Access::Delete => (
                "woocommerce_rest_cannot_delete",
                "Sorry, you are not allowed to delete this resource.",
            ),
        };
        Err(ApiError::new(401, code, message))
    }

    fn body(&self) -> Result<&Map<String, Value>, ApiError> {
        self.body.as_ref().map_err(Clone::clone)
    }

    /// Slices one page out of `items` and adds `X-WP-Total`, `X-WP-TotalPages` and a `Link`
    /// header (prev/next/last; one header, comma-joined, as `WP_HTTP_Response::header()` joins
    /// repeated headers). Link URLs repeat the request's query with `page` replaced.
    fn page<T>(&self, items: Vec<T>, paging: &Paging) -> (Vec<T>, Vec<(String, String)>) {
        let total = items.len() as i64;
        let pages = (total + paging.per_page - 1) / paging.per_page;
        let start = paging
            .offset
            .unwrap_or((paging.page - 1) * paging.per_page)
            .max(0);
        let slice: Vec<T> = items
            .into_iter()
            .skip(start as usize)
            .take(paging.per_page as usize)
            .collect();
        let mut headers = vec![
            ("X-WP-Total".to_string(), total.to_string()),
            ("X-WP-TotalPages".to_string(), pages.to_string()),
        ];
        let mut links = Vec::new();
        if paging.page > 1 {
            let prev = (paging.page - 1).min(pages.max(1));
            links.push(format!("<{}>; rel=\"prev\"", self.page_url(prev)));
        }
        if pages > paging.page {
            links.push(format!(
                "<{}>; rel=\"next\"",
                self.page_url(paging.page + 1)
            ));
        }
        if pages > 1 {
            links.push(format!("<{}>; rel=\"last\"", self.page_url(pages)));
        }
        if !links.is_empty() {
            headers.push(("Link".to_string(), links.join(", ")));
        }
        (slice, headers)
    }

    fn page_url(&self, page: i64) -> String {
        let mut replaced = false;
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.params.pairs {
            if key == "page" {
                if !replaced {
                    serializer.append_pair("page", &page.to_string());
                    replaced = true;
                }
            } else {
                serializer.append_pair(key, value);
            }
        }
        if !replaced {
            serializer.append_pair("page", &page.to_string());
        }
        format!(
            "{}/wp-json{}?{}",
            self.site,
            self.route,
            serializer.finish()
        )
    }
}

fn list_reply(items: Vec<Value>, headers: Vec<(String, String)>) -> Reply {
    Reply {
        status: 200,
        headers,
        body: Value::Array(items),
    }
}

/// The credentials a request carries: HTTP Basic first, then the query-string pair.
fn credentials(headers: &HeaderMap, params: &Params) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(k, s)| (k.to_string(), s.to_string()))
        });
    basic.or_else(
        || match (params.get("consumer_key"), params.get("consumer_secret")) {
            (Some(k), Some(s)) if !k.is_empty() && !s.is_empty() => {
                Some((k.to_string(), s.to_string()))
            }
            _ => None,
        },
    )
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok(url::form_urlencoded::parse(body)
            .into_owned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Ok(Map::new()),
        Err(e) => {
            let mut error = ApiError::new(400, "rest_invalid_json", "Invalid JSON body passed.");
            error.data.insert("json_error_code".into(), json!(4));
            error
                .data
                .insert("json_error_message".into(), json!(e.to_string()));
            Err(error)
        }
    }
}

/// The fallback handler: every `/wp-json/...` request (and any other unknown path).
pub(crate) async fn rest(
    State(shop): State<WooSandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().map(str::to_string);
    let fault = shop.faults().take(method.as_str(), &path);
    let reply = match fault {
        Some(Fault::ServerError) => Reply::error(&ApiError::new(
            500,
            "internal_server_error",
            "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>",
        )),
        Some(Fault::TooManyRequests) => Reply {
            status: 429,
            headers: vec![
                ("Retry-After".to_string(), "1".to_string()),
                ("RateLimit-Limit".to_string(), "25".to_string()),
                ("RateLimit-Remaining".to_string(), "0".to_string()),
                ("RateLimit-Reset".to_string(), "1".to_string()),
            ],
            body: ApiError::new(
                429,
                "rate_limit_exceeded",
                "Too many requests. Please wait and try again.",
            )
            .body(),
        },
        _ => shop
            .handle(&method, &path, query.as_deref(), &headers, &body)
            .await
            .unwrap_or_else(|e| Reply::error(&e)),
    };
    // Recorded before a slow answer is sent: a client that gives up drops the connection, and
    // with it this handler, but the request did reach the shop.
    let status = match fault {
        Some(Fault::ServerErrorAfterApply) => 503,
        _ => reply.status,
    };
    shop.recorder().record(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        status,
        tenant: None,
        credential: None,
    });
    match fault {
        Some(Fault::ServerErrorAfterApply) => Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from(
                "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>",
            ))
            .unwrap_or_else(|_| StatusCode::SERVICE_UNAVAILABLE.into_response()),
        Some(Fault::LoseResponse) => {
            broken_response(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK))
        }
        Some(Fault::Slow { millis }) => {
            delay(millis).await;
            reply.into_response()
        }
        _ => reply.into_response(),
    }
}

fn parse_id(raw: &str) -> Option<u64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

fn decimal_field(value: Option<&Value>, name: &str) -> Result<Option<Decimal>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<Decimal>().map(Some).map_err(|_| {
            ApiError::invalid_param(
                name,
                "rest_invalid_type",
                &format!("{name} is not of type number."),
            )
        }),
        Some(Value::Number(n)) => n.to_string().parse::<Decimal>().map(Some).map_err(|_| {
            ApiError::invalid_param(
                name,
                "rest_invalid_type",
                &format!("{name} is not of type number."),
            )
        }),
        Some(_) => Err(ApiError::invalid_param(
            name,
            "rest_invalid_type",
            &format!("{name} is not of type number."),
        )),
    }
}

fn array_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a [Value], ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ApiError::invalid_param(
            name,
            "rest_invalid_type",
            &format!("{name} is not of type array."),
        )),
    }
}

fn str_field(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn bool_field(body: &Map<String, Value>, name: &str) -> Option<bool> {
    body.get(name).and_then(|v| match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1" | "yes")),
        Value::Number(n) => Some(n.as_i64() != Some(0)),
        _ => None,
    })
}

fn sort_dir<T>(items: &mut [T], order: &str, key: impl Fn(&T, &T) -> std::cmp::Ordering) {
    items.sort_by(|a, b| {
        let ord = key(a, b);
        if order == "asc" {
            ord
        } else {
            ord.reverse()
        }
    });
}

fn status_param_error(name: &str, index: usize, allowed: &[String]) -> ApiError {
    let item = format!("{name}[{index}]");
    ApiError::invalid_param(
        name,
        "rest_not_in_enum",
        &format!("{item} is not one of {}.", allowed.join(", ")),
    )
}

impl WooSandbox {
    /// Routes one REST request. `Err` is rendered as the WordPress error object.
    async fn handle(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Reply, ApiError> {
        let Some(route) = path.strip_prefix("/wp-json") else {
            return Err(ApiError::no_route());
        };
        let route = route.trim_end_matches('/').to_lowercase();
        let params = Params::parse(query);
        let mut authenticated = false;
        if route.starts_with("/wc/") {
            if let Some((key, secret)) = credentials(headers, &params) {
                let config = self.config();
                if key != config.consumer_key {
                    return Err(ApiError::new(
                        401,
                        "woocommerce_rest_authentication_error",
                        "Consumer key is invalid.",
                    ));
                }
                if secret != config.consumer_secret {
                    return Err(ApiError::new(
                        401,
                        "woocommerce_rest_authentication_error",
                        "Consumer secret is invalid.",
                    ));
                }
                authenticated = true;
            }
        }
        let ctx = Ctx {
            route: route.clone(),
            params,
            body: if [Method::POST, Method::PUT, Method::PATCH].contains(method) {
                parse_body(headers, body)
            } else {
                Ok(Map::new())
            },
            authenticated,
            site: self.site_url(),
        };
        let segments: Vec<&str> = route.split('/').skip(1).collect();
        let Some(rest) = segments.strip_prefix(&["wc", "v3"]) else {
            return Err(ApiError::no_route());
        };
        let get = method == Method::GET || method == Method::HEAD;
        let create = method == Method::POST;
        let edit = [Method::POST, Method::PUT, Method::PATCH].contains(method);
        let delete = method == Method::DELETE;
        match rest {
            ["orders"] if get => self.list_orders(&ctx),
            ["orders"] if create => self.create_order_rest(&ctx),
            ["orders", "batch"] if edit => Err(ApiError::not_implemented("batch requests")),
            ["orders", id] => match parse_id(id) {
                Some(id) if get => self.get_order(&ctx, id),
                Some(id) if edit => self.update_order(&ctx, id),
                Some(id) if delete => self.delete_order_rest(&ctx, id),
                _ => Err(ApiError::no_route()),
            },
            ["orders", id, "refunds"] => match parse_id(id) {
                Some(id) if get => self.list_refunds(&ctx, id),
                Some(id) if create => self.create_refund_rest(&ctx, id),
                _ => Err(ApiError::no_route()),
            },
            ["orders", id, "refunds", refund] => match (parse_id(id), parse_id(refund)) {
                (Some(id), Some(refund)) if get => self.get_refund(&ctx, id, refund),
                (Some(id), Some(refund)) if delete => self.delete_refund_rest(&ctx, id, refund),
                _ => Err(ApiError::no_route()),
            },
            ["orders", id, "notes", ..] if parse_id(id).is_some() => {
                Err(ApiError::not_implemented("order notes"))
            }
            ["customers"] if get => self.list_customers(&ctx),
            ["customers", id] if get && parse_id(id).is_some() => {
                self.get_customer(&ctx, parse_id(id).unwrap_or_default())
            }
            ["customers", ..] if edit || delete => {
                Err(ApiError::not_implemented("changes to customers"))
            }
            ["products"] if get => self.list_products(&ctx),
            ["products", id] if get && parse_id(id).is_some() => {
                self.get_product(&ctx, parse_id(id).unwrap_or_default())
            }
            ["products", ..] if edit || delete => {
                Err(ApiError::not_implemented("changes to products"))
            }
            ["taxes"] if get => self.list_taxes(&ctx),
            ["taxes", "classes"] if get => self.tax_classes(&ctx),
            ["taxes", id] if get && parse_id(id).is_some() => {
                self.get_tax(&ctx, parse_id(id).unwrap_or_default())
            }
            ["taxes", ..] if edit || delete => {
                Err(ApiError::not_implemented("changes to tax rates"))
            }
            ["webhooks"] if get => self.list_webhooks(&ctx),
            ["webhooks"] if create => self.create_webhook_rest(&ctx).await,
            ["webhooks", "batch"] if edit => Err(ApiError::not_implemented("batch requests")),
            ["webhooks", id] => match parse_id(id) {
                Some(id) if get => self.get_webhook(&ctx, id),
                Some(id) if edit => self.update_webhook(&ctx, id),
                Some(id) if delete => self.delete_webhook(&ctx, id),
                _ => Err(ApiError::no_route()),
            },
            _ => Err(ApiError::no_route()),
        }
    }

    // ----- orders -----------------------------------------------------------------------

    fn list_orders(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        let p = &ctx.params;
        let paging = Paging::from(p)?;
        let after = p.date("after")?;
        let before = p.date("before")?;
        let modified_after = p.date("modified_after")?;
        let modified_before = p.date("modified_before")?;
        let gmt = p.boolean("dates_are_gmt")?.unwrap_or(false);
        let include = p.ids("include")?;
        let exclude = p.ids("exclude")?;
        let parent = p.ids("parent")?;
        let order = p.one_of("order", &["asc", "desc"], "desc")?;
        let orderby = p.one_of(
            "orderby",
            &["date", "id", "include", "title", "slug", "modified"],
            "date",
        )?;
        let customer = p.int("customer")?;
        let product = p.int("product")?;
        let search = p.get("search").unwrap_or("").to_string();
        let shop = self.shop();
        let mut allowed = vec!["any".to_string(), "trash".to_string()];
        allowed.extend(shop.statuses());
        let statuses = p.list("status").unwrap_or_else(|| vec!["any".to_string()]);
        for (i, status) in statuses.iter().enumerate() {
            if !allowed.contains(status) {
                return Err(status_param_error("status", i, &allowed));
            }
        }
        ctx.allow(Access::List)?;

        let any = statuses.iter().any(|s| s == "any");
        let mut orders: Vec<&Order> = shop
            .orders
            .values()
            .filter(|o| {
                if any {
                    o.status != "trash" && o.status != "checkout-draft"
                } else {
                    statuses.contains(&o.status)
                }
            })
            .filter(|o| after.is_none_or(|d| o.date_created > d.instant(gmt)))
            .filter(|o| before.is_none_or(|d| o.date_created < d.instant(gmt)))
            .filter(|o| modified_after.is_none_or(|d| o.date_modified > d.instant(gmt)))
            .filter(|o| modified_before.is_none_or(|d| o.date_modified < d.instant(gmt)))
            .filter(|o| include.is_empty() || include.contains(&o.id))
            .filter(|o| !exclude.contains(&o.id))
            // Every order here is a top-level order (parent_id 0).
            .filter(|_| parent.is_empty() || parent.contains(&0))
            .filter(|o| customer.is_none_or(|c| o.customer_id as i64 == c))
            .filter(|o| {
                product.is_none_or(|id| o.totals.lines.iter().any(|l| l.product_id as i64 == id))
            })
            .filter(|o| search.is_empty() || o.matches_search(&search))
            .collect();
        match orderby.as_str() {
            "id" => sort_dir(&mut orders, &order, |a, b| a.id.cmp(&b.id)),
            "include" => {
                let pos = |o: &Order| include.iter().position(|i| *i == o.id);
                sort_dir(&mut orders, &order, |a, b| pos(a).cmp(&pos(b)));
            }
            "title" => sort_dir(&mut orders, &order, |a, b| {
                (a.post_title(), a.id).cmp(&(b.post_title(), b.id))
            }),
            "slug" => sort_dir(&mut orders, &order, |a, b| {
                (a.post_name(), a.id).cmp(&(b.post_name(), b.id))
            }),
            "modified" => sort_dir(&mut orders, &order, |a, b| {
                (a.date_modified, a.id).cmp(&(b.date_modified, b.id))
            }),
            _ => sort_dir(&mut orders, &order, |a, b| {
                (a.date_created, a.id).cmp(&(b.date_created, b.id))
            }),
        }
        let (page, headers) = ctx.page(orders, &paging);
        let items = page.iter().map(|o| shop.order_json(o, &ctx.site)).collect();
        Ok(list_reply(items, headers))
    }

    fn get_order(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        ctx.allow(Access::View)?;
        self.shop()
            .order_json_by_id(id, &ctx.site)
            .map(Reply::ok)
            .ok_or_else(invalid_order_id)
    }

    /// `POST /orders`: prices, tax classes and names come from the catalogue, tax rates from
    /// the shop's tax table for the shipping (else billing) country, as WooCommerce computes an
    /// order created through the API.
    fn create_order_rest(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        let body = ctx.body()?;
        let mut shop = self.shop();
        let statuses = shop.statuses();
        let status = match str_field(body, "status") {
            Some(s) if !statuses.contains(&s) => {
                return Err(ApiError::invalid_param(
                    "status",
                    "rest_not_in_enum",
                    &format!("status is not one of {}.", statuses.join(", ")),
                ))
            }
            Some(s) => s,
            None => "pending".to_string(),
        };
        let line_items = array_field(body, "line_items")?;
        let shipping_lines = array_field(body, "shipping_lines")?;
        let fee_lines = array_field(body, "fee_lines")?;
        let coupon_lines = array_field(body, "coupon_lines")?;
        ctx.allow(Access::Create)?;

        if let Some(code) = coupon_lines
            .iter()
            .find_map(|c| c.get("code").and_then(Value::as_str))
        {
            return Err(ApiError::new(
                400,
                "woocommerce_rest_invalid_coupon",
                &format!("Coupon \"{code}\" does not exist!"),
            ));
        }
        let customer_id = body.get("customer_id").and_then(Value::as_u64).unwrap_or(0);
        if customer_id > 0 && !shop.customers.contains_key(&customer_id) {
            return Err(ApiError::new(
                400,
                "woocommerce_rest_invalid_customer_id",
                "Customer ID is invalid.",
            ));
        }
        let mut billing = Address {
            country: "NL".to_string(),
            ..Address::default()
        };
        if let Some(Value::Object(patch)) = body.get("billing") {
            billing.merge(patch);
        }
        let mut shipping = Address::default();
        if let Some(Value::Object(patch)) = body.get("shipping") {
            shipping.merge(patch);
        }
        let country = if shipping.country.is_empty() {
            billing.country.clone()
        } else {
            shipping.country.clone()
        };
        let rate_for = |shop: &Shop, class: &str| {
            let class = if class.is_empty() { "standard" } else { class };
            shop.rates
                .iter()
                .find(|r| r.country == country && r.class == class)
                .map_or(Decimal::ZERO, |r| r.rate)
        };
        let mut lines = Vec::new();
        for item in line_items {
            let product_id = item.get("product_id").and_then(Value::as_u64).unwrap_or(0);
            let product = shop.products.get(&product_id).cloned().ok_or_else(|| {
                ApiError::new(
                    400,
                    "woocommerce_rest_invalid_product_id",
                    "Product ID provided is invalid.",
                )
            })?;
            let quantity = item.get("quantity").and_then(Value::as_u64).unwrap_or(1) as u32;
            let unit_price = match decimal_field(item.get("total"), "total")? {
                Some(total) if quantity > 0 => total / Decimal::from(quantity),
                _ => product.price,
            };
            lines.push(LineSpec {
                product_id,
                variation_id: item
                    .get("variation_id")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                name: product.name.clone(),
                sku: product.sku.clone(),
                quantity,
                unit_price,
                tax_rate: rate_for(&shop, &product.tax_class),
                tax_class: product.tax_class.clone(),
            });
        }
        let shipping_line = match shipping_lines.first() {
            Some(line) => Some(ShippingSpec {
                method_title: line
                    .get("method_title")
                    .and_then(Value::as_str)
                    .unwrap_or("Flat rate")
                    .to_string(),
                method_id: line
                    .get("method_id")
                    .and_then(Value::as_str)
                    .unwrap_or("flat_rate")
                    .to_string(),
                total: decimal_field(line.get("total"), "total")?.unwrap_or_default(),
                tax_rate: shop
                    .rates
                    .iter()
                    .find(|r| r.country == country && r.class == "standard" && r.shipping)
                    .map_or(Decimal::ZERO, |r| r.rate),
            }),
            None => None,
        };
        let mut fees = Vec::new();
        for fee in fee_lines {
            let class = fee
                .get("tax_class")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let taxable = fee.get("tax_status").and_then(Value::as_str) != Some("none");
            fees.push(FeeSpec {
                name: fee
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                total: decimal_field(fee.get("total"), "total")?.unwrap_or_default(),
                tax_rate: if taxable {
                    rate_for(&shop, &class)
                } else {
                    Decimal::ZERO
                },
                tax_class: class,
            });
        }
        let set_paid = bool_field(body, "set_paid").unwrap_or(false);
        let meta = array_field(body, "meta_data")?
            .iter()
            .filter_map(|m| {
                let key = m.get("key")?.as_str()?.to_string();
                Some((key, meta_value(m.get("value"))))
            })
            .collect();
        let ship_to = |a: &Address| AddressSpec {
            address_1: a.address_1.clone(),
            address_2: a.address_2.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            postcode: a.postcode.clone(),
            country: a.country.clone(),
        };
        let spec = OrderSpec {
            status: if set_paid {
                "processing".to_string()
            } else {
                status
            },
            currency: str_field(body, "currency").unwrap_or_else(|| "EUR".to_string()),
            prices_include_tax: false,
            date_created: None,
            customer: CustomerSpec {
                customer_id,
                first_name: billing.first_name.clone(),
                last_name: billing.last_name.clone(),
                company: billing.company.clone(),
                email: billing.email.clone(),
                phone: billing.phone.clone(),
            },
            billing: ship_to(&billing),
            shipping: (!shipping.country.is_empty()).then(|| ship_to(&shipping)),
            vat_number: None,
            lines,
            shipping_line,
            fees,
            coupons: Vec::new(),
            payment_method: str_field(body, "payment_method").unwrap_or_default(),
            payment_method_title: str_field(body, "payment_method_title").unwrap_or_default(),
            transaction_id: str_field(body, "transaction_id").unwrap_or_default(),
            customer_note: str_field(body, "customer_note").unwrap_or_default(),
            meta,
        };
        let id = shop.create_order(&spec, "rest-api");
        let json = shop
            .order_json_by_id(id, &ctx.site)
            .ok_or_else(invalid_order_id)?;
        drop(shop);
        self.kick();
        Ok(Reply::created(
            json,
            format!("{}/wp-json/wc/v3/orders/{id}", ctx.site),
        ))
    }

    /// `PUT /orders/{id}`: status, note, transaction/payment fields, addresses, meta, set_paid.
    /// Item changes are not emulated and are ignored.
    fn update_order(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        let body = ctx.body()?;
        let mut shop = self.shop();
        let statuses = shop.statuses();
        let status = str_field(body, "status");
        if let Some(s) = &status {
            if !statuses.contains(s) && s != "trash" {
                return Err(ApiError::invalid_param(
                    "status",
                    "rest_not_in_enum",
                    &format!("status is not one of {}.", statuses.join(", ")),
                ));
            }
        }
        ctx.allow(Access::Edit)?;
        if !shop.orders.contains_key(&id) {
            return Err(invalid_order_id());
        }
        let metas: Vec<(Option<u64>, String, String)> = array_field(body, "meta_data")?
            .iter()
            .filter_map(|m| {
                let key = m.get("key")?.as_str()?.to_string();
                Some((
                    m.get("id").and_then(Value::as_u64),
                    key,
                    meta_value(m.get("value")),
                ))
            })
            .collect();
        let positions: Vec<Option<usize>> = {
            let order = shop.orders.get(&id).ok_or_else(invalid_order_id)?;
            metas
                .iter()
                .map(|(meta_id, key, _)| {
                    order
                        .meta
                        .iter()
                        .position(|m| meta_id.map_or(m.key == *key, |i| m.id == i))
                })
                .collect()
        };
        let fresh: Vec<Meta> = metas
            .iter()
            .zip(&positions)
            .filter(|(_, position)| position.is_none())
            .map(|((_, key, value), _)| shop.meta(key, value))
            .collect();
        let at = shop.tick();
        let order = shop.orders.get_mut(&id).ok_or_else(invalid_order_id)?;
        let mut changed = !fresh.is_empty();
        for (field, slot) in [
            ("customer_note", &mut order.customer_note),
            ("transaction_id", &mut order.transaction_id),
            ("payment_method", &mut order.payment_method),
            ("payment_method_title", &mut order.payment_method_title),
        ] {
            if let Some(value) = str_field(body, field) {
                changed |= *slot != value;
                *slot = value;
            }
        }
        for (name, address) in [
            ("billing", &mut order.billing),
            ("shipping", &mut order.shipping),
        ] {
            if let Some(Value::Object(patch)) = body.get(name) {
                address.merge(patch);
                changed = true;
            }
        }
        for ((_, _, value), position) in metas.iter().zip(&positions) {
            if let Some(p) = position {
                changed |= order.meta[*p].value != *value;
                order.meta[*p].value = value.clone();
            }
        }
        order.meta.extend(fresh);
        if changed {
            order.date_modified = at;
        }
        if changed {
            shop.fire("updated", id);
        }
        let status = match (status, bool_field(body, "set_paid")) {
            (Some(s), _) => Some(s),
            (None, Some(true)) => Some("processing".to_string()),
            _ => None,
        };
        if let Some(status) = status {
            shop.set_status(id, &status)?;
        }
        let json = shop
            .order_json_by_id(id, &ctx.site)
            .ok_or_else(invalid_order_id)?;
        drop(shop);
        self.kick();
        Ok(Reply::ok(json))
    }

    fn delete_order_rest(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        let force = ctx.params.boolean("force")?.unwrap_or(false);
        ctx.allow(Access::Delete)?;
        let json = self.shop().delete_order(id, force, &ctx.site)?;
        self.kick();
        Ok(Reply::ok(json))
    }

    // ----- refunds ----------------------------------------------------------------------

    fn list_refunds(&self, ctx: &Ctx, order_id: u64) -> Result<Reply, ApiError> {
        let paging = Paging::from(&ctx.params)?;
        let order = ctx.params.one_of("order", &["asc", "desc"], "desc")?;
        let orderby = ctx.params.one_of(
            "orderby",
            &["date", "id", "include", "title", "slug", "modified"],
            "date",
        )?;
        ctx.allow(Access::List)?;
        let shop = self.shop();
        let mut refunds: Vec<_> = shop
            .refunds
            .values()
            .filter(|r| r.order_id == order_id)
            .collect();
        if orderby == "date" || orderby == "modified" {
            sort_dir(&mut refunds, &order, |a, b| {
                (a.date_created, a.id).cmp(&(b.date_created, b.id))
            });
        } else {
            sort_dir(&mut refunds, &order, |a, b| a.id.cmp(&b.id));
        }
        let (page, headers) = ctx.page(refunds, &paging);
        Ok(list_reply(
            page.iter().map(|r| r.json(&ctx.site)).collect(),
            headers,
        ))
    }

    fn get_refund(&self, ctx: &Ctx, order_id: u64, refund_id: u64) -> Result<Reply, ApiError> {
        ctx.allow(Access::View)?;
        let shop = self.shop();
        Ok(Reply::ok(
            shop.find_refund(order_id, refund_id)?.json(&ctx.site),
        ))
    }

    fn delete_refund_rest(
        &self,
        ctx: &Ctx,
        order_id: u64,
        refund_id: u64,
    ) -> Result<Reply, ApiError> {
        let force = ctx.params.boolean("force")?.unwrap_or(false);
        ctx.allow(Access::Delete)?;
        if !force {
            return Err(ApiError::new(
                501,
                "woocommerce_rest_trash_not_supported",
                "Refunds do not support trashing.",
            ));
        }
        let refund = self.shop().delete_refund(order_id, refund_id)?;
        Ok(Reply::ok(refund.json(&ctx.site)))
    }

    /// `POST /orders/{id}/refunds`: `amount` (optional; defaults to the sum of the line refunds),
    /// `reason`, `refunded_by`, `line_items[{id, quantity, refund_total, refund_tax[{id,
    /// refund_total}]}]`, `api_refund` (default true: refund through the gateway, which fails for
    /// gateways without refund support such as bacs, cheque and cod).
    fn create_refund_rest(&self, ctx: &Ctx, order_id: u64) -> Result<Reply, ApiError> {
        let body = ctx.body()?;
        let amount = decimal_field(body.get("amount"), "amount")?;
        let mut items = Vec::new();
        for item in array_field(body, "line_items")? {
            let item_id = match item.get("id") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            };
            let Some(item_id) = item_id else { continue };
            let mut taxes = Vec::new();
            if let Some(Value::Array(list)) = item.get("refund_tax") {
                for tax in list {
                    let rate = match tax.get("id") {
                        Some(Value::Number(n)) => n.as_u64(),
                        Some(Value::String(s)) => s.parse().ok(),
                        _ => None,
                    };
                    if let (Some(rate), Some(total)) = (
                        rate,
                        decimal_field(tax.get("refund_total"), "refund_total")?,
                    ) {
                        taxes.push((rate, total));
                    }
                }
            }
            items.push(RefundItem {
                item_id,
                quantity: item.get("quantity").and_then(Value::as_u64).unwrap_or(0) as u32,
                total: decimal_field(item.get("refund_total"), "refund_total")?.unwrap_or_default(),
                taxes,
            });
        }
        ctx.allow(Access::Create)?;
        let request = RefundRequest {
            amount,
            items,
            reason: str_field(body, "reason").unwrap_or_default(),
            refund_payment: bool_field(body, "api_refund").unwrap_or(true),
            refunded_by: body.get("refunded_by").and_then(Value::as_u64).unwrap_or(1),
        };
        let mut shop = self.shop();
        let refund_id = shop.create_refund(order_id, request)?;
        let json = shop.find_refund(order_id, refund_id)?.json(&ctx.site);
        drop(shop);
        self.kick();
        Ok(Reply::created(
            json,
            format!(
                "{}/wp-json/wc/v3/orders/{order_id}/refunds/{refund_id}",
                ctx.site
            ),
        ))
    }

    // ----- customers, products, taxes ---------------------------------------------------

    fn list_customers(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        let p = &ctx.params;
        let paging = Paging::from(p)?;
        let order = p.one_of("order", &["asc", "desc"], "asc")?;
        let orderby = p.one_of(
            "orderby",
            &["id", "include", "name", "registered_date"],
            "name",
        )?;
        let role = p.one_of(
            "role",
            &[
                "all",
                "administrator",
                "editor",
                "author",
                "contributor",
                "subscriber",
                "customer",
                "shop_manager",
            ],
            "customer",
        )?;
        let include = p.ids("include")?;
        let exclude = p.ids("exclude")?;
        ctx.allow(Access::List)?;
        let email = p.get("email").map(str::to_lowercase);
        let search = p.get("search").unwrap_or("").to_lowercase();
        let shop = self.shop();
        let mut customers: Vec<_> = shop
            .customers
            .values()
            .filter(|_| role == "all" || role == "customer")
            .filter(|c| email.as_ref().is_none_or(|e| c.email.to_lowercase() == *e))
            .filter(|c| include.is_empty() || include.contains(&c.id))
            .filter(|c| !exclude.contains(&c.id))
            .filter(|c| {
                search.is_empty()
                    || [&c.email, &c.username, &c.first_name, &c.last_name]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&search))
            })
            .collect();
        match orderby.as_str() {
            "id" => sort_dir(&mut customers, &order, |a, b| a.id.cmp(&b.id)),
            "include" => {
                let pos = |id: u64| include.iter().position(|i| *i == id);
                sort_dir(&mut customers, &order, |a, b| pos(a.id).cmp(&pos(b.id)));
            }
            "registered_date" => sort_dir(&mut customers, &order, |a, b| {
                (a.date_created, a.id).cmp(&(b.date_created, b.id))
            }),
            // WordPress sorts "name" on display_name, which defaults to the login name.
            _ => sort_dir(&mut customers, &order, |a, b| a.username.cmp(&b.username)),
        }
        let (page, headers) = ctx.page(customers, &paging);
        Ok(list_reply(
            page.iter().map(|c| c.json(&ctx.site)).collect(),
            headers,
        ))
    }

    fn get_customer(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        ctx.allow(Access::View)?;
        self.shop()
            .customers
            .get(&id)
            .map(|c| Reply::ok(c.json(&ctx.site)))
            .ok_or_else(|| {
                ApiError::new(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            })
    }

    fn list_products(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        let p = &ctx.params;
        let paging = Paging::from(p)?;
        let order = p.one_of("order", &["asc", "desc"], "desc")?;
        let orderby = p.one_of(
            "orderby",
            &[
                "date",
                "id",
                "include",
                "title",
                "slug",
                "price",
                "popularity",
                "rating",
            ],
            "date",
        )?;
        let include = p.ids("include")?;
        let exclude = p.ids("exclude")?;
        ctx.allow(Access::List)?;
        let sku = p.get("sku");
        let tax_class = p.get("tax_class");
        let search = p.get("search").unwrap_or("").to_lowercase();
        let shop = self.shop();
        let mut products: Vec<_> = shop
            .products
            .values()
            .filter(|x| sku.is_none_or(|s| s.split(',').any(|s| s == x.sku)))
            .filter(|x| {
                tax_class
                    .is_none_or(|c| c == x.tax_class || (c == "standard" && x.tax_class.is_empty()))
            })
            .filter(|x| include.is_empty() || include.contains(&x.id))
            .filter(|x| !exclude.contains(&x.id))
            .filter(|x| search.is_empty() || x.name.to_lowercase().contains(&search))
            .collect();
        match orderby.as_str() {
            "id" => sort_dir(&mut products, &order, |a, b| a.id.cmp(&b.id)),
            "title" => sort_dir(&mut products, &order, |a, b| a.name.cmp(&b.name)),
            "slug" => sort_dir(&mut products, &order, |a, b| a.slug().cmp(&b.slug())),
            "price" => sort_dir(&mut products, &order, |a, b| {
                (a.price, a.id).cmp(&(b.price, b.id))
            }),
            _ => sort_dir(&mut products, &order, |a, b| {
                (a.date_created, a.id).cmp(&(b.date_created, b.id))
            }),
        }
        let (page, headers) = ctx.page(products, &paging);
        Ok(list_reply(
            page.iter().map(|x| x.json(&ctx.site)).collect(),
            headers,
        ))
    }

    fn get_product(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        ctx.allow(Access::View)?;
        self.shop()
            .products
            .get(&id)
            .map(|x| Reply::ok(x.json(&ctx.site)))
            .ok_or_else(|| ApiError::new(404, "woocommerce_rest_product_invalid_id", "Invalid ID."))
    }

    fn list_taxes(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        let p = &ctx.params;
        let paging = Paging::from(p)?;
        let order = p.one_of("order", &["asc", "desc"], "asc")?;
        let orderby = p.one_of("orderby", &["id", "order", "priority"], "order")?;
        ctx.allow(Access::List)?;
        let class = p.get("class");
        let shop = self.shop();
        let mut rates: Vec<_> = shop
            .rates
            .iter()
            .filter(|r| class.is_none_or(|c| c == r.class))
            .collect();
        match orderby.as_str() {
            "id" => sort_dir(&mut rates, &order, |a, b| a.id.cmp(&b.id)),
            "priority" => sort_dir(&mut rates, &order, |a, b| {
                (a.priority, a.id).cmp(&(b.priority, b.id))
            }),
            _ => sort_dir(&mut rates, &order, |a, b| {
                (a.order, a.id).cmp(&(b.order, b.id))
            }),
        }
        let (page, headers) = ctx.page(rates, &paging);
        Ok(list_reply(
            page.iter().map(|r| r.json(&ctx.site)).collect(),
            headers,
        ))
    }

    fn get_tax(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        ctx.allow(Access::View)?;
        self.shop()
            .rates
            .iter()
            .find(|r| r.id == id)
            .map(|r| Reply::ok(r.json(&ctx.site)))
            .ok_or_else(|| {
                ApiError::new(404, "woocommerce_rest_invalid_id", "Invalid resource ID.")
            })
    }

    fn tax_classes(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        ctx.allow(Access::List)?;
        let collection =
            json!({"collection": [{"href": format!("{}/wp-json/wc/v3/taxes/classes", ctx.site)}]});
        Ok(Reply::ok(json!([
            {"slug": "standard", "name": "Standard rate", "_links": collection},
            {"slug": "reduced-rate", "name": "Reduced rate", "_links": collection},
            {"slug": "zero-rate", "name": "Zero rate", "_links": collection},
        ])))
    }

    // ----- webhooks ---------------------------------------------------------------------

    fn list_webhooks(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        let p = &ctx.params;
        let paging = Paging::from(p)?;
        let order = p.one_of("order", &["asc", "desc"], "desc")?;
        let orderby = p.one_of(
            "orderby",
            &["date", "id", "include", "title", "slug"],
            "date",
        )?;
        let status = p.one_of("status", &["all", "active", "paused", "disabled"], "all")?;
        let include = p.ids("include")?;
        let exclude = p.ids("exclude")?;
        ctx.allow(Access::List)?;
        let shop = self.shop();
        let mut hooks: Vec<_> = shop
            .webhooks
            .values()
            .filter(|w| status == "all" || w.status == status)
            .filter(|w| include.is_empty() || include.contains(&w.id))
            .filter(|w| !exclude.contains(&w.id))
            .collect();
        if orderby == "title" || orderby == "slug" {
            sort_dir(&mut hooks, &order, |a, b| {
                (&a.name, a.id).cmp(&(&b.name, b.id))
            });
        } else {
            sort_dir(&mut hooks, &order, |a, b| {
                (a.date_created, a.id).cmp(&(b.date_created, b.id))
            });
        }
        let (page, headers) = ctx.page(hooks, &paging);
        Ok(list_reply(
            page.iter().map(|w| w.json(&ctx.site)).collect(),
            headers,
        ))
    }

    fn get_webhook(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        ctx.allow(Access::View)?;
        self.shop()
            .webhooks
            .get(&id)
            .map(|w| Reply::ok(w.json(&ctx.site)))
            .ok_or_else(invalid_webhook_id)
    }

    /// `POST /webhooks`: stores the webhook, then sends the ping (`webhook_id=<id>`,
    /// form-encoded) to the delivery URL before answering, as `create_item()` does.
    async fn create_webhook_rest(&self, ctx: &Ctx) -> Result<Reply, ApiError> {
        let body = ctx.body()?;
        let status = webhook_status(body)?.unwrap_or_else(|| "active".to_string());
        ctx.allow(Access::Create)?;
        let topic = str_field(body, "topic").unwrap_or_default().to_lowercase();
        if !valid_topic(&topic) {
            return Err(ApiError::new(
                400,
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            ));
        }
        let delivery_url = str_field(body, "delivery_url").unwrap_or_default();
        if !valid_delivery_url(&delivery_url) {
            return Err(invalid_delivery_url());
        }
        let secret = str_field(body, "secret")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(default_secret);
        let (id, json) = {
            let mut shop = self.shop();
            let name = str_field(body, "name")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| {
                    let at = Utc::now() + Duration::seconds(SITE_UTC_OFFSET_SECS);
                    format!("Webhook created on {}", at.format("%B %d, %Y @ %I:%M %p"))
                });
            let id = shop.create_new_webhook(name, status, topic, delivery_url, secret);
            let json = shop
                .webhooks
                .get(&id)
                .map(|w| w.json(&ctx.site))
                .unwrap_or_default();
            (id, json)
        };
        self.ping(id).await;
        Ok(Reply::created(
            json,
            format!("{}/wp-json/wc/v3/webhooks/{id}", ctx.site),
        ))
    }

    fn update_webhook(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        let body = ctx.body()?;
        let status = webhook_status(body)?;
        ctx.allow(Access::Edit)?;
        let mut shop = self.shop();
        if !shop.webhooks.contains_key(&id) {
            return Err(invalid_webhook_id());
        }
        let topic = str_field(body, "topic").map(|t| t.to_lowercase());
        if topic.as_deref().is_some_and(|t| !valid_topic(t)) {
            return Err(ApiError::new(
                400,
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic must be valid.",
            ));
        }
        let url = str_field(body, "delivery_url");
        if url.as_deref().is_some_and(|u| !valid_delivery_url(u)) {
            return Err(invalid_delivery_url());
        }
        let at = shop.tick();
        let hook = shop.webhooks.get_mut(&id).ok_or_else(invalid_webhook_id)?;
        if let Some(name) = str_field(body, "name") {
            hook.name = name;
        }
        if let Some(status) = status {
            if status == "active" && hook.status != "active" {
                hook.failure_count = 0;
            }
            hook.status = status;
        }
        if let Some(topic) = topic {
            hook.topic = topic;
        }
        if let Some(url) = url {
            hook.delivery_url = url;
        }
        if let Some(secret) = str_field(body, "secret").filter(|s| !s.is_empty()) {
            hook.secret = secret;
        }
        hook.date_modified = at;
        Ok(Reply::ok(hook.json(&ctx.site)))
    }

    fn delete_webhook(&self, ctx: &Ctx, id: u64) -> Result<Reply, ApiError> {
        let force = ctx.params.boolean("force")?.unwrap_or(false);
        ctx.allow(Access::Delete)?;
        let mut shop = self.shop();
        if !shop.webhooks.contains_key(&id) {
            return Err(invalid_webhook_id());
        }
        if !force {
            return Err(ApiError::new(
                501,
                "woocommerce_rest_trash_not_supported",
                "Webhooks do not support trashing.",
            ));
        }
        let hook = shop.webhooks.remove(&id).ok_or_else(invalid_webhook_id)?;
        shop.queue.retain(|job| job.webhook_id != id);
        Ok(Reply::ok(hook.json(&ctx.site)))
    }
}

fn meta_value(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn webhook_status(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match str_field(body, "status") {
        None => Ok(None),
        Some(s) if ["active", "paused", "disabled"].contains(&s.as_str()) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_param(
            "status",
            "rest_not_in_enum",
            "status is not one of active, paused, disabled.",
        )),
    }
}

fn invalid_webhook_id() -> ApiError {
    ApiError::new(
        404,
        "woocommerce_rest_shop_webhook_invalid_id",
        "Invalid ID.",
    )
}

fn invalid_delivery_url() -> ApiError {
    ApiError::new(
        400,
        "woocommerce_rest_shop_webhook_invalid_delivery_url",
        "Webhook delivery URL must be a valid URL starting with http:// or https://.",
    )
}

fn valid_delivery_url(raw: &str) -> bool {
    url::Url::parse(raw)
        .is_ok_and(|u| (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some())
}

/// WooCommerce's default secret when none is given: derived from the API user (`1|admin`). The
/// docs call it an MD5 hash; we use the first 32 hex digits of SHA-256 instead (a receiver
/// cannot learn it either way — the secret is write-only — so it must always send its own).
fn default_secret() -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b"1|admin")
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}
