//! VIES, the EU's VAT Information Exchange System, over its REST API (`POST /check-vat-number`,
//! `shared/specs/vat/vies/swagger_publicVAT.yaml`).
//!
//! Country codes: VIES takes the VAT prefix, not the ISO country code. Greece is `EL` (VIES
//! answers `GR` with `INVALID_INPUT`) and Northern Ireland `XI` (its numbers are in VIES for
//! goods; `GB` is not a VIES code). [`VatNumber::prefix`] is exactly what VIES expects.
//!
//! Errors: VIES reports them as `{"actionSucceed": false, "errorWrappers": [{"error": CODE}]}`
//! with HTTP 400, 500 and sometimes 200, so the body is searched for an error code before the
//! status or `valid` is believed. No failure is ever read as "invalid": only `valid: false` is.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ledgerlink_core::{ConnectorError, ErrorKind, VatNumber};
use ledgerlink_store::audit::{Auditor, Exchange};
use reqwest::{header, StatusCode};
use serde::Deserialize;
use serde_json::json;

/// The Commission's REST API; `ViesClient::new(VIES_REST_API, …)` checks against the real VIES.
pub const VIES_REST_API: &str = "https://ec.europa.eu/taxation_customs/vies/rest-api";

/// How long to wait before asking again, by what VIES said.
const BUSY: Duration = Duration::from_secs(60);
const RATE_WINDOW: Duration = Duration::from_secs(5 * 60);
const VIES_DOWN: Duration = Duration::from_secs(5 * 60);
const TIMEOUT_RETRY: Duration = Duration::from_secs(2 * 60);
/// Member-state outages are mostly maintenance windows of an hour or more.
const MEMBER_STATE_DOWN: Duration = Duration::from_secs(15 * 60);
const IP_BLOCK: Duration = Duration::from_secs(6 * 60 * 60);
const NUMBER_BLOCK: Duration = Duration::from_secs(24 * 60 * 60);

/// What VIES said about a number. `checked_at` is VIES's `requestDate` (the moment of the check
/// the consultation number proves), or when the answer arrived if VIES sent none readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViesAnswer {
    /// Registered for intra-Community transactions. `name`/`address` are `None` where the member
    /// state does not disclose them (VIES's `---`).
    Valid {
        name: Option<String>,
        address: Option<String>,
        consultation: Option<String>,
        checked_at: DateTime<Utc>,
    },
    /// Not registered (or no longer) for intra-Community transactions.
    Invalid {
        consultation: Option<String>,
        checked_at: DateTime<Utc>,
    },
}

#[derive(Clone)]
pub struct ViesClient {
    url: String,
    http: reqwest::Client,
    auditor: Auditor,
    timeout: Duration,
}

impl ViesClient {
    /// A client of `{base_url}/check-vat-number` (the real one: [`VIES_REST_API`]).
    pub fn new(
        base_url: &str,
        auditor: Auditor,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        ViesClient::build(base_url, "check-vat-number", auditor, timeout)
    }

    /// A client of `{base_url}/check-vat-test-service`, the Commission's test service, which
    /// answers by number alone (100 valid, 200 invalid, 201…601 one error each): to try a
    /// deployment's connection and error handling without asking about a real trader.
    pub fn test_service(
        base_url: &str,
        auditor: Auditor,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        ViesClient::build(base_url, "check-vat-test-service", auditor, timeout)
    }

    fn build(
        base_url: &str,
        path: &str,
        auditor: Auditor,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let url = format!("{}/{path}", base_url.trim_end_matches('/'));
        reqwest::Url::parse(&url).map_err(|e| {
            ConnectorError::config(format!("`{base_url}` is not a usable VIES address: {e}"))
        })?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ConnectorError::config(format!("cannot build an HTTP client: {e}")))?;
        Ok(ViesClient {
            url,
            http,
            auditor,
            timeout,
        })
    }

    /// Asks VIES whether `number` is valid now.
    /// `requester`: the merchant's own VAT number, so that VIES issues a consultation number.
    pub async fn check(
        &self,
        number: &VatNumber,
        requester: Option<&VatNumber>,
    ) -> Result<ViesAnswer, ConnectorError> {
        let mut request = json!({"countryCode": number.prefix(), "vatNumber": number.body()});
        if let Some(requester) = requester {
            request["requesterMemberStateCode"] = json!(requester.prefix());
            request["requesterNumber"] = json!(requester.body());
        }
        let request = request.to_string();
        let started = Instant::now();
        let sent = self
            .http
            .post(&self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(request.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let cause = format!("POST {}: {error}", self.url);
                self.audit(&request, None, None, Some(&cause), started)
                    .await;
                let message = if error.is_timeout() {
                    format!(
                        "VIES did not answer within {} seconds, so {number} could not be checked; ledgerlink will try again.",
                        self.timeout.as_secs()
                    )
                } else if error.is_connect() {
                    format!("ledgerlink could not reach VIES to check {number}; it will try again.")
                } else {
                    format!("VIES's answer about {number} broke off; ledgerlink will try again.")
                };
                return Err(ConnectorError::transient(message, cause));
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match response.text().await {
            Ok(body) => body,
            Err(error) => {
                let cause = format!("POST {} → HTTP {status}, body broke off: {error}", self.url);
                self.audit(&request, Some(status), None, Some(&cause), started)
                    .await;
                return Err(ConnectorError::transient(
                    format!("VIES's answer about {number} broke off; ledgerlink will try again."),
                    cause,
                ));
            }
        };
        self.audit(&request, Some(status), Some(&body), None, started)
            .await;
        interpret(number, status, retry_after, &body)
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
                url: &self.url,
                request_body: Some(request),
                status: status.map(|s| s.as_u16()),
                response_body: response,
                error,
                duration_ms: started.elapsed().as_millis() as i64,
            })
            .await;
    }
}

