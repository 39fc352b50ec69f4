//! The public REST paths: `POST /check-vat-number`, `POST /check-vat-test-service`,
//! `GET /check-status` and `GET /ms/{countryCode}/vat/{vatNumber}`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Trader, ViesSandbox};
use crate::faults::{broken_response, delay, Fault};
use crate::recorder::RecordedRequest;

pub(crate) fn routes() -> Router<ViesSandbox> {
    Router::new()
        .route("/check-vat-number", post(check_vat_number))
        .route("/check-vat-test-service", post(check_vat_test_service))
        .route("/check-status", get(check_status))
        .route("/ms/{country_code}/vat/{vat_number}", get(ms_vat))
}

/// The error codes of the WSDL and `vies-api.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ViesError {
    InvalidInput,
    InvalidRequesterInfo,
    ServiceUnavailable,
    MsUnavailable,
    Timeout,
    VatBlocked,
    IpBlocked,
    GlobalMaxConcurrentReq,
    GlobalMaxConcurrentReqTime,
    MsMaxConcurrentReq,
    MsMaxConcurrentReqTime,
}

impl ViesError {
    fn code(self) -> &'static str {
        match self {
            ViesError::InvalidInput => "INVALID_INPUT",
            ViesError::InvalidRequesterInfo => "INVALID_REQUESTER_INFO",
            ViesError::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ViesError::MsUnavailable => "MS_UNAVAILABLE",
            ViesError::Timeout => "TIMEOUT",
            ViesError::VatBlocked => "VAT_BLOCKED",
            ViesError::IpBlocked => "IP_BLOCKED",
            ViesError::GlobalMaxConcurrentReq => "GLOBAL_MAX_CONCURRENT_REQ",
            ViesError::GlobalMaxConcurrentReqTime => "GLOBAL_MAX_CONCURRENT_REQ_TIME",
            ViesError::MsMaxConcurrentReq => "MS_MAX_CONCURRENT_REQ",
            ViesError::MsMaxConcurrentReqTime => "MS_MAX_CONCURRENT_REQ_TIME",
        }
    }

    /// Input errors 400, VIES's own 500, errors relayed from a member state 200 (module docs).
    fn status(self) -> StatusCode {
        match self {
            ViesError::InvalidInput | ViesError::InvalidRequesterInfo => StatusCode::BAD_REQUEST,
            ViesError::ServiceUnavailable
            | ViesError::IpBlocked
            | ViesError::GlobalMaxConcurrentReq
            | ViesError::GlobalMaxConcurrentReqTime => StatusCode::INTERNAL_SERVER_ERROR,
            ViesError::MsUnavailable
            | ViesError::Timeout
            | ViesError::VatBlocked
            | ViesError::MsMaxConcurrentReq
            | ViesError::MsMaxConcurrentReqTime => StatusCode::OK,
        }
    }

    /// `CommonResponse`.
    fn body(self) -> Value {
        json!({"actionSucceed": false, "errorWrappers": [{"error": self.code()}]})
    }
}

/// The test service's answer for a `vatNumber` (`vies-api.json`, `test_numbers`): `Ok(valid)`.
fn test_outcome(vat_number: &str) -> Result<bool, ViesError> {
    match vat_number {
        "100" => Ok(true),
        "200" => Ok(false),
        "201" => Err(ViesError::InvalidInput),
        "202" => Err(ViesError::InvalidRequesterInfo),
        "300" => Err(ViesError::ServiceUnavailable),
        "301" => Err(ViesError::MsUnavailable),
        "302" => Err(ViesError::Timeout),
        "400" => Err(ViesError::VatBlocked),
        "401" => Err(ViesError::IpBlocked),
        "500" => Err(ViesError::GlobalMaxConcurrentReq),
        "501" => Err(ViesError::GlobalMaxConcurrentReqTime),
        "600" => Err(ViesError::MsMaxConcurrentReq),
        "601" => Err(ViesError::MsMaxConcurrentReqTime),
        _ => Err(ViesError::ServiceUnavailable),
    }
}

/// `CheckVatRequest`; the `trader*` fields are accepted and ignored (no approximate matching).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CheckVatRequest {
    country_code: Option<String>,
    vat_number: Option<String>,
    requester_member_state_code: Option<String>,
    requester_number: Option<String>,
}

impl CheckVatRequest {
    fn country_code(&self) -> &str {
        self.country_code.as_deref().unwrap_or("")
    }

    fn vat_number(&self) -> &str {
        self.vat_number.as_deref().unwrap_or("")
    }

    /// Both requester fields, or `None` when neither is given; `Err` when only one is.
    fn requester(&self) -> Result<Option<(&str, &str)>, ViesError> {
        match (
            given(&self.requester_member_state_code),
            given(&self.requester_number),
        ) {
            (None, None) => Ok(None),
            (Some(country), Some(number)) => Ok(Some((country, number))),
            _ => Err(ViesError::InvalidRequesterInfo),
        }
    }
}

fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|s| !s.is_empty())
}

/// The WSDL's input pattern for a number without prefix: `[0-9A-Za-z+*.]{2,12}`.
fn well_formed(number: &str) -> bool {
    (2..=12).contains(&number.len())
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '.'))
}

struct Answer {
    country_code: String,
    vat_number: String,
    valid: bool,
    trader: Option<Trader>,
    request_identifier: Option<String>,
    request_date: DateTime<Utc>,
}

impl Answer {
    fn name(&self) -> &str {
        self.trader
            .as_ref()
            .and_then(|t| t.name.as_deref())
            .unwrap_or("---")
    }

    fn address(&self) -> &str {
        self.trader
            .as_ref()
            .and_then(|t| t.address.as_deref())
            .unwrap_or("---")
    }

    fn request_date(&self) -> String {
        self.request_date
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// `CheckVatResponse`.
    fn check_vat_response(&self) -> Value {
        json!({
            "countryCode": self.country_code,
            "vatNumber": self.vat_number,
            "requestDate": self.request_date(),
            "valid": self.valid,
            "requestIdentifier": self.request_identifier.as_deref().unwrap_or(""),
            "name": self.name(),
            "address": self.address(),
            "traderName": "---",
            "traderStreet": "---",
            "traderPostalCode": "---",
            "traderCity": "---",
            "traderCompanyType": "---",
            "traderNameMatch": "NOT_PROCESSED",
            "traderStreetMatch": "NOT_PROCESSED",
            "traderPostalCodeMatch": "NOT_PROCESSED",
            "traderCityMatch": "NOT_PROCESSED",
            "traderCompanyTypeMatch": "NOT_PROCESSED",
        })
    }
}

impl ViesSandbox {
    /// `/check-vat-number` and the GET form: the registry, the outages, the requester.
    fn check_live(&self, request: &CheckVatRequest) -> Result<Answer, ViesError> {
        let mut registry = self.registry();
        if registry.service_down {
            return Err(ViesError::ServiceUnavailable);
        }
        let (country, number) = (request.country_code(), request.vat_number());
        if !self.is_member_state(country) || !well_formed(number) {
            return Err(ViesError::InvalidInput);
        }
        // VIES checks the requester's own number before it issues a consultation number.
        let requester = match request.requester()? {
            None => None,
            Some((r_country, r_number))
                if self.is_member_state(r_country)
                    && well_formed(r_number)
                    && registry
                        .traders
                        .contains_key(&(r_country.to_string(), r_number.to_ascii_uppercase())) =>
            {
                Some(format!("{r_country}{r_number}"))
            }
            Some(_) => return Err(ViesError::InvalidRequesterInfo),
        };
        if registry.unavailable.contains(country) {
            return Err(ViesError::MsUnavailable);
        }
        let trader = registry
            .traders
            .get(&(country.to_string(), number.to_ascii_uppercase()))
            .cloned();
        let request_date = Utc::now();
        let valid = trader.is_some();
        let request_identifier = requester
            .map(|requester| registry.issue(country, number, requester, valid, request_date));
        Ok(Answer {
            country_code: country.to_string(),
            vat_number: number.to_string(),
            valid,
            trader,
            request_identifier,
            request_date,
        })
    }

