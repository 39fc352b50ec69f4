//! The VIES emulator over real HTTP, judged against the reference (`shared/specs/vat/vies`).

use chrono::{DateTime, SecondsFormat};
use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_sandbox::vies::{ViesConfig, ViesSandbox, MEMBER_STATES};
use ledgerlink_sandbox::Running;
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Env {
    _running: Running,
    vies: ViesSandbox,
    base: String,
    http: reqwest::Client,
}

impl Env {
    async fn start() -> Env {
        let (running, vies) = ViesSandbox::start(ViesConfig::default(), 0).await.unwrap();
        let base = running.base_url();
        Env {
            _running: running,
            vies,
            base,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_raw(path, body.to_string()).await
    }

    async fn post_raw(&self, path: &str, body: String) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn error_code(body: &Value) -> &str {
    assert_eq!(body["actionSucceed"], json!(false), "{body}");
    body["errorWrappers"][0]["error"].as_str().unwrap()
}

/// `date-time` as the contract's example writes it: UTC with milliseconds.
fn assert_request_date(body: &Value) {
    let raw = body["requestDate"].as_str().unwrap();
    let parsed = DateTime::parse_from_rfc3339(raw).unwrap();
    assert_eq!(raw, parsed.to_rfc3339_opts(SecondsFormat::Millis, true));
}

#[tokio::test]
async fn the_test_service_answers_by_number() {
    let env = Env::start().await;
    let (status, valid) = env
        .post(
            "/check-vat-test-service",
            json!({"countryCode": "DE", "vatNumber": "100"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(valid["valid"], json!(true));
    assert_eq!(valid["requestIdentifier"], json!(""));
    assert_eq!(valid["name"], json!("John Doe"));
    assert_request_date(&valid);
    for field in [
        "countryCode",
        "vatNumber",
        "address",
        "traderName",
        "traderStreet",
        "traderPostalCode",
        "traderCity",
        "traderCompanyType",
    ] {
        assert!(valid[field].is_string(), "{field} in {valid}");
    }
    for field in [
        "traderNameMatch",
        "traderStreetMatch",
        "traderPostalCodeMatch",
        "traderCityMatch",
        "traderCompanyTypeMatch",
    ] {
        assert_eq!(valid[field], json!("NOT_PROCESSED"));
    }

    let (_, invalid) = env
        .post(
            "/check-vat-test-service",
            json!({"countryCode": "FR", "vatNumber": "200", "requesterMemberStateCode": "NL", "requesterNumber": "123456789B01"}),
        )
        .await;
    assert_eq!(invalid["valid"], json!(false));
    assert_eq!(
        (invalid["name"].as_str(), invalid["address"].as_str()),
        (Some("---"), Some("---"))
    );
    assert!(invalid["requestIdentifier"]
        .as_str()
        .unwrap()
        .starts_with("WAPI"));

    for (number, code, status) in [
        ("201", "INVALID_INPUT", StatusCode::BAD_REQUEST),
        ("202", "INVALID_REQUESTER_INFO", StatusCode::BAD_REQUEST),
        (
            "300",
            "SERVICE_UNAVAILABLE",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        ("301", "MS_UNAVAILABLE", StatusCode::OK),
        ("302", "TIMEOUT", StatusCode::OK),
        ("400", "VAT_BLOCKED", StatusCode::OK),
        ("401", "IP_BLOCKED", StatusCode::INTERNAL_SERVER_ERROR),
        (
            "500",
            "GLOBAL_MAX_CONCURRENT_REQ",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            "501",
            "GLOBAL_MAX_CONCURRENT_REQ_TIME",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        ("600", "MS_MAX_CONCURRENT_REQ", StatusCode::OK),
        ("601", "MS_MAX_CONCURRENT_REQ_TIME", StatusCode::OK),
        (
            "123",
            "SERVICE_UNAVAILABLE",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ] {
        let (got, body) = env
            .post(
                "/check-vat-test-service",
                json!({"countryCode": "DE", "vatNumber": number}),
            )
            .await;
        assert_eq!((got, error_code(&body)), (status, code), "{number}");
        assert!(body.get("valid").is_none(), "{number}: {body}");
    }
}

#[tokio::test]
async fn check_vat_number_answers_from_the_registry() {
    let env = Env::start().await;
    env.vies
        .register("NL", "123456789B01", Some("Webwinkel BV"), None);
    env.vies.register(
        "BE",
        "0477472701",
        Some("EXAMPLE NV"),
        Some("STRAAT 1\n1000 BRUSSEL"),
    );
    let (status, valid) = env
        .post(
            "/check-vat-number",
            json!({"countryCode": "BE", "vatNumber": "0477472701", "requesterMemberStateCode": "NL", "requesterNumber": "123456789B01"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&valid["valid"], &valid["name"], &valid["address"]),
        (
            &json!(true),
            &json!("EXAMPLE NV"),
            &json!("STRAAT 1\n1000 BRUSSEL")
        )
    );
    assert_request_date(&valid);
    let consultations = env.vies.consultations();
    assert_eq!(
        valid["requestIdentifier"].as_str(),
        Some(consultations[0].request_identifier.as_str())
    );
    assert_eq!(consultations[0].request_identifier.len(), 16);

    let (_, invalid) = env
        .post(
            "/check-vat-number",
            json!({"countryCode": "BE", "vatNumber": "0999999999", "requesterMemberStateCode": "NL", "requesterNumber": "123456789B01"}),
        )
        .await;
    assert_eq!(invalid["valid"], json!(false));
    assert_ne!(invalid["requestIdentifier"], valid["requestIdentifier"]);
    assert_eq!(env.vies.consultations().len(), 2);

    let (_, anonymous) = env
        .post(
            "/check-vat-number",
            json!({"countryCode": "BE", "vatNumber": "0477472701"}),
        )
        .await;
    assert_eq!(anonymous["requestIdentifier"], json!(""));
}

#[tokio::test]
async fn bad_input_and_requesters_are_refused() {
    let env = Env::start().await;
    env.vies.register("EL", "094259216", None, None);
    for (body, code) in [
        (
            json!({"countryCode": "GR", "vatNumber": "094259216"}),
            "INVALID_INPUT",
        ),
        (
            json!({"countryCode": "GB", "vatNumber": "123456789"}),
            "INVALID_INPUT",
        ),
        (
            json!({"countryCode": "DE", "vatNumber": "1"}),
            "INVALID_INPUT",
        ),
        (
            json!({"countryCode": "DE", "vatNumber": "12 345"}),
            "INVALID_INPUT",
        ),
        (json!({"countryCode": "DE"}), "INVALID_INPUT"),
        (
            json!({"countryCode": "EL", "vatNumber": "094259216", "requesterMemberStateCode": "NL", "requesterNumber": "000000000B00"}),
            "INVALID_REQUESTER_INFO",
        ),
        (
            json!({"countryCode": "EL", "vatNumber": "094259216", "requesterMemberStateCode": "NL"}),
            "INVALID_REQUESTER_INFO",
        ),
    ] {
        let (status, answer) = env.post("/check-vat-number", body.clone()).await;
        assert_eq!(
            (status, error_code(&answer)),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }
    let (status, answer) = env.post_raw("/check-vat-number", "{not json".into()).await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::BAD_REQUEST, "INVALID_INPUT")
    );
    let (_, greek) = env
        .post(
            "/check-vat-number",
            json!({"countryCode": "EL", "vatNumber": "094259216"}),
        )
        .await;
    assert_eq!(greek["valid"], json!(true));
    assert_eq!(greek["name"], json!("---"));
}

#[tokio::test]
async fn outages_show_in_checks_and_in_check_status() {
    let env = Env::start().await;
    env.vies
        .register("DE", "811128135", Some("Muster GmbH"), None);
    env.vies.set_member_state_available("DE", false);
    let (status, down) = env
        .post(
            "/check-vat-number",
            json!({"countryCode": "DE", "vatNumber": "811128135"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&down)),
        (StatusCode::OK, "MS_UNAVAILABLE")
    );

    let (status, report) = env.get("/check-status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["vow"]["available"], json!(true));
    let countries = report["countries"].as_array().unwrap();
    assert_eq!(countries.len(), MEMBER_STATES.len());
    for country in countries {
        let expected = if country["countryCode"] == "DE" {
            "Unavailable"
        } else {
            "Available"
        };
        assert_eq!(country["availability"], json!(expected), "{country}");
    }

    env.vies.set_member_state_available("DE", true);
    env.vies.set_service_available(false);
    let (status, vies_down) = env
        .post(
            "/check-vat-number",
            json!({"countryCode": "DE", "vatNumber": "811128135"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&vies_down)),
        (StatusCode::INTERNAL_SERVER_ERROR, "SERVICE_UNAVAILABLE")
    );
    assert_eq!(
        env.get("/check-status").await.1["vow"]["available"],
        json!(false)
    );
}

#[tokio::test]
async fn the_get_form_reports_in_user_error() {
    let env = Env::start().await;
    env.vies
        .register("XI", "123456789", Some("Belfast Goods Ltd"), None);
    let (status, valid) = env.get("/ms/XI/vat/123456789").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&valid["isValid"], &valid["userError"], &valid["name"]),
        (&json!(true), &json!("VALID"), &json!("Belfast Goods Ltd"))
    );
    assert_eq!(valid["requestIdentifier"], json!(""));
    assert_eq!(valid["viesApproximate"]["matchName"], json!(3));
    assert_request_date(&valid);

    let (_, invalid) = env.get("/ms/XI/vat/999999999").await;
    assert_eq!(
        (&invalid["isValid"], &invalid["userError"]),
        (&json!(false), &json!("INVALID"))
    );
    env.vies.set_member_state_available("XI", false);
    let (status, down) = env.get("/ms/XI/vat/123456789").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&down["isValid"], &down["userError"]),
        (&json!(false), &json!("MS_UNAVAILABLE"))
    );
    let (_, greek) = env.get("/ms/GR/vat/094259216").await;
    assert_eq!(greek["userError"], json!("INVALID_INPUT"));
}

#[tokio::test]
async fn faults_are_recorded_and_a_lost_answer_still_issued_its_number() {
    let env = Env::start().await;
    env.vies
        .register("NL", "123456789B01", Some("Webwinkel BV"), None);
    env.vies.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("/check-vat-number".into()),
        },
        fault: Fault::ServerErrorAfterApply,
        times: 1,
    });
    let request = json!({"countryCode": "DE", "vatNumber": "811128135", "requesterMemberStateCode": "NL", "requesterNumber": "123456789B01"});
    let (status, _) = env.post("/check-vat-number", request.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(env.vies.consultations().len(), 1);

    let (status, _) = env
        .post(
            "/__sandbox/faults",
            json!({"match": {"path_contains": "/check-vat-number"}, "fault": {"kind": "server_error"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = env.post("/check-vat-number", request.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        env.vies.consultations().len(),
        1,
        "refused before the check"
    );

    let recorded = env.vies.recorder().all();
    assert_eq!(
        recorded
            .iter()
            .map(|r| (r.status, r.tenant.as_deref()))
            .collect::<Vec<_>>(),
        [(503, Some("DE")), (500, None)]
    );
    assert_eq!(env.vies.faults().injected().len(), 2);
}

#[tokio::test]
async fn admin_endpoints_fill_the_registry_and_switch_member_states() {
    let env = Env::start().await;
    let (status, _) = env
        .post(
            "/__sandbox/registry",
            json!({"countryCode": "GR", "vatNumber": "094259216"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = env
        .post(
            "/__sandbox/registry",
            json!({"countryCode": "EL", "vatNumber": "094259216", "name": "ΕΤΑΙΡΕΙΑ ΑΕ"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = env
        .post("/__sandbox/member-states/EL", json!({"available": false}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, down) = env.get("/ms/EL/vat/094259216").await;
    assert_eq!(down["userError"], json!("MS_UNAVAILABLE"));
    env.post("/__sandbox/member-states/EL", json!({"available": true}))
        .await;
    let (_, up) = env.get("/ms/EL/vat/094259216").await;
    assert_eq!(up["name"], json!("ΕΤΑΙΡΕΙΑ ΑΕ"));

    let (status, _) = env
        .post("/__sandbox/availability", json!({"available": false}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        env.get("/ms/EL/vat/094259216").await.1["userError"],
        json!("SERVICE_UNAVAILABLE")
    );

    let (_, requests) = env.get("/__sandbox/requests").await;
    assert_eq!(
        requests.as_array().unwrap().len(),
        3,
        "admin calls are not recorded"
    );
    let (_, consultations) = env.get("/__sandbox/consultations").await;
    assert_eq!(consultations, json!([]));
}