/// `CheckVatResponse` and `CommonResponse` in one: VIES may send either with any status.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ViesBody {
    country_code: Option<String>,
    vat_number: Option<String>,
    request_date: Option<String>,
    valid: Option<bool>,
    request_identifier: Option<String>,
    name: Option<String>,
    address: Option<String>,
    action_succeed: Option<bool>,
    error_wrappers: Vec<ErrorWrapper>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorWrapper {
    error: Option<String>,
    message: Option<String>,
}

/// Every classification of a VIES exchange, in one place.
fn interpret(
    number: &VatNumber,
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
) -> Result<ViesAnswer, ConnectorError> {
    let parsed = serde_json::from_str::<ViesBody>(body).ok();
    if let Some(failed) = parsed
        .as_ref()
        .filter(|b| !b.error_wrappers.is_empty() || b.action_succeed == Some(false))
    {
        let errors: Vec<String> = failed
            .error_wrappers
            .iter()
            .map(|w| {
                let code = w.error.as_deref().unwrap_or("?");
                match &w.message {
                    Some(message) => format!("{code} ({message})"),
                    None => code.to_string(),
                }
            })
            .collect();
        let code = failed
            .error_wrappers
            .iter()
            .find_map(|w| w.error.as_deref())
            .unwrap_or("");
        return Err(error_code(
            code,
            number,
            format!("HTTP {status}: {}", errors.join(", ")),
        ));
    }
    let cause = || format!("HTTP {status}: {}", excerpt(body));
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(ConnectorError::new(
            ErrorKind::Transient {
                retry_after: Some(retry_after.unwrap_or(BUSY)),
            },
            format!("VIES is busy (too many requests), so {number} could not be checked yet; ledgerlink will try again."),
            cause(),
        ));
    }
    if status.is_server_error() {
        return Err(ConnectorError::transient(
            format!(
                "VIES is failing, so {number} could not be checked; ledgerlink will try again."
            ),
            cause(),
        ));
    }
    if matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        return Err(ConnectorError::new(
            ErrorKind::Config,
            "No VIES check service answers at the configured address; check the VIES address in the settings.",
            cause(),
        ));
    }
    if !status.is_success() {
        return Err(ConnectorError::rejected(
            format!("VIES refused to check {number} (HTTP {status})."),
            cause(),
        ));
    }
    let Some((answer, valid)) = parsed.and_then(|b| b.valid.map(|valid| (b, valid))) else {
        return Err(ConnectorError::transient(
            format!("VIES answered about {number} with something that is not a VAT check; ledgerlink will try again."),
            cause(),
        ));
    };
    let same = |echoed: &Option<String>, asked: &str| {
        echoed
            .as_deref()
            .is_none_or(|e| e.trim().eq_ignore_ascii_case(asked))
    };
    if !same(&answer.country_code, number.prefix()) || !same(&answer.vat_number, number.body()) {
        return Err(ConnectorError::transient(
            format!("VIES answered about another number than {number}; ledgerlink will ask again."),
            cause(),
        ));
    }
    let consultation = disclosed(answer.request_identifier);
    let checked_at = answer
        .request_date
        .as_deref()
        .and_then(|d| DateTime::parse_from_rfc3339(d.trim()).ok())
        .map_or_else(Utc::now, |d| d.with_timezone(&Utc));
    Ok(if valid {
        ViesAnswer::Valid {
            name: disclosed(answer.name),
            address: disclosed(answer.address),
            consultation,
            checked_at,
        }
    } else {
        ViesAnswer::Invalid {
            consultation,
            checked_at,
        }
    })
}

/// VIES writes `---` (or nothing) for what it does not disclose.
fn disclosed(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && v != "---")
}

fn excerpt(body: &str) -> String {
    const MAX: usize = 300;
    match body.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_string(),
    }
}

