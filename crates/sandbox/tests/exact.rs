//! The Exact Online emulator over real HTTP: OAuth, OData, sales entries, limits and faults.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_sandbox::Running;
use reqwest::{header, Client, Response, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const DIVISION: i32 = 100001;

struct Env {
    _running: Running,
    sandbox: ExactSandbox,
    http: Client,
    base: String,
    token: String,
}

fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn exchange_code(
    http: &Client,
    base: &str,
    config: &ExactConfig,
    code: &str,
) -> (StatusCode, Value) {
    let response = http
        .post(format!("{base}/api/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", config.redirect_uri.as_str()),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn refresh(
    http: &Client,
    base: &str,
    config: &ExactConfig,
    token: &str,
) -> (StatusCode, Value) {
    let response = http
        .post(format!("{base}/api/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn env_with(config: ExactConfig) -> Env {
    let (running, sandbox) = ExactSandbox::start(config.clone(), 0).await.unwrap();
    let base = running.base_url();
    let http = http();
    let code = sandbox.issue_authorization_code();
    let (status, tokens) = exchange_code(&http, &base, &config, &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    Env {
        _running: running,
        sandbox,
        http,
        base,
        token: tokens["access_token"].as_str().unwrap().to_string(),
    }
}

async fn env() -> Env {
    env_with(ExactConfig::default()).await
}

fn api(path: &str) -> String {
    format!("/api/v1/{DIVISION}/{path}")
}

impl Env {
    /// A new grant through the code flow (after the clock passed the token's lifetime).
    async fn renew(&mut self) {
        let code = self.sandbox.issue_authorization_code();
        let (status, tokens) =
            exchange_code(&self.http, &self.base, self.sandbox.config(), &code).await;
        assert_eq!(status, StatusCode::OK);
        self.token = tokens["access_token"].as_str().unwrap().to_string();
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> Response {
        self.get_url(&self.url(path)).await
    }

    async fn get_url(&self, url: &str) -> Response {
        self.http
            .get(url)
            .bearer_auth(&self.token)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: &Value, representation: bool) -> Response {
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header(header::ACCEPT, "application/json")
            .json(body);
        if representation {
            request = request.header("Prefer", "return=representation");
        }
        request.send().await.unwrap()
    }

    async fn put(&self, path: &str, body: &Value) -> Response {
        self.http
            .put(self.url(path))
            .bearer_auth(&self.token)
            .header(header::ACCEPT, "application/json")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn create_account(&self, body: Value) -> Value {
        let response = self.post(&api("crm/Accounts"), &body, true).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.unwrap()["d"].clone()
    }

    async fn customer(&self) -> String {
        let account = self
            .create_account(json!({ "Name": "Jan Jansen", "Status": "C", "IsSales": true }))
            .await;
        account["ID"].as_str().unwrap().to_string()
    }

    async fn gl(&self, code: &str) -> String {
        let found = self
            .get_json(&format!(
                "{}?$filter=Code eq '{code}'&$select=ID,Code",
                api("financial/GLAccounts")
            ))
            .await;
        found["d"]["results"][0]["ID"].as_str().unwrap().to_string()
    }
}

/// The ID of the seeded account classification with `code`.
async fn classification(env: &Env, code: &str) -> String {
    let found = env
        .get_json(&format!(
            "{}?$filter=Code eq '{code}'&$select=ID",
            api("crm/AccountClassifications")
        ))
        .await;
    found["d"]["results"][0]["ID"].as_str().unwrap().to_string()
}

async fn error_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    (status, error_text(&response.json().await.unwrap()))
}

fn error_text(body: &Value) -> String {
    body["error"]["message"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn header_i64(response: &Response, name: &str) -> i64 {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn entry(customer: &str, gl: &str, your_ref: &str) -> Value {
    json!({
        "Journal": "70",
        "Customer": customer,
        "EntryDate": "2024-05-01T00:00:00",
        "Currency": "EUR",
        "YourRef": your_ref,
        "Description": format!("Webshop order {your_ref}"),
        "Type": 20,
        "SalesEntryLines": [
            { "GLAccount": gl, "AmountFC": 100.00, "VATCode": "1", "Description": "T-shirt x2" },
            { "GLAccount": gl, "AmountFC": 4.95, "VATCode": "1", "Description": "Shipping" }
        ]
    })
}

#[tokio::test]
async fn authorization_code_flow_and_refresh_rotation() {
    let config = ExactConfig::default();
    let (running, sandbox) = ExactSandbox::start(config.clone(), 0).await.unwrap();
    let base = running.base_url();
    let http = http();

    // The authorize endpoint redirects at once with a code and the state.
    let authorize = http
        .get(format!("{base}/api/oauth2/auth"))
        .query(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", config.redirect_uri.as_str()),
            ("response_type", "code"),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status(), StatusCode::FOUND);
    let location =
        url::Url::parse(authorize.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&config.redirect_uri));
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("state".into(), "xyz".into())));
    let code = pairs.iter().find(|(k, _)| k == "code").unwrap().1.clone();

    // A redirect URI other than the registered one is refused.
    let mismatch = http
        .get(format!("{base}/api/oauth2/auth"))
        .query(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", "http://evil.example/cb"),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);

    let (status, tokens) = exchange_code(&http, &base, &config, &code).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], json!("600"), "expires_in is a string");
    let first_access = tokens["access_token"].as_str().unwrap().to_string();
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_string();

    // Codes are single use.
    let (status, reused) = exchange_code(&http, &base, &config, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");

    let me = http
        .get(format!("{base}/api/v1/current/Me"))
        .bearer_auth(&first_access)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["d"]["results"][0]["CurrentDivision"], json!(DIVISION));
    assert!(me["d"]["results"][0]["UserName"].is_string());

    // No new token while the current one is younger than 570 s.
    let (status, early) = refresh(&http, &base, &config, &first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(early["error_description"]
        .as_str()
        .unwrap()
        .contains("still valid"));

    sandbox.advance_clock(Duration::from_secs(571));
    let (status, rotated) = refresh(&http, &base, &config, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second_access = rotated["access_token"].as_str().unwrap().to_string();
    assert_ne!(rotated["refresh_token"], json!(first_refresh));
    assert_ne!(second_access, first_access);

    // The old refresh token is dead once the new pair is used.
    let me = |access: String| {
        http.get(format!("{base}/api/v1/current/Me"))
            .bearer_auth(access)
            .header(header::ACCEPT, "application/json")
            .send()
    };
    assert_eq!(
        me(second_access.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    sandbox.advance_clock(Duration::from_secs(600));
    let (status, old) = refresh(&http, &base, &config, &first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(old["error"], "invalid_grant");
    assert_eq!(old["error_description"], "Old refresh token used.");

    // 600 s after issue the access token no longer works.
    let expired = me(second_access).await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.unwrap();
    assert!(error_text(&body).contains("expired"));
}

#[tokio::test]
async fn a_lost_token_answer_leaves_the_refresh_token_redeemable() {
    let config = ExactConfig::default();
    let (running, sandbox) = ExactSandbox::start(config.clone(), 0).await.unwrap();
    let base = running.base_url();
    let http = http();
    let code = sandbox.issue_authorization_code();
    let (_, tokens) = exchange_code(&http, &base, &config, &code).await;
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    sandbox.age_tokens(Duration::from_secs(571));

    sandbox.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("/api/oauth2/token".into()),
        },
        fault: Fault::LoseResponse,
        times: 1,
    });
    let lost = http
        .post(format!("{base}/api/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first_refresh.as_str()),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
        ])
        .send()
        .await;
    let answered = match lost {
        Ok(response) => response.text().await.is_ok(),
        Err(_) => false,
    };
    assert!(!answered, "the answer breaks off");
    assert_eq!(sandbox.faults().injected().len(), 1);

    // Exact minted the pair: the 570-second rule holds the retry back, then lets it through.
    let (status, early) = refresh(&http, &base, &config, &first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(early["error"], "invalid_request");
    assert!(early["error_description"]
        .as_str()
        .unwrap()
        .contains("Try again in"));
    sandbox.age_tokens(Duration::from_secs(571));
    let (status, retried) = refresh(&http, &base, &config, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
}

#[tokio::test]
async fn consent_page_and_admin_authorize() {
    let config = ExactConfig {
        auto_approve: false,
        ..ExactConfig::default()
    };
    let (running, _sandbox) = ExactSandbox::start(config.clone(), 0).await.unwrap();
    let base = running.base_url();
    let http = http();
    let page = http
        .get(format!("{base}/api/oauth2/auth"))
        .query(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", config.redirect_uri.as_str()),
            ("response_type", "code"),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Approve"));

    let approved = http
        .post(format!("{base}/api/oauth2/auth"))
        .form(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", config.redirect_uri.as_str()),
            ("response_type", "code"),
            ("state", "s1"),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::FOUND);
    let location = approved.headers()[header::LOCATION].to_str().unwrap();
    assert!(location.contains("code=") && location.contains("state=s1"));

    let wrong_client = http
        .get(format!("{base}/api/oauth2/auth"))
        .query(&[
            ("client_id", "someone-else"),
            ("redirect_uri", config.redirect_uri.as_str()),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_client.status(), StatusCode::BAD_REQUEST);

    // Scripts get a code without the browser dance.
    let code: Value = http
        .post(format!("{base}/__sandbox/authorize"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, tokens) =
        exchange_code(&http, &base, &config, code["code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tokens["access_token"].as_str().unwrap().len() > 20);
}

#[tokio::test]
async fn account_codes_are_padded_and_filters_must_pad() {
    let env = env().await;
    let created = env
        .create_account(json!({ "Name": "Bakkerij Smit", "Code": "1024", "Email": "info@smit.nl", "Country": "nl" }))
        .await;
    let padded = format!("{:>18}", "1024");
    assert_eq!(created["Code"], json!(padded));
    assert_eq!(created["Country"], "NL");
    assert_eq!(created["CountryName"], "Nederland");

    let auto = env.create_account(json!({ "Name": "Zonder Code" })).await;
    let auto_code = auto["Code"].as_str().unwrap();
    assert_eq!(auto_code.len(), 18);
    assert_eq!(auto_code.trim(), "1025");

    let unpadded = env
        .get_json(&format!("{}?$filter=Code eq '1024'", api("crm/Accounts")))
        .await;
    assert_eq!(unpadded["d"]["results"].as_array().unwrap().len(), 0);
    let with_padding = env
        .get_json(&format!(
            "{}?$filter=Code eq '{padded}'",
            api("crm/Accounts")
        ))
        .await;
    assert_eq!(with_padding["d"]["results"][0]["Name"], "Bakkerij Smit");

    // Duplicate code and missing Name are rejected.
    let duplicate = env
        .post(
            &api("crm/Accounts"),
            &json!({ "Name": "Dubbel", "Code": "1024" }),
            true,
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::BAD_REQUEST);
    let nameless = env
        .post(&api("crm/Accounts"), &json!({ "Email": "a@b.nl" }), true)
        .await;
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST);
    let body: Value = nameless.json().await.unwrap();
    assert!(error_text(&body).contains("Mandatory: Name"));
    assert_eq!(env.sandbox.accounts(DIVISION).len(), 2);
    assert_eq!(env.sandbox.accounts(DIVISION)[0]["Code"], json!(padded));
}

#[tokio::test]
async fn collections_page_by_60_with_next_links() {
    let env = env_with(ExactConfig {
        minutely_limit: 1000,
        ..ExactConfig::default()
    })
    .await;
    for n in 0..65 {
        env.create_account(json!({ "Name": format!("Klant {n}") }))
            .await;
    }
    let first = env
        .get_json(&format!("{}?$select=ID,Code", api("crm/Accounts")))
        .await;
    let results = first["d"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 60);
    let keys: HashSet<&str> = results[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["__metadata", "ID", "Code"]));
    let next = first["d"]["__next"].as_str().unwrap();
    assert!(next.starts_with(&env.base) && next.contains("$skiptoken=guid'"));

    let second = env.get_url(next).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    let rest = second["d"]["results"].as_array().unwrap();
    assert_eq!(rest.len(), 5);
    assert!(second["d"].get("__next").is_none());
    assert!(rest[0].get("Name").is_none(), "$select carried into __next");
    let ids: HashSet<&str> = results
        .iter()
        .chain(rest)
        .map(|r| r["ID"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 65);

    // $top caps the total, also across pages.
    let top = env
        .get_json(&format!(
            "{}?$top=61&$orderby=Name desc",
            api("crm/Accounts")
        ))
        .await;
    assert_eq!(top["d"]["results"].as_array().unwrap().len(), 60);
    let next = top["d"]["__next"].as_str().unwrap().to_string();
    assert!(next.contains("$top=1"));
    let tail: Value = env.get_url(&next).await.json().await.unwrap();
    assert_eq!(tail["d"]["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn odata_select_filter_and_syntax_errors() {
    let env = env().await;
    let revenue = env
        .get_json(&format!(
            "{}?$select=Code,Description&$filter=BalanceType eq 'W' and Code ge '8000' and Code lt '8030'&$orderby=Code desc",
            api("financial/GLAccounts")
        ))
        .await;
    let codes: Vec<&str> = revenue["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["8020", "8010", "8000"]);
    let first = &revenue["d"]["results"][0];
    assert_eq!(first["Description"], "Omzet ICP (verlegd)");
    assert!(first.get("ID").is_none());
    assert_eq!(
        first["__metadata"]["type"],
        "Exact.Web.Api.Models.GLAccount"
    );

    let vat = env
        .get_json(&format!(
            "{}?$filter=OssCountry eq 'DE' and Code eq 'ODE'&$select=Code,Percentage,Description",
            api("vat/VATCodes")
        ))
        .await;
    assert_eq!(vat["d"]["results"][0]["Percentage"], json!(0.19));

    let sales_journal = env
        .get_json(&format!("{}?$filter=Type eq 20", api("financial/Journals")))
        .await;
    assert_eq!(sales_journal["d"]["results"][0]["Code"], "70");

    // Single entity by key.
    let gl = env.gl("8000").await;
    let one = env
        .get_json(&format!("{}(guid'{gl}')", api("financial/GLAccounts")))
        .await;
    assert_eq!(one["d"]["Code"], "8000");
    assert!(one["d"]["Created"].as_str().unwrap().starts_with("/Date("));

    for bad in [
        "Code eq",
        "Code eq '8000",
        "(Code eq '8000'",
        "Code equals '8000'",
    ] {
        let response = env
            .get(&format!("{}?$filter={bad}", api("financial/GLAccounts")))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(
            error_text(&body).contains("Error in query syntax."),
            "{bad}"
        );
    }
    let unknown = env
        .get(&format!("{}?$select=Nope", api("financial/GLAccounts")))
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let mistyped = env
        .get(&format!(
            "{}?$filter=ID eq '{gl}'",
            api("financial/GLAccounts")
        ))
        .await;
    assert_eq!(
        mistyped.status(),
        StatusCode::BAD_REQUEST,
        "guid needs guid'…'"
    );
}

#[tokio::test]
async fn sales_entry_is_booked_with_vat_and_lines() {
    let env = env().await;
    let customer = env.customer().await;
    let gl = env.gl("8000").await;
    let response = env
        .post(
            &api("salesentry/SalesEntries"),
            &entry(&customer, &gl, "WEB-1001"),
            true,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key(header::LOCATION));
    let d = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(d["AmountFC"], json!(126.99));
    assert_eq!(d["VATAmountFC"], json!(22.04));
    assert_eq!(d["Journal"], "70");
    assert_eq!(d["Status"], 20);
    assert_eq!(d["YourRef"], "WEB-1001");
    assert_eq!(d["EntryDate"], "/Date(1714521600000)/");
    assert!(d["EntryNumber"].as_i64().unwrap() > 0);
    let lines = d["SalesEntryLines"]["results"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["VATAmountFC"], json!(21.0));
    assert_eq!(
        lines[1]["VATAmountFC"],
        json!(1.04),
        "4.95 * 21% = 1.0395 → 1.04"
    );
    assert_eq!(lines[1]["GLAccountCode"], "8000");

    let records = env.sandbox.sales_entries(DIVISION);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.entry_id.to_string(), d["EntryID"].as_str().unwrap());
    assert_eq!(record.amount_fc, dec("126.99"));
    assert_eq!(record.vat_amount_fc, dec("22.04"));
    assert_eq!(record.lines[1].vat_code.as_deref(), Some("1"));
    assert_eq!(record.lines[1].amount_fc, dec("4.95"));
    assert_eq!(record.entry_date, "2024-05-01");
    assert!(!record.modified_after_creation);

    // Without Prefer: 204 with a Location; YourRef is not unique in Exact.
    let second = env
        .post(
            &api("salesentry/SalesEntries"),
            &entry(&customer, &gl, "WEB-1001"),
            false,
        )
        .await;
    assert_eq!(second.status(), StatusCode::NO_CONTENT);
    let location = second.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let fetched = env.get_url(&location).await.json::<Value>().await.unwrap();
    assert_eq!(fetched["d"]["YourRef"], "WEB-1001");
    assert!(fetched["d"]["SalesEntryLines"]["__deferred"].is_object());
    let numbers: Vec<i64> = env
        .sandbox
        .sales_entries(DIVISION)
        .iter()
        .map(|r| r.entry_number)
        .collect();
    assert_eq!(numbers[1], numbers[0] + 1);

    let found = env
        .get_json(&format!(
            "{}?$filter=YourRef eq 'WEB-1001'&$select=EntryID,EntryNumber,YourRef",
            api("salesentry/SalesEntries")
        ))
        .await;
    assert_eq!(found["d"]["results"].as_array().unwrap().len(), 2);
    let lines = env
        .get_json(&format!(
            "{}?$filter=EntryID eq guid'{}'",
            api("salesentry/SalesEntryLines"),
            record.entry_id
        ))
        .await;
    assert_eq!(lines["d"]["results"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn credit_notes_link_by_your_ref_and_changes_are_tracked() {
    let env = env().await;
    let customer = env.customer().await;
    let gl = env.gl("8010").await;
    let sale = env
        .post(
            &api("salesentry/SalesEntries"),
            &entry(&customer, &gl, "WEB-2002"),
            true,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let sale_id = sale["d"]["EntryID"].as_str().unwrap().to_string();
    let credit = json!({
        "Journal": "70",
        "Customer": customer,
        "Type": 21,
        "YourRef": "WEB-2002",
        "SalesEntryLines": [{ "GLAccount": gl, "AmountFC": -10.00 }]
    });
    let response = env
        .post(&api("salesentry/SalesEntries"), &credit, true)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let d = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(d["TypeDescription"], "Sales credit note");
    assert_eq!(
        d["VATAmountFC"],
        json!(-0.9),
        "default VAT code of 8010 is 9%"
    );
    let records = env.sandbox.sales_entries(DIVISION);
    assert_eq!(records[1].original_entry.unwrap().to_string(), sale_id);
    assert_eq!(records[0].original_entry, None);

    // PUT and DELETE are accepted, but leave a mark.
    let put = env
        .http
        .put(env.url(&format!(
            "{}(guid'{sale_id}')",
            api("salesentry/SalesEntries")
        )))
        .bearer_auth(&env.token)
        .header(header::ACCEPT, "application/json")
        .json(&json!({ "Description": "changed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    assert!(env.sandbox.sales_entries(DIVISION)[0].modified_after_creation);
    let credit_id = d["EntryID"].as_str().unwrap();
    let delete = env
        .http
        .delete(env.url(&format!(
            "{}(guid'{credit_id}')",
            api("salesentry/SalesEntries")
        )))
        .bearer_auth(&env.token)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    let after = env.sandbox.sales_entries(DIVISION);
    assert_eq!(after.len(), 2, "deleted entries stay in the record");
    assert!(after[1].modified_after_creation);
    let gone = env
        .get(&format!(
            "{}(guid'{credit_id}')",
            api("salesentry/SalesEntries")
        ))
        .await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_sales_entries_are_rejected() {
    let env = env().await;
    let customer = env.customer().await;
    let revenue = env.gl("8000").await;
    let receivables = env.gl("1300").await;
    let unknown = "6c1d2b7a-0f8e-4b1c-9a55-3e2f4d5c6b70";

    let with = |patch: &dyn Fn(&mut Value)| {
        let mut body = entry(&customer, &revenue, "WEB-BAD");
        patch(&mut body);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown G/L account",
            with(&|b| b["SalesEntryLines"][0]["GLAccount"] = json!(unknown)),
            "Invalid reference: GLAccount",
        ),
        (
            "balance-sheet account",
            with(&|b| b["SalesEntryLines"][0]["GLAccount"] = json!(receivables)),
            "G/L account type",
        ),
        (
            "unknown VAT code",
            with(&|b| b["SalesEntryLines"][0]["VATCode"] = json!("99")),
            "Invalid reference: VATCode",
        ),
        (
            "purchase VAT code",
            with(&|b| b["SalesEntryLines"][0]["VATCode"] = json!("5")),
            "purchase VAT code",
        ),
        (
            "unknown journal",
            with(&|b| b["Journal"] = json!("77")),
            "Invalid reference: Journal",
        ),
        (
            "bank journal",
            with(&|b| b["Journal"] = json!("20")),
            "not a sales journal",
        ),
        (
            "unbalanced",
            with(&|b| b["AmountFC"] = json!(130.00)),
            "not in balance",
        ),
        (
            "no lines",
            with(&|b| b["SalesEntryLines"] = json!([])),
            "Mandatory: SalesEntryLines",
        ),
        (
            "unknown property",
            with(&|b| b["OrderId"] = json!("x")),
            "does not exist",
        ),
        (
            "YourRef too long",
            with(&|b| b["YourRef"] = json!("X".repeat(31))),
            "YourRef",
        ),
    ];
    for (name, body, expected) in cases {
        let response = env.post(&api("salesentry/SalesEntries"), &body, true).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(
            error_text(&body).contains(expected),
            "{name}: {}",
            error_text(&body)
        );
    }
    assert!(env.sandbox.sales_entries(DIVISION).is_empty());

    // A balanced header amount is accepted.
    let balanced = with(&|b| b["AmountFC"] = json!(126.99));
    let response = env
        .post(&api("salesentry/SalesEntries"), &balanced, true)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn rate_limit_headers_and_minutely_429() {
    let env = env().await;
    let first = env.get(&api("financial/Journals")).await;
    assert_eq!(header_i64(&first, "X-RateLimit-Limit"), 5000);
    assert_eq!(header_i64(&first, "X-RateLimit-Remaining"), 4999);
    assert_eq!(header_i64(&first, "X-RateLimit-Minutely-Limit"), 60);
    assert_eq!(header_i64(&first, "X-RateLimit-Minutely-Remaining"), 59);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let daily_reset = header_i64(&first, "X-RateLimit-Reset");
    assert_eq!(daily_reset % 86_400_000, 0, "midnight UTC");
    assert!(daily_reset > now_ms);
    let minutely_reset = header_i64(&first, "X-RateLimit-Minutely-Reset");
    assert_eq!(minutely_reset % 60_000, 0);

    // Keep the burst inside one minute window of the emulator clock.
    if minutely_reset - now_ms < 20_000 {
        env.sandbox
            .advance_clock(Duration::from_millis((minutely_reset - now_ms + 50) as u64));
    }
    let mut remaining = 60;
    let mut calls = 0;
    while remaining > 0 {
        let response = env.get(&api("financial/Journals")).await;
        assert_eq!(response.status(), StatusCode::OK);
        remaining = header_i64(&response, "X-RateLimit-Minutely-Remaining");
        calls += 1;
        assert!(calls <= 60);
    }
    let refused = env
        .post(&api("crm/Accounts"), &json!({ "Name": "Te laat" }), true)
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_i64(&refused, "X-RateLimit-Minutely-Remaining"), 0);
    assert!(refused.headers().contains_key("X-RateLimit-Reset"));
    let body: Value = refused.json().await.unwrap();
    assert!(error_text(&body).contains("rate limit"));
    assert!(env.sandbox.accounts(DIVISION).is_empty(), "nothing applied");

    env.sandbox.advance_clock(Duration::from_secs(60));
    let again = env.get(&api("financial/Journals")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(header_i64(&again, "X-RateLimit-Minutely-Remaining"), 59);

    // Errors carry the headers too.
    let no_token = env
        .http
        .get(env.url(&api("financial/Journals")))
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert!(no_token
        .headers()
        .contains_key("X-RateLimit-Minutely-Remaining"));
}

#[tokio::test]
async fn daily_limit_refuses_until_midnight() {
    let mut env = env_with(ExactConfig {
        daily_limit: 3,
        ..ExactConfig::default()
    })
    .await;
    for left in [2, 1, 0] {
        let response = env.get(&api("vat/VATCodes")).await;
        assert_eq!(header_i64(&response, "X-RateLimit-Remaining"), left);
    }
    let refused = env.get(&api("vat/VATCodes")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    env.sandbox.advance_clock(Duration::from_secs(86_400));
    env.renew().await;
    assert_eq!(env.get(&api("vat/VATCodes")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn eleven_errors_in_an_hour_block_the_endpoint() {
    let mut env = env().await;
    let missing = format!(
        "{}(guid'00000000-0000-0000-0000-000000000001')",
        api("salesentry/SalesEntries")
    );
    for _ in 0..11 {
        assert_eq!(env.get(&missing).await.status(), StatusCode::NOT_FOUND);
    }
    let blocked = env.get(&api("salesentry/SalesEntries")).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = blocked.json().await.unwrap();
    assert!(error_text(&body).contains("blocked"));
    // Other endpoints of the division are not affected.
    assert_eq!(env.get(&api("crm/Accounts")).await.status(), StatusCode::OK);

    env.sandbox.advance_clock(Duration::from_secs(3_601));
    // The token expired meanwhile: get a fresh one through the code flow.
    env.renew().await;
    let response = env.get(&api("salesentry/SalesEntries")).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "block lifted after the hour"
    );
}

#[tokio::test]
async fn protocol_errors() {
    let env = env().await;
    let no_accept = env
        .http
        .get(env.url(&api("crm/Accounts")))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_accept.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        env.get("/api/v1/999999/crm/Accounts").await.status(),
        StatusCode::FORBIDDEN
    );
    let unknown = env.get(&api("crm/Nonsense")).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: Value = unknown.json().await.unwrap();
    assert!(body["error"]["message"]["value"].is_string());
    let bad_token = env
        .http
        .get(env.url(&api("crm/Accounts")))
        .bearer_auth("not-a-token")
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    let count = env
        .http
        .get(env.url(&format!("{}/$count", api("financial/GLAccounts"))))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(count.text().await.unwrap(), "17");

    // A second division has its own master data.
    env.sandbox.add_division(200002, "Tweede BV");
    let divisions = env.get_json(&api("system/Divisions")).await;
    assert_eq!(divisions["d"]["results"].as_array().unwrap().len(), 2);
    let other = env
        .get_json("/api/v1/200002/financial/GLAccounts?$filter=Code eq '8000'")
        .await;
    assert_ne!(other["d"]["results"][0]["ID"], json!(env.gl("8000").await));
}

async fn post_entry_with_fault(
    env: &Env,
    fault: Fault,
    your_ref: &str,
    customer: &str,
    gl: &str,
) -> reqwest::Result<Response> {
    env.sandbox.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("salesentry/SalesEntries".into()),
        },
        fault,
        times: 1,
    });
    env.http
        .post(env.url(&api("salesentry/SalesEntries")))
        .bearer_auth(&env.token)
        .header(header::ACCEPT, "application/json")
        .header("Prefer", "return=representation")
        .json(&entry(customer, gl, your_ref))
        .send()
        .await
}

fn booked(env: &Env, your_ref: &str) -> usize {
    env.sandbox
        .sales_entries(DIVISION)
        .iter()
        .filter(|r| r.your_ref.as_deref() == Some(your_ref))
        .count()
}

#[tokio::test]
async fn injected_faults() {
    let env = env().await;
    let customer = env.customer().await;
    let gl = env.gl("8000").await;

    let response = post_entry_with_fault(&env, Fault::ServerError, "F-500", &customer, &gl)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(booked(&env, "F-500"), 0);

    let response = post_entry_with_fault(&env, Fault::TooManyRequests, "F-429", &customer, &gl)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_i64(&response, "X-RateLimit-Minutely-Remaining"), 0);
    assert!(response
        .headers()
        .contains_key("X-RateLimit-Minutely-Reset"));
    assert_eq!(booked(&env, "F-429"), 0);

    let response =
        post_entry_with_fault(&env, Fault::ServerErrorAfterApply, "F-503", &customer, &gl)
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(booked(&env, "F-503"), 1, "applied despite the 503");

    let started = Instant::now();
    let response =
        post_entry_with_fault(&env, Fault::Slow { millis: 300 }, "F-SLOW", &customer, &gl)
            .await
            .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(booked(&env, "F-SLOW"), 1);

    let lost = post_entry_with_fault(&env, Fault::LoseResponse, "F-LOST", &customer, &gl).await;
    let body = match lost {
        Ok(response) => response.text().await,
        Err(error) => Err(error),
    };
    assert!(body.is_err(), "the client cannot read the answer");
    assert_eq!(booked(&env, "F-LOST"), 1, "but the entry exists");
    let found = env
        .get_json(&format!(
            "{}?$filter=YourRef eq 'F-LOST'&$select=EntryID",
            api("salesentry/SalesEntries")
        ))
        .await;
    assert_eq!(found["d"]["results"].as_array().unwrap().len(), 1);

    // Every request is recorded, faulted ones included, with the division as tenant.
    let posts: Vec<u16> = env
        .sandbox
        .recorder()
        .all()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("salesentry/SalesEntries"))
        .map(|r| {
            assert_eq!(r.tenant.as_deref(), Some("100001"));
            r.status
        })
        .collect();
    assert_eq!(posts, [500, 429, 503, 201, 201]);
    assert_eq!(env.sandbox.faults().injected().len(), 5);

    // The admin API sees the same.
    let admin: Value = env
        .http
        .get(env.url(&format!("/__sandbox/divisions/{DIVISION}/sales-entries")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin.as_array().unwrap().len(), 3);
    let requests: Value = env
        .http
        .get(env.url("/__sandbox/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(requests.as_array().unwrap().len() >= 8);
}

#[tokio::test]
async fn admin_fault_endpoint_arms_faults() {
    let env = env().await;
    let armed = env
        .http
        .post(env.url("/__sandbox/faults"))
        .json(&json!({ "match": { "method": "GET", "path_contains": "crm/Accounts" }, "fault": { "kind": "server_error" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        env.get(&api("crm/Accounts")).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(env.get(&api("crm/Accounts")).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn payment_conditions_and_classifications_are_seeded() {
    let env = env().await;
    let conditions = env
        .get_json(&format!(
            "{}?$orderby=Code&$select=Code,Description,PaymentMethod,PaymentDays",
            api("cashflow/PaymentConditions")
        ))
        .await;
    let seen: Vec<(&str, &str, &str, i64)> = conditions["d"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Code"].as_str().unwrap(),
                c["Description"].as_str().unwrap(),
                c["PaymentMethod"].as_str().unwrap(),
                c["PaymentDays"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("00", "Contant", "K", 0),
            ("14", "14 dagen", "B", 14),
            ("30", "30 dagen", "B", 30),
            ("IN", "Incasso", "I", 14),
        ]
    );

    let names = env
        .get_json(&format!(
            "{}?$orderby=SequenceNumber",
            api("crm/AccountClassificationNames")
        ))
        .await;
    let names = names["d"]["results"].as_array().unwrap().clone();
    let described: Vec<(i64, &str)> = names
        .iter()
        .map(|n| {
            (
                n["SequenceNumber"].as_i64().unwrap(),
                n["Description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(described, [(1, "Klantsoort"), (2, "Regio")]);
    assert_eq!(
        names[0]["__metadata"]["type"],
        "Exact.Web.Api.Models.AccountClassificationName"
    );

    for (name, expected) in [
        (&names[0], vec!["B2B", "B2B-EU", "B2C", "GROOTHANDEL"]),
        (&names[1], vec!["EU", "EXPORT", "NL"]),
    ] {
        let under = env
            .get_json(&format!(
                "{}?$filter=AccountClassificationName eq guid'{}'&$orderby=Code",
                api("crm/AccountClassifications"),
                name["ID"].as_str().unwrap()
            ))
            .await;
        let results = under["d"]["results"].as_array().unwrap();
        let codes: Vec<&str> = results
            .iter()
            .map(|c| c["Code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, expected);
        assert!(results
            .iter()
            .all(
                |c| c["AccountClassificationNameDescription"] == name["Description"]
                    && c["ID"].is_string()
            ));
    }

    // Another division has the same conditions under its own GUIDs.
    env.sandbox.add_division(200002, "Tweede BV");
    let ids = |v: &Value| -> HashSet<String> {
        v["d"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["ID"].as_str().unwrap().to_string())
            .collect()
    };
    let here = env.get_json(&api("cashflow/PaymentConditions")).await;
    let there = env
        .get_json("/api/v1/200002/cashflow/PaymentConditions")
        .await;
    assert_eq!(ids(&there).len(), 4);
    assert!(ids(&here).is_disjoint(&ids(&there)));
}

#[tokio::test]
async fn account_classifications_are_checked_and_put_updates() {
    let env = env().await;
    let b2b = classification(&env, "B2B").await;
    let b2c = classification(&env, "B2C").await;
    let nl = classification(&env, "NL").await;

    let account = env
        .create_account(json!({
            "Name": "Groothandel Visser",
            "Code": "2001",
            "Classification1": b2b,
            "Classification2": nl,
        }))
        .await;
    assert_eq!(account["Classification1"], json!(b2b));
    assert_eq!(account["Classification2"], json!(nl));
    let id = account["ID"].as_str().unwrap().to_string();

    // A region under Klantsoort, and a GUID that is no classification at all.
    let (status, message) = error_of(
        env.post(
            &api("crm/Accounts"),
            &json!({ "Name": "Verkeerd", "Classification1": nl }),
            true,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("Classification1") && message.contains("Regio"),
        "{message}"
    );
    let (status, message) = error_of(
        env.post(
            &api("crm/Accounts"),
            &json!({ "Name": "Onbekend", "Classification3": "6c1d2b7a-0f8e-4b1c-9a55-3e2f4d5c6b70" }),
            true,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("Invalid reference: Classification3"),
        "{message}"
    );
    assert_eq!(env.sandbox.accounts(DIVISION).len(), 1);

    // PUT changes what it sends and keeps the rest.
    let key = format!("{}(guid'{id}')", api("crm/Accounts"));
    let put = env
        .put(
            &key,
            &json!({ "Name": "Visser Groothandel BV", "Classification1": b2c, "City": "Urk" }),
        )
        .await;
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let updated = env.get_json(&key).await["d"].clone();
    assert_eq!(updated["Name"], "Visser Groothandel BV");
    assert_eq!(updated["City"], "Urk");
    assert_eq!(updated["Classification1"], json!(b2c));
    assert_eq!(updated["Classification2"], json!(nl));
    assert_eq!(updated["Code"], json!(format!("{:>18}", "2001")));
    assert_eq!(updated["ID"], json!(id));

    // Refused updates change nothing.
    let (status, message) = error_of(env.put(&key, &json!({ "Classification2": b2c })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("Classification2"), "{message}");
    let (status, message) =
        error_of(env.put(&key, &json!({ "Name": "X", "Shoesize": 42 })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("does not exist"), "{message}");
    let (status, _) = error_of(env.put(&key, &json!({ "Name": " " })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        env.get_json(&key).await["d"]["Name"],
        "Visser Groothandel BV"
    );

    let missing = format!(
        "{}(guid'6c1d2b7a-0f8e-4b1c-9a55-3e2f4d5c6b70')",
        api("crm/Accounts")
    );
    let (status, _) = error_of(env.put(&missing, &json!({ "Name": "Niemand" })).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn addresses_are_posted_and_found_by_account() {
    let env = env().await;
    let shop = env
        .create_account(json!({ "Name": "Boekhandel Kok" }))
        .await;
    let shop_id = shop["ID"].as_str().unwrap();
    let other = env.customer().await;

    let response = env
        .post(
            &api("crm/Addresses"),
            &json!({
                "Account": shop_id,
                "Type": 4,
                "AddressLine1": "Hauptstraße 5",
                "Postcode": "10115",
                "City": "Berlin",
                "Country": "de",
            }),
            true,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let address = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(address["AccountName"], "Boekhandel Kok");
    assert_eq!(address["Country"], "DE");
    assert_eq!(address["CountryName"], "Duitsland");
    assert_eq!(
        address["Main"], true,
        "first delivery address of the account"
    );
    let posted = env
        .post(
            &api("crm/Addresses"),
            &json!({ "Account": other, "Type": 3, "AddressLine1": "Kerkstraat 1", "City": "Gouda", "Country": "NL" }),
            false,
        )
        .await;
    assert_eq!(posted.status(), StatusCode::NO_CONTENT);

    let found = env
        .get_json(&format!(
            "{}?$filter=Account eq guid'{shop_id}'",
            api("crm/Addresses")
        ))
        .await;
    let results = found["d"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["AddressLine1"], "Hauptstraße 5");
    assert_eq!(results[0]["Postcode"], "10115");
    assert_eq!(results[0]["Type"], 4);
    assert_eq!(results[0]["ID"], address["ID"]);

    for (body, expected) in [
        (
            json!({ "Account": shop_id, "City": "Berlin" }),
            "Mandatory: Type",
        ),
        (json!({ "Account": shop_id, "Type": 5 }), "Invalid: Type 5"),
        (json!({ "Type": 1 }), "Mandatory: Account"),
        (
            json!({ "Account": "6c1d2b7a-0f8e-4b1c-9a55-3e2f4d5c6b70", "Type": 1 }),
            "Invalid reference: Account",
        ),
    ] {
        let (status, message) = error_of(env.post(&api("crm/Addresses"), &body, true).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert_eq!(
        env.get_json(&api("crm/Addresses")).await["d"]["results"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn sales_entry_payment_terms_references_and_line_extras() {
    let env = env().await;
    let customer = env.customer().await;
    let gl = env.gl("8000").await;
    let entries = api("salesentry/SalesEntries");

    // The condition gives the due date: 2024-05-01 + 30 days.
    let mut body = entry(&customer, &gl, "WEB-3003");
    body["PaymentCondition"] = json!("30");
    body["PaymentReference"] = json!("1000 0000 3003");
    body["ExternalLinkReference"] = json!("https://shop.example/orders/3003");
    body["ExternalLinkDescription"] = json!("Bestelling 3003");
    body["SalesEntryLines"][0]["Notes"] = json!("Cadeauverpakking");
    body["SalesEntryLines"][0]["SerialNumber"] = json!("SN-0042");
    body["SalesEntryLines"][0]["From"] = json!("2024-05-01");
    body["SalesEntryLines"][0]["To"] = json!("2024-07-31T00:00:00");
    body["SalesEntryLines"][0]["IntraStatCountry"] = json!("DE");
    body["SalesEntryLines"][0]["IntraStatDeliveryTerm"] = json!("DAP");
    body["SalesEntryLines"][0]["IntraStatTransactionA"] = json!("1");
    body["SalesEntryLines"][0]["IntraStatTransactionB"] = json!("1");
    body["SalesEntryLines"][0]["IntraStatTransportMethod"] = json!("3");
    body["SalesEntryLines"][0]["StatisticalNetWeight"] = json!(0.4);
    body["SalesEntryLines"][0]["StatisticalNumber"] = json!("61091000");
    body["SalesEntryLines"][0]["StatisticalQuantity"] = json!(2);
    body["SalesEntryLines"][0]["StatisticalValue"] = json!(100.0);
    let response = env.post(&entries, &body, true).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let d = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(d["PaymentCondition"], "30");
    assert_eq!(d["PaymentConditionDescription"], "30 dagen");
    assert_eq!(d["PaymentConditionPaymentMethod"], "B");
    assert_eq!(d["DueDate"], "/Date(1717113600000)/", "2024-05-31");
    assert_eq!(d["PaymentReference"], "1000 0000 3003");
    assert_eq!(
        d["ExternalLinkReference"],
        "https://shop.example/orders/3003"
    );
    assert_eq!(d["ExternalLinkDescription"], "Bestelling 3003");

    let lines = env
        .get_json(&format!(
            "{}?$filter=EntryID eq guid'{}' and LineNumber eq 1",
            api("salesentry/SalesEntryLines"),
            d["EntryID"].as_str().unwrap()
        ))
        .await;
    let line = &lines["d"]["results"][0];
    for (name, expected) in [
        ("Notes", json!("Cadeauverpakking")),
        ("SerialNumber", json!("SN-0042")),
        ("From", json!("/Date(1714521600000)/")),
        ("To", json!("/Date(1722384000000)/")),
        ("IntraStatCountry", json!("DE")),
        ("IntraStatDeliveryTerm", json!("DAP")),
        ("IntraStatTransactionA", json!("1")),
        ("IntraStatTransactionB", json!("1")),
        ("IntraStatTransportMethod", json!("3")),
        ("StatisticalNetWeight", json!(0.4)),
        ("StatisticalNumber", json!("61091000")),
        ("StatisticalQuantity", json!(2.0)),
        ("StatisticalValue", json!(100.0)),
    ] {
        assert_eq!(line[name], expected, "{name}");
    }

    // A DueDate sent wins over the condition's.
    let mut body = entry(&customer, &gl, "WEB-3004");
    body["PaymentCondition"] = json!("14");
    body["DueDate"] = json!("2024-06-15T00:00:00");
    let d = env
        .post(&entries, &body, true)
        .await
        .json::<Value>()
        .await
        .unwrap()["d"]
        .clone();
    assert_eq!(d["DueDate"], "/Date(1718409600000)/", "2024-06-15");

    let mut unknown_condition = entry(&customer, &gl, "WEB-3005");
    unknown_condition["PaymentCondition"] = json!("60");
    let mut undocumented = entry(&customer, &gl, "WEB-3005");
    undocumented["SalesEntryLines"][0]["Colour"] = json!("rood");
    let mut reversed = entry(&customer, &gl, "WEB-3005");
    reversed["SalesEntryLines"][0]["From"] = json!("2024-07-31");
    reversed["SalesEntryLines"][0]["To"] = json!("2024-05-01");
    for (body, expected) in [
        (
            unknown_condition,
            "Invalid reference: PaymentCondition '60'",
        ),
        (
            undocumented,
            "'Colour' does not exist on type 'Exact.Web.Api.Models.SalesEntryLine'",
        ),
        (reversed, "From is after To"),
    ] {
        let (status, message) = error_of(env.post(&entries, &body, true).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expected}");
        assert!(message.contains(expected), "{message}");
    }
    assert_eq!(env.sandbox.sales_entries(DIVISION).len(), 2);
}

/// The seeded item with `code`, with the fields an invoice line takes from it.
async fn item(env: &Env, code: &str) -> Value {
    let found = env
        .get_json(&format!(
            "{}?$filter=Code eq '{code}'&$select=ID,Code,Description,GLRevenue,GLRevenueCode,\
             SalesVatCode,StandardSalesPrice,IsSalesItem",
            api("logistics/Items")
        ))
        .await;
    found["d"]["results"][0].clone()
}

fn invoice(customer: &str, tshirt: &str, shipping: &str, your_ref: &str) -> Value {
    json!({
        "OrderedBy": customer,
        "Journal": "70",
        "InvoiceDate": "2024-05-01T00:00:00",
        "YourRef": your_ref,
        "Description": format!("Webshop order {your_ref}"),
        "SalesInvoiceLines": [
            { "Item": tshirt, "Quantity": 2, "NetPrice": 16.49 },
            { "Item": shipping, "AmountFC": 4.09, "Description": "Verzending" }
        ]
    })
}

async fn print(env: &Env, invoice_id: &str, email: bool) -> Response {
    env.post(
        &api("salesinvoice/PrintedSalesInvoices"),
        &json!({ "InvoiceID": invoice_id, "SendEmailToCustomer": email }),
        true,
    )
    .await
}

#[tokio::test]
async fn items_are_seeded_with_revenue_accounts_and_vat_codes() {
    let env = env().await;
    let tshirt = item(&env, "ART-1001").await;
    assert_eq!(tshirt["Description"], "T-shirt katoen");
    assert_eq!(tshirt["GLRevenue"], json!(env.gl("8000").await));
    assert_eq!(tshirt["GLRevenueCode"], "8000");
    assert_eq!(tshirt["SalesVatCode"], "1  ");
    assert_eq!(tshirt["StandardSalesPrice"], json!(19.95));
    assert_eq!(tshirt["IsSalesItem"], true);
    let book = item(&env, "ART-2001").await;
    assert_eq!(book["GLRevenue"], json!(env.gl("8010").await));
}

#[tokio::test]
async fn sales_invoice_is_drafted_then_printed_booked_and_emailed_once() {
    let env = env().await;
    let customer = env
        .create_account(json!({ "Name": "Jan Jansen", "Status": "C", "Email": "jan@example.nl" }))
        .await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let tshirt = item(&env, "ART-1001").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let shipping = item(&env, "VERZEND").await["ID"]
        .as_str()
        .unwrap()
        .to_string();

    let response = env
        .post(
            &api("salesinvoice/SalesInvoices"),
            &invoice(&customer, &tshirt, &shipping, "WEB-5001"),
            true,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key(header::LOCATION));
    let d = response.json::<Value>().await.unwrap()["d"].clone();
    let invoice_id = d["InvoiceID"].as_str().unwrap().to_string();
    assert_eq!(d["Status"], 10);
    assert_eq!(d["StatusDescription"], "Draft");
    assert_eq!(d["Type"], 8020);
    assert_eq!(d["InvoiceNumber"], Value::Null);
    assert_eq!(d["OrderedBy"], json!(customer));
    assert_eq!(d["InvoiceTo"], json!(customer), "defaults to the orderer");
    assert_eq!(d["OrderedByName"], "Jan Jansen");
    assert_eq!(d["InvoiceDate"], "/Date(1714521600000)/");
    // 2 × 16.49 = 32.98 (VAT 6.9258 → 6.93) + 4.09 (VAT 0.8589 → 0.86)
    assert_eq!(d["AmountFCExclVat"], json!(37.07));
    assert_eq!(d["VATAmountFC"], json!(7.79));
    assert_eq!(d["AmountFC"], json!(44.86));
    let lines = d["SalesInvoiceLines"]["results"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0]["GLAccount"],
        json!(env.gl("8000").await),
        "from the item"
    );
    assert_eq!(lines[0]["VATCode"], "1  ", "from the item");
    assert_eq!(lines[0]["Description"], "T-shirt katoen", "from the item");
    assert_eq!(lines[0]["AmountFC"], json!(32.98));
    assert_eq!(lines[0]["ItemCode"], "ART-1001");
    assert_eq!(lines[1]["Quantity"], json!(1.0));
    assert_eq!(lines[1]["NetPrice"], json!(4.09));
    assert_eq!(lines[1]["Description"], "Verzending");
    assert!(
        env.sandbox.sales_entries(DIVISION).is_empty(),
        "a draft books nothing"
    );

    let found = env
        .get_json(&format!(
            "{}?$filter=YourRef eq 'WEB-5001' and Status eq 10\
             &$select=InvoiceID,Status,InvoiceNumber,YourRef",
            api("salesinvoice/SalesInvoices")
        ))
        .await;
    let results = found["d"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["InvoiceID"], json!(invoice_id));
    assert!(results[0].get("AmountFC").is_none(), "only the $select-ed");
    let lines = env
        .get_json(&format!(
            "{}?$filter=InvoiceID eq guid'{invoice_id}'&$select=LineNumber,AmountFC",
            api("salesinvoice/SalesInvoiceLines")
        ))
        .await;
    assert_eq!(lines["d"]["results"].as_array().unwrap().len(), 2);
    let navigated = env
        .get_json(&format!(
            "{}(guid'{invoice_id}')/SalesInvoiceLines",
            api("salesinvoice/SalesInvoices")
        ))
        .await;
    assert_eq!(navigated["d"]["results"].as_array().unwrap().len(), 2);

    let response = print(&env, &invoice_id, true).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let printed = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(printed["InvoiceID"], json!(invoice_id));
    assert!(printed["EmailCreationSuccess"]
        .as_str()
        .unwrap()
        .contains("jan@example.nl"));
    assert_eq!(printed["EmailCreationError"], Value::Null);
    assert!(printed["DocumentCreationSuccess"].is_string());
    assert_eq!(printed["DocumentCreationError"], Value::Null);

    let invoices = env.sandbox.sales_invoices(DIVISION);
    assert_eq!(invoices.len(), 1);
    let record = &invoices[0];
    assert_eq!(record.status, 50);
    let number = record
        .invoice_number
        .expect("processing numbers the invoice");
    assert_eq!(record.amount_fc, dec("44.86"));
    assert!(!record.modified_after_creation);
    let processed = env
        .get_json(&format!(
            "{}(guid'{invoice_id}')",
            api("salesinvoice/SalesInvoices")
        ))
        .await;
    assert_eq!(processed["d"]["Status"], 50);
    assert_eq!(processed["d"]["StatusDescription"], "Processed");
    assert_eq!(processed["d"]["InvoiceNumber"], json!(number));

    // The sales entry it booked carries the invoice number and reconciles to the cent.
    let entries = env.sandbox.sales_entries(DIVISION);
    assert_eq!(entries.len(), 1);
    let sale = &entries[0];
    assert_eq!(sale.entry_id.to_string(), invoice_id);
    assert_eq!(sale.invoice, Some(sale.entry_id));
    assert_eq!(record.sales_entry, Some(sale.entry_id));
    assert_eq!(sale.entry_number, number);
    assert_eq!(sale.entry_type, 20);
    assert_eq!(sale.journal, "70");
    assert_eq!(sale.customer.to_string(), customer);
    assert_eq!(sale.your_ref.as_deref(), Some("WEB-5001"));
    assert_eq!(sale.entry_date, "2024-05-01");
    assert_eq!(sale.amount_fc, record.amount_fc);
    assert_eq!(sale.vat_amount_fc, dec("7.79"));
    let booked: Decimal = sale
        .lines
        .iter()
        .map(|l| l.amount_fc + l.vat_amount_fc)
        .sum();
    assert_eq!(booked, sale.amount_fc);
    assert_eq!(sale.lines[1].description.as_deref(), Some("Verzending"));
    let entry_json = env
        .get_json(&format!(
            "{}(guid'{invoice_id}')",
            api("salesentry/SalesEntries")
        ))
        .await;
    assert_eq!(entry_json["d"]["Status"], 50);
    assert_eq!(entry_json["d"]["EntryNumber"], json!(number));
    assert_eq!(entry_json["d"]["InvoiceNumber"], json!(number));

    let emails = env.sandbox.sent_invoice_emails(DIVISION);
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "jan@example.nl");
    assert_eq!(emails[0].invoice_number, number);
    assert_eq!(emails[0].your_ref.as_deref(), Some("WEB-5001"));
    assert_eq!(emails[0].invoice_id.to_string(), invoice_id);

    // Printing again is refused: no second e-mail, no second entry.
    let (status, message) = error_of(print(&env, &invoice_id, true).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("already processed"), "{message}");
    assert_eq!(env.sandbox.sent_invoice_emails(DIVISION).len(), 1);
    assert_eq!(env.sandbox.sales_entries(DIVISION).len(), 1);

    // Processed invoices and the entries they booked can't be changed anymore.
    let invoice_url = format!("{}(guid'{invoice_id}')", api("salesinvoice/SalesInvoices"));
    let (status, message) =
        error_of(env.put(&invoice_url, &json!({ "Description": "x" })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("can't be changed"), "{message}");
    let entry_url = format!("{}(guid'{invoice_id}')", api("salesentry/SalesEntries"));
    let (status, message) =
        error_of(env.put(&entry_url, &json!({ "Description": "x" })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("processed"), "{message}");

    // An unknown invoice, and a GET of the processing endpoint.
    let unknown = print(&env, "6c1d2b7a-0f8e-4b1c-9a55-3e2f4d5c6b70", true).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let get = env.get(&api("salesinvoice/PrintedSalesInvoices")).await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Invoices take their numbers from the journal's free numbers, as entries do.
    let gl = env.gl("8000").await;
    let next = env
        .post(
            &api("salesentry/SalesEntries"),
            &entry(&customer, &gl, "WEB-5002"),
            true,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(next["d"]["EntryNumber"], json!(number + 1));
}

#[tokio::test]
async fn customer_without_email_is_invoiced_but_not_emailed() {
    let env = env().await;
    let customer = env.customer().await;
    let book = item(&env, "ART-2001").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    // No journal, price, G/L account or VAT code: the defaults of the division and the item.
    let body = json!({
        "OrderedBy": customer,
        "YourRef": "WEB-6001",
        "InvoiceDate": "2024-06-03",
        "PaymentCondition": "14",
        "SalesInvoiceLines": [{ "Item": book, "Quantity": 2 }]
    });
    let response = env
        .post(&api("salesinvoice/SalesInvoices"), &body, true)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let d = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(d["Journal"], "70");
    assert_eq!(
        d["DueDate"], "/Date(1718582400000)/",
        "2024-06-03 + 14 days"
    );
    let line = &d["SalesInvoiceLines"]["results"][0];
    assert_eq!(line["UnitPrice"], json!(24.95));
    assert_eq!(line["AmountFC"], json!(49.9));
    assert_eq!(line["VATCode"], "2  ");
    assert_eq!(line["VATAmountFC"], json!(4.49), "49.90 × 9% = 4.491");
    assert_eq!(line["GLAccount"], json!(env.gl("8010").await));
    let invoice_id = d["InvoiceID"].as_str().unwrap().to_string();

    let response = print(&env, &invoice_id, true).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let printed = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(printed["EmailCreationSuccess"], Value::Null);
    assert!(
        printed["EmailCreationError"]
            .as_str()
            .unwrap()
            .contains("has no e-mail address"),
        "{printed}"
    );
    assert!(env.sandbox.sent_invoice_emails(DIVISION).is_empty());
    let record = &env.sandbox.sales_invoices(DIVISION)[0];
    assert_eq!(record.status, 50, "processed all the same");
    let entries = env.sandbox.sales_entries(DIVISION);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].amount_fc, dec("54.39"));

    // A credit note for the same order is booked as a credit entry linked to the sale.
    let credit = json!({
        "OrderedBy": customer,
        "Type": 8021,
        "YourRef": "WEB-6001",
        "SalesInvoiceLines": [{ "Item": book, "Quantity": -1, "NetPrice": 24.95 }]
    });
    let response = env
        .post(&api("salesinvoice/SalesInvoices"), &credit, true)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let d = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(d["TypeDescription"], "Sales credit note");
    assert_eq!(d["AmountFC"], json!(-27.2), "-24.95 - 2.25 VAT");
    let response = print(&env, d["InvoiceID"].as_str().unwrap(), false).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let printed = response.json::<Value>().await.unwrap()["d"].clone();
    assert_eq!(
        printed["EmailCreationError"],
        Value::Null,
        "no e-mail asked"
    );
    let entries = env.sandbox.sales_entries(DIVISION);
    assert_eq!(entries[1].entry_type, 21);
    assert_eq!(entries[1].amount_fc, dec("-27.20"));
    assert_eq!(entries[1].original_entry, Some(entries[0].entry_id));
}

#[tokio::test]
async fn invalid_sales_invoices_are_rejected() {
    let mut env = env().await;
    let customer = env.customer().await;
    let tshirt = item(&env, "ART-1001").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let shipping = item(&env, "VERZEND").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let receivables = env.gl("1300").await;
    let unknown = "6c1d2b7a-0f8e-4b1c-9a55-3e2f4d5c6b70";
    let with = |patch: &dyn Fn(&mut Value)| {
        let mut body = invoice(&customer, &tshirt, &shipping, "WEB-BAD");
        patch(&mut body);
        body
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "line without item",
            with(&|b| {
                b["SalesInvoiceLines"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("Item");
            }),
            "Mandatory: Item (line 2)",
        ),
        (
            "unknown item",
            with(&|b| b["SalesInvoiceLines"][0]["Item"] = json!(unknown)),
            "Invalid reference: Item",
        ),
        (
            "no customer",
            with(&|b| {
                b.as_object_mut().unwrap().remove("OrderedBy");
            }),
            "Mandatory: OrderedBy",
        ),
        (
            "unknown customer",
            with(&|b| b["OrderedBy"] = json!(unknown)),
            "Invalid reference: OrderedBy",
        ),
        (
            "bank journal",
            with(&|b| b["Journal"] = json!("20")),
            "not a sales journal",
        ),
        (
            "unknown journal",
            with(&|b| b["Journal"] = json!("77")),
            "Invalid reference: Journal",
        ),
        (
            "balance-sheet account",
            with(&|b| b["SalesInvoiceLines"][0]["GLAccount"] = json!(receivables)),
            "G/L account type",
        ),
        (
            "unknown VAT code",
            with(&|b| b["SalesInvoiceLines"][0]["VATCode"] = json!("99")),
            "Invalid reference: VATCode '99' (line 1)",
        ),
        (
            "unknown payment condition",
            with(&|b| b["PaymentCondition"] = json!("60")),
            "Invalid reference: PaymentCondition '60'",
        ),
        (
            "amount against price",
            with(&|b| b["SalesInvoiceLines"][0]["AmountFC"] = json!(30.00)),
            "differs from Quantity × NetPrice",
        ),
        (
            "unbalanced header",
            with(&|b| b["AmountFC"] = json!(50.00)),
            "not in balance",
        ),
        (
            "no lines",
            with(&|b| b["SalesInvoiceLines"] = json!([])),
            "Mandatory: SalesInvoiceLines",
        ),
        (
            "foreign currency",
            with(&|b| b["Currency"] = json!("USD")),
            "no exchange rate",
        ),
        (
            "direct invoice",
            with(&|b| b["Type"] = json!(8023)),
            "Invalid: Type 8023",
        ),
        (
            "contact person",
            with(&|b| b["OrderedByContactPerson"] = json!(unknown)),
            "Invalid reference: OrderedByContactPerson",
        ),
        (
            "unknown property",
            with(&|b| b["OrderId"] = json!("x")),
            "'OrderId' does not exist on type 'Exact.Web.Api.Models.SalesInvoice'",
        ),
        (
            "unknown line property",
            with(&|b| b["SalesInvoiceLines"][0]["Sku"] = json!("x")),
            "'Sku' does not exist on type 'Exact.Web.Api.Models.SalesInvoiceLine'",
        ),
        (
            "YourRef too long",
            with(&|b| b["YourRef"] = json!("X".repeat(31))),
            "YourRef",
        ),
    ];
    for (index, (name, body, expected)) in cases.into_iter().enumerate() {
        // Past ten errors an hour the endpoint is blocked: let the hour pass.
        if index > 0 && index % 10 == 0 {
            env.sandbox.advance_clock(Duration::from_secs(3_601));
            env.renew().await;
        }
        let (status, message) = error_of(
            env.post(&api("salesinvoice/SalesInvoices"), &body, true)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(message.contains(expected), "{name}: {message}");
    }
    assert!(env.sandbox.sales_invoices(DIVISION).is_empty());

    // Printing needs an invoice; unknown layouts dangle.
    let (status, message) = error_of(
        env.post(
            &api("salesinvoice/PrintedSalesInvoices"),
            &json!({ "SendEmailToCustomer": true }),
            true,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("Mandatory: InvoiceID"), "{message}");
    let created = env
        .post(
            &api("salesinvoice/SalesInvoices"),
            &invoice(&customer, &tshirt, &shipping, "WEB-7001"),
            true,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let id = created["d"]["InvoiceID"].as_str().unwrap();
    let (status, message) = error_of(
        env.post(
            &api("salesinvoice/PrintedSalesInvoices"),
            &json!({ "InvoiceID": id, "DocumentLayout": unknown }),
            true,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("Invalid reference: DocumentLayout"),
        "{message}"
    );
    assert_eq!(env.sandbox.sales_invoices(DIVISION)[0].status, 10);
}

#[tokio::test]
async fn drafts_can_be_changed_and_deleted() {
    let env = env().await;
    let customer = env.customer().await;
    let tshirt = item(&env, "ART-1001").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let shipping = item(&env, "VERZEND").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let invoices = api("salesinvoice/SalesInvoices");
    let mut ids = Vec::new();
    for your_ref in ["WEB-8001", "WEB-8002"] {
        let created = env
            .post(
                &invoices,
                &invoice(&customer, &tshirt, &shipping, your_ref),
                false,
            )
            .await;
        assert_eq!(created.status(), StatusCode::NO_CONTENT);
        let location = created.headers()[header::LOCATION].to_str().unwrap();
        let fetched = env.get_url(location).await.json::<Value>().await.unwrap();
        ids.push(fetched["d"]["InvoiceID"].as_str().unwrap().to_string());
    }
    let first = format!("{invoices}(guid'{}')", ids[0]);
    let changed = env
        .put(
            &first,
            &json!({ "YourRef": "WEB-8001-A", "Remarks": "Cadeau" }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let (status, message) = error_of(env.put(&first, &json!({ "OrderedBy": ids[1] })).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("OrderedBy cannot be changed"), "{message}");
    let deleted = env
        .http
        .delete(env.url(&format!("{invoices}(guid'{}')", ids[1])))
        .bearer_auth(&env.token)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let records = env.sandbox.sales_invoices(DIVISION);
    assert_eq!(records.len(), 2, "deleted drafts stay in the record");
    assert_eq!(records[0].your_ref.as_deref(), Some("WEB-8001-A"));
    assert!(records.iter().all(|r| r.modified_after_creation));
    let listed = env
        .get_json(&format!("{invoices}?$select=InvoiceID,YourRef,Remarks"))
        .await;
    let listed = listed["d"]["results"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["Remarks"], "Cadeau");
    let gone = print(&env, &ids[1], true).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn printing_that_lands_despite_a_503_is_not_repeated() {
    let env = env().await;
    let customer = env
        .create_account(json!({ "Name": "Piet Pieters", "Email": "piet@example.nl" }))
        .await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let tshirt = item(&env, "ART-1001").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let shipping = item(&env, "VERZEND").await["ID"]
        .as_str()
        .unwrap()
        .to_string();
    let created = env
        .post(
            &api("salesinvoice/SalesInvoices"),
            &invoice(&customer, &tshirt, &shipping, "WEB-9001"),
            true,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let id = created["d"]["InvoiceID"].as_str().unwrap().to_string();

    env.sandbox.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("salesinvoice/PrintedSalesInvoices".into()),
        },
        fault: Fault::ServerErrorAfterApply,
        times: 1,
    });
    let response = print(&env, &id, true).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        env.sandbox.sent_invoice_emails(DIVISION).len(),
        1,
        "applied"
    );

    // The caller finds it processed and does not print again.
    let found = env
        .get_json(&format!(
            "{}?$filter=YourRef eq 'WEB-9001'&$select=InvoiceID,Status,InvoiceNumber",
            api("salesinvoice/SalesInvoices")
        ))
        .await;
    assert_eq!(found["d"]["results"][0]["Status"], 50);
    assert_eq!(
        print(&env, &id, true).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(env.sandbox.sent_invoice_emails(DIVISION).len(), 1);

    let statuses: Vec<u16> = env
        .sandbox
        .recorder()
        .all()
        .into_iter()
        .filter(|r| r.path.ends_with("salesinvoice/PrintedSalesInvoices"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 400]);
    assert_eq!(env.sandbox.faults().injected().len(), 1);
}