    /// `/check-vat-test-service`: by number alone, untouched by the registry and outages.
    fn check_test(&self, request: &CheckVatRequest) -> Result<Answer, ViesError> {
        let (country, number) = (request.country_code(), request.vat_number());
        let valid = test_outcome(number)?;
        let requester = request.requester()?;
        let request_date = Utc::now();
        let request_identifier = requester.map(|(r_country, r_number)| {
            self.registry().issue(
                country,
                number,
                format!("{r_country}{r_number}"),
                valid,
                request_date,
            )
        });
        Ok(Answer {
            country_code: country.to_string(),
            vat_number: number.to_string(),
            valid,
            trader: valid.then(|| Trader {
                name: Some("John Doe".into()),
                address: Some("123 Main St, Anytown, UK".into()),
            }),
            request_identifier,
            request_date,
        })
    }
}

enum Body {
    Json(Value),
    Html(&'static str),
    Text(&'static str),
}

struct Reply {
    status: StatusCode,
    body: Body,
    /// The member state asked, recorded as the request's tenant.
    tenant: Option<String>,
}

impl Reply {
    fn json(status: StatusCode, body: Value, tenant: Option<String>) -> Reply {
        Reply {
            status,
            body: Body::Json(body),
            tenant,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self.body {
            Body::Json(value) => (self.status, Json(value)).into_response(),
            Body::Html(page) => (
                self.status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                page,
            )
                .into_response(),
            Body::Text(text) => (
                self.status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                text,
            )
                .into_response(),
        }
    }
}

const SERVER_ERROR_PAGE: &str = "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1><p>The server encountered an internal error and was unable to complete your request.</p></body></html>";
const UNAVAILABLE_PAGE: &str = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>";

/// Consults the fault plan, answers, records, then delivers (or loses, or delays) the answer.
async fn respond(
    sandbox: ViesSandbox,
    method: Method,
    uri: Uri,
    answer: impl FnOnce(&ViesSandbox) -> Reply,
) -> Response {
    let path = uri.path().to_string();
    let fault = sandbox.faults().take(method.as_str(), &path);
    let reply = match fault {
        Some(Fault::ServerError) => Reply {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: Body::Html(SERVER_ERROR_PAGE),
            tenant: None,
        },
        Some(Fault::TooManyRequests) => Reply {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: Body::Text("Too Many Requests"),
            tenant: None,
        },
        Some(Fault::ServerErrorAfterApply) => Reply {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: Body::Html(UNAVAILABLE_PAGE),
            ..answer(&sandbox)
        },
        _ => answer(&sandbox),
    };
    // Recorded before a slow answer is sent: a client that gives up drops this handler.
    sandbox.recorder().record(RecordedRequest {
        method: method.to_string(),
        path,
        query: uri.query().map(str::to_string),
        status: reply.status.as_u16(),
        tenant: reply.tenant.clone(),
        credential: None,
    });
    match fault {
        Some(Fault::LoseResponse) => broken_response(reply.status),
        Some(Fault::Slow { millis }) => {
            delay(millis).await;
            reply.into_response()
        }
        _ => reply.into_response(),
    }
}

fn parse(body: &Bytes) -> Result<CheckVatRequest, Reply> {
    serde_json::from_slice(body).map_err(|_| {
        let error = ViesError::InvalidInput;
        Reply::json(error.status(), error.body(), None)
    })
}

fn post_reply(
    body: &Bytes,
    check: impl FnOnce(&CheckVatRequest) -> Result<Answer, ViesError>,
) -> Reply {
    let request = match parse(body) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let tenant = request.country_code.clone();
    match check(&request) {
        Ok(answer) => Reply::json(StatusCode::OK, answer.check_vat_response(), tenant),
        Err(error) => Reply::json(error.status(), error.body(), tenant),
    }
}

async fn check_vat_number(
    State(sandbox): State<ViesSandbox>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    respond(sandbox, method, uri, |s| {
        post_reply(&body, |r| s.check_live(r))
    })
    .await
}

async fn check_vat_test_service(
    State(sandbox): State<ViesSandbox>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    respond(sandbox, method, uri, |s| {
        post_reply(&body, |r| s.check_test(r))
    })
    .await
}

/// `StatusInformationResponse`.
async fn check_status(State(sandbox): State<ViesSandbox>, method: Method, uri: Uri) -> Response {
    respond(sandbox, method, uri, |s| {
        let registry = s.registry();
        let countries: Vec<Value> = s
            .config()
            .member_states
            .iter()
            .map(|code| {
                let availability = if registry.unavailable.contains(code) {
                    "Unavailable"
                } else {
                    "Available"
                };
                json!({"countryCode": code, "availability": availability})
            })
            .collect();
        let body = json!({
            "vow": {"available": !registry.service_down},
            "countries": countries,
        });
        Reply::json(StatusCode::OK, body, None)
    })
    .await
}

/// The GET form (`vies-api.json`): always 200, the outcome or error code in `userError`, no
/// requester and so an empty `requestIdentifier`.
async fn ms_vat(
    State(sandbox): State<ViesSandbox>,
    method: Method,
    uri: Uri,
    Path((country_code, vat_number)): Path<(String, String)>,
) -> Response {
    respond(sandbox, method, uri, |s| {
        let request = CheckVatRequest {
            country_code: Some(country_code.clone()),
            vat_number: Some(vat_number.clone()),
            ..CheckVatRequest::default()
        };
        let (valid, user_error, name, address, request_date) = match s.check_live(&request) {
            Ok(answer) => (
                answer.valid,
                if answer.valid { "VALID" } else { "INVALID" },
                answer.name().to_string(),
                answer.address().to_string(),
                answer.request_date(),
            ),
            Err(error) => (
                false,
                error.code(),
                "---".to_string(),
                "---".to_string(),
                Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
        };
        let body = json!({
            "isValid": valid,
            "requestDate": request_date,
            "userError": user_error,
            "name": name,
            "address": address,
            "requestIdentifier": "",
            "originalVatNumber": vat_number,
            "vatNumber": vat_number,
            "viesApproximate": {
                "name": "---",
                "street": "---",
                "postalCode": "---",
                "city": "---",
                "companyType": "---",
                "matchName": 3,
                "matchStreet": 3,
                "matchPostalCode": 3,
                "matchCity": 3,
                "matchCompanyType": 3,
            },
        });
        Reply::json(StatusCode::OK, body, Some(country_code))
    })
    .await
}