/// The error codes of the WSDL and `vies-api.json`. Only input errors stop retrying; everything
/// else says nothing about the number and waits.
fn error_code(code: &str, number: &VatNumber, cause: String) -> ConnectorError {
    let prefix = number.prefix();
    let wait = |after: Duration, message: String| {
        ConnectorError::new(
            ErrorKind::Transient {
                retry_after: Some(after),
            },
            message,
            cause.clone(),
        )
    };
    match code {
        "INVALID_INPUT" => ConnectorError::rejected(
            format!("VIES refused to check {number}: it does not accept this country prefix or number (INVALID_INPUT). Correct the customer's VAT number."),
            cause,
        ),
        "INVALID_REQUESTER_INFO" => ConnectorError::new(
            ErrorKind::Config,
            format!("VIES refused the merchant's own VAT number, which ledgerlink sends to obtain a consultation number (INVALID_REQUESTER_INFO), so {number} was not checked. Correct the merchant's VAT number in the settings."),
            cause,
        ),
        "MS_UNAVAILABLE" => wait(
            MEMBER_STATE_DOWN,
            format!("The {prefix} tax administration's system is not answering VIES (MS_UNAVAILABLE), so {number} could not be checked; ledgerlink will try again."),
        ),
        "TIMEOUT" => wait(
            TIMEOUT_RETRY,
            format!("The {prefix} tax administration did not answer VIES in time (TIMEOUT), so {number} could not be checked; ledgerlink will try again."),
        ),
        "SERVICE_UNAVAILABLE" | "SERVER_BUSY" => wait(
            VIES_DOWN,
            format!("VIES is unavailable ({code}), so {number} could not be checked; ledgerlink will try again."),
        ),
        "GLOBAL_MAX_CONCURRENT_REQ" | "MS_MAX_CONCURRENT_REQ" => wait(
            BUSY,
            format!("VIES is handling too many checks at once ({code}), so {number} could not be checked yet; ledgerlink will try again."),
        ),
        "GLOBAL_MAX_CONCURRENT_REQ_TIME" | "MS_MAX_CONCURRENT_REQ_TIME" => wait(
            RATE_WINDOW,
            format!("VIES's limit of checks per period is reached ({code}), so {number} could not be checked yet; ledgerlink will try again."),
        ),
        "VAT_BLOCKED" => wait(
            NUMBER_BLOCK,
            format!("VIES blocks checks of {number} (VAT_BLOCKED); ledgerlink will try again in a day. Meanwhile confirm the number with the customer or the {prefix} tax administration."),
        ),
        "IP_BLOCKED" => wait(
            IP_BLOCK,
            format!("VIES has blocked requests from ledgerlink's internet address (IP_BLOCKED), so no VAT number, {number} included, can be checked; ledgerlink will try again in 6 hours. If the block stays, contact TAXUD-VIESWEB@ec.europa.eu."),
        ),
        _ => wait(
            VIES_DOWN,
            format!("VIES could not check {number} ({}); ledgerlink will try again.", if code.is_empty() { "no reason given" } else { code }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> VatNumber {
        "DE123456789".parse().unwrap()
    }

    #[test]
    fn an_error_code_in_a_200_answer_is_never_invalid() {
        let body = r#"{"actionSucceed":false,"errorWrappers":[{"error":"MS_MAX_CONCURRENT_REQ"}],"valid":false}"#;
        let error = interpret(&de(), StatusCode::OK, None, body).unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::Transient {
                retry_after: Some(BUSY)
            }
        );
    }

    #[test]
    fn unknown_codes_and_unexpected_bodies_wait() {
        let unknown =
            r#"{"actionSucceed":false,"errorWrappers":[{"error":"VOW-ERR-1","message":"x"}]}"#;
        for (status, body) in [
            (StatusCode::INTERNAL_SERVER_ERROR, unknown),
            (StatusCode::OK, "<html>maintenance</html>"),
            (StatusCode::OK, r#"{"valid":"yes"}"#),
            (StatusCode::BAD_GATEWAY, ""),
        ] {
            let error = interpret(&de(), status, None, body).unwrap_err();
            assert!(
                matches!(error.kind, ErrorKind::Transient { .. }),
                "{status} {body}: {error:?}"
            );
        }
    }

    #[test]
    fn an_answer_about_another_number_is_not_believed() {
        let body = r#"{"countryCode":"DE","vatNumber":"999999999","valid":true}"#;
        let error = interpret(&de(), StatusCode::OK, None, body).unwrap_err();
        assert!(error.is_retryable());
    }

    #[test]
    fn reads_dates_with_an_offset_and_undisclosed_fields() {
        let body = r#"{"countryCode":"DE","vatNumber":"123456789","requestDate":"2026-11-25T10:15:30.123+01:00","valid":true,"requestIdentifier":"","name":"---","address":" "}"#;
        assert_eq!(
            interpret(&de(), StatusCode::OK, None, body).unwrap(),
            ViesAnswer::Valid {
                name: None,
                address: None,
                consultation: None,
                checked_at: "2026-11-25T09:15:30.123Z".parse().unwrap(),
            }
        );
    }

    #[test]
    fn honours_retry_after_on_429() {
        let error = interpret(
            &de(),
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            "",
        )
        .unwrap_err();
        assert_eq!(
            error.kind,
            ErrorKind::Transient {
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }
}
