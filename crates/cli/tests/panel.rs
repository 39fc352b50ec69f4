//! The control panel and the JSON API over HTTP, as a browser and a program use them: signing
//! up and in (CSRF on every form, a fresh session on sign-in, a rate limit), the transfer log
//! of the demo shop's real bookings, retrying a held document — and merchant B seeing none of
//! merchant A's documents, by page or by API, whatever id it tries.

mod panel_world;

use std::collections::BTreeMap;

use chrono::Utc;

use ledgerlink::demo::{DemoWorld, CONNECTION};
use ledgerlink_store::DocState;
use panel_world::{
    api_get, booked_world, fietsen_order, give_connection, held_austrian_order, options, ShopsWorld,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

/// A browser without JavaScript: keeps cookies, follows no redirects by itself.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            // The OAuth flow's cookie must survive Exact's cross-site redirect back: Lax.
            let same_site = if text.starts_with("__Host-ledgerlink-oauth=") {
                "SameSite=Lax"
            } else {
                "SameSite=Strict"
            };
            for flag in ["HttpOnly", "Secure", same_site, "Path=/"] {
                assert!(text.contains(flag), "cookie without {flag}: {text}");
            }
            let (name, rest) = text.split_once('=').unwrap();
            let value = rest.split(';').next().unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        assert_security_headers(&response);
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// Posts a form; the status and where it redirects to.
    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        assert_security_headers(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let body = response.text().await.unwrap();
        (status, location.unwrap_or(body))
    }

    /// The CSRF token of the form on the page.
    async fn csrf_of(&mut self, path: &str) -> String {
        let (status, page) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        hidden_csrf(&page)
    }

    async fn sign_up(&mut self, account: &str, email: &str, password: &str) {
        let csrf = self.csrf_of("/signup").await;
        let (status, location) = self
            .post(
                "/signup",
                &[
                    ("csrf", csrf.as_str()),
                    ("account", account),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> (StatusCode, String) {
        let csrf = self.csrf_of("/signin").await;
        self.post(
            "/signin",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }
}

fn hidden_csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page
        .find(marker)
        .expect("the page has a form with a CSRF token")
        + marker.len();
    page[start..][..page[start..].find('"').unwrap()].to_string()
}

fn assert_security_headers(response: &Response) {
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

async fn api_token(browser: &mut Browser, name: &str) -> String {
    let (_, page) = browser.get("/tokens").await;
    let csrf = hidden_csrf(&page);
    let (status, page) = browser
        .post("/tokens", &[("csrf", &csrf), ("name", name)])
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let start = page.find("llk_").expect("the new token is shown once");
    page[start..][..page[start..].find('<').unwrap()]
        .trim()
        .to_string()
}

#[tokio::test]
async fn a_merchant_signs_up_sees_its_transfer_log_and_retries_a_held_document() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let store = world.engine.store().clone();
    let mut eva = Browser::new(&world.server_url);

    // Not signed in: every page leads to the sign-in form.
    let (status, location) = eva.post("/signout", &[("csrf", "x")]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/signin")
    );

    // A form sent without the token of the page it came from is refused.
    let (status, _) = eva
        .post(
            "/signup",
            &[
                ("csrf", "forged"),
                ("account", "Bakkerij Jansen"),
                ("email", "eva@bakkerij.nl"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csrf = eva.csrf_of("/signup").await;
    let (status, page) = eva
        .post(
            "/signup",
            &[
                ("csrf", &csrf),
                ("account", "Bakkerij Jansen"),
                ("email", "eva@bakkerij.nl"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("at least 12 characters"), "{page}");

    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    let account = store
        .user_by_email("eva@bakkerij.nl")
        .await
        .unwrap()
        .unwrap();
    assert!(account.password_hash.starts_with("$argon2id$"));
    let (_, page) = eva.get("/").await;
    assert!(
        page.contains("No connection belongs to this account yet"),
        "{page}"
    );

    // The operator gives the demo shop to this account.
    store
        .bind_connection(CONNECTION, account.account_id)
        .await
        .unwrap();
    let (status, page) = eva.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(CONNECTION), "{page}");
    let booked = store
        .documents(CONNECTION, Some(DocState::Booked))
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<td>{}</td>", booked.len())),
        "{page}"
    );
    // The chart: today's bar has every booking and the held mistake; the amount booked.
    let today = Utc::now().format("%Y-%m-%d");
    let held_now = store
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap()
        .len();
    assert!(
        page.contains(&format!(
            "<title>{today}: {} booked, {held_now} held</title>",
            booked.len()
        )),
        "{page}"
    );
    assert!(page.contains("<strong>EUR "), "{page}");

    // The transfer log: all of them, filtered by state, found by reference.
    let (_, page) = eva.get("/documents").await;
    for document in &booked {
        assert!(page.contains(&format!("/documents/{}\"", document.id)));
    }
    let held = store
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap();
    assert!(!held.is_empty(), "the demo mix has mistakes that are held");
    let (_, page) = eva.get("/documents?state=held&connection=").await;
    assert_eq!(
        page.matches("<td class=\"state held\">").count(),
        held.len()
    );
    let reference = booked[0].reference.clone().unwrap();
    let (_, page) = eva.get(&format!("/documents?q={reference}")).await;
    assert!(page.contains(&reference), "{page}");
    let (status, page) = eva.get("/documents?state=lost").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("is not a state"), "{page}");

    // A held document: its reason, and a retry that needs the session's token.
    let (status, page) = eva.get(&format!("/documents/{}", held[0].id)).await;
    assert_eq!(status, StatusCode::OK);
    let reason = held[0].reason.clone().unwrap();
    assert!(page.contains(&askama_escaped(&reason)), "{page}");
    let csrf = hidden_csrf(&page);
    let retry = format!("/documents/{}/retry", held[0].id);
    let (status, _) = eva.post(&retry, &[("csrf", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        store.document(held[0].id).await.unwrap().unwrap().state,
        DocState::Held
    );
    let (status, location) = eva.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("/documents/{}?done=retry", held[0].id));
    let transitions = store.transitions(held[0].id).await.unwrap();
    assert_eq!(transitions.last().unwrap().from_state, Some(DocState::Held));
    let (status, _) = eva.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "no longer held");

    // The same through the API, with a token made on the panel.
    let token = api_token(&mut eva, "boekhouder").await;
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", world.server_url);
    let unauthorised = http.get(api("/documents")).send().await.unwrap();
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = unauthorised.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Bearer"));
    let listed: serde_json::Value = api_get(api("/documents?state=booked"), &token).await;
    assert_eq!(listed["documents"].as_array().unwrap().len(), booked.len());
    let detail: serde_json::Value =
        api_get(api(&format!("/documents/{}", booked[0].id)), &token).await;
    assert_eq!(detail["reference"], reference.as_str());
    assert_eq!(detail["state"], "booked");
    assert!(detail["plan"]["lines"].is_array(), "{detail}");
    let connections: serde_json::Value = api_get(api("/connections"), &token).await;
    assert_eq!(connections[0]["id"], CONNECTION);
    assert_eq!(connections[0]["booked"], booked.len());
    let openapi: serde_json::Value = http
        .get(api("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/v1/documents/{id}/retry"]["post"].is_object());

    // Signing out ends the session for good; signing in makes a new one.
    let old_session = eva.cookies["__Host-ledgerlink-session"].clone();
    let (_, page) = eva.get("/").await;
    let csrf = hidden_csrf(&page);
    let (status, location) = eva.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/signin")
    );
    let mut replay = Browser::new(&world.server_url);
    replay
        .cookies
        .insert("__Host-ledgerlink-session".into(), old_session.clone());
    let (status, _) = replay.get("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the old session is gone");
    let (status, location) = eva
        .sign_in("eva@bakkerij.nl", "correct horse battery")
        .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    assert_ne!(eva.cookies["__Host-ledgerlink-session"], old_session);
}

/// askama escapes what it shows; a reason with quotes is found escaped.
fn askama_escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn merchant_b_finds_nothing_of_merchant_a_by_page_or_api() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let store = world.engine.store().clone();
    let mut a = Browser::new(&world.server_url);
    a.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;
    let a_token = api_token(&mut a, "a").await;

    let mut b = Browser::new(&world.server_url);
    b.sign_up("Fietsen BV", "jan@fietsen.be", "another long password")
        .await;
    let b_token = api_token(&mut b, "b").await;
    let (_, page) = b.get("/").await;
    let b_csrf = hidden_csrf(&page);

    let mut ids: Vec<i64> = store
        .documents(CONNECTION, None)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert!(ids.len() > 10);
    ids.push(ids.iter().max().unwrap() + 1000);
    let http = reqwest::Client::new();
    for id in &ids {
        let (status, page) = b.get(&format!("/documents/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "page of document {id}");
        assert!(page.contains("no such page or document in your account"));
        for action in ["retry", "skip"] {
            let (status, _) = b
                .post(&format!("/documents/{id}/{action}"), &[("csrf", &b_csrf)])
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{action} of document {id}");
        }
        for request in [
            http.get(format!("{}/api/v1/documents/{id}", world.server_url)),
            http.post(format!("{}/api/v1/documents/{id}/retry", world.server_url)),
            http.post(format!("{}/api/v1/documents/{id}/skip", world.server_url)),
        ] {
            let response = request.bearer_auth(&b_token).send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "API, document {id}"
            );
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "not_found");
        }
    }
    // B's lists are empty, filters naming A's connection included; A's token is A's own.
    let (_, page) = b.get(&format!("/documents?connection={CONNECTION}")).await;
    assert!(page.contains("<p>0 document(s)"), "{page}");
    let listed: serde_json::Value =
        api_get(format!("{}/api/v1/documents", world.server_url), &b_token).await;
    assert_eq!(listed["documents"], serde_json::json!([]));
    let (status, _) = b
        .post(&format!("/tokens/{}/revoke", 1), &[("csrf", &b_csrf)])
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "A's first token is not B's to revoke"
    );
    let a_listed = http
        .get(format!("{}/api/v1/documents/{}", world.server_url, ids[0]))
        .bearer_auth(&a_token)
        .send()
        .await
        .unwrap();
    assert_eq!(a_listed.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_in_is_limited_and_says_nothing_about_which_addresses_exist() {
    let dir = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(&dir.path().join("ledger.sqlite"), options())
        .await
        .unwrap();
    let mut eva = Browser::new(&world.server_url);
    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    let mut guesser = Browser::new(&world.server_url);
    let (status, wrong_password) = guesser.sign_in("eva@bakkerij.nl", "guess number 1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, no_account) = guesser
        .sign_in("nobody@bakkerij.nl", "guess number 1")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let message = "That e-mail address and password do not match an account.";
    assert!(wrong_password.contains(message) && no_account.contains(message));
    for n in 2..=5 {
        let (status, _) = guesser
            .sign_in("eva@bakkerij.nl", &format!("guess number {n}"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The sixth attempt in a row, even with the right password.
    let (status, page) = guesser
        .sign_in("eva@bakkerij.nl", "correct horse battery")
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Wait a few minutes"), "{page}");
    assert!(!guesser.cookies.contains_key("__Host-ledgerlink-session"));
}

#[tokio::test]
async fn one_exact_user_connects_one_merchant_account_and_the_panel_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let store = world.engine.store().clone();

    // Merchant B's connection was authorised by the same Exact user before.
    let mut b = Browser::new(&world.server_url);
    b.sign_up("Fietsen BV", "jan@fietsen.be", "another long password")
        .await;
    give_connection(&*store, "fietsen-shop", "jan@fietsen.be").await;
    let exact_user = world.exact.first_user().to_string();
    store
        .connect_target_user(
            "fietsen-shop",
            &exact_user,
            "Sanne de Vries",
            "unused",
            Utc::now(),
        )
        .await
        .unwrap();

    let mut a = Browser::new(&world.server_url);
    a.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;
    let (status, page) = a.get("/connections").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Exact Online"), "{page}");
    assert!(
        page.contains("One Exact Online user can connect one ledgerlink account"),
        "the rule is said before connecting: {page}"
    );
    assert!(page.contains("API calls left today"), "{page}");

    // Connect: the panel sends the browser to Exact, Exact back to ledgerlink.
    let csrf = hidden_csrf(&page);
    let connect = format!("/connections/{CONNECTION}/connect");
    let (status, _) = a.post(&connect, &[("csrf", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, exact_page) = a.post(&connect, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(exact_page.starts_with(&world.exact_url), "{exact_page}");
    let consent = a.http.get(&exact_page).send().await.unwrap();
    assert_eq!(
        consent.status(),
        StatusCode::FOUND,
        "Exact approves at once"
    );
    // Back at the app's registered redirect URI: in this world, ledgerlink's own address.
    let redirect = consent.headers()[LOCATION].to_str().unwrap();
    let query = redirect.split_once('?').unwrap().1;
    let (status, said) = a.get(&format!("/oauth/exact/callback?{query}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(said.contains("connected as Sanne de Vries"), "{said}");
    assert!(
        said.contains("that account&#39;s connection has now lapsed")
            || said.contains("that account's connection has now lapsed"),
        "and says plainly what it did: {said}"
    );

    // A sees who it is connected as; B sees its connection lapsed, and why.
    let (_, page) = a.get("/connections").await;
    assert!(page.contains("Sanne de Vries (since"), "{page}");
    assert!(!page.contains("has lapsed"), "{page}");
    let (_, page) = b.get("/connections").await;
    assert!(page.contains("This connection has lapsed"), "{page}");
    assert!(
        page.contains("one Exact user can connect one account only"),
        "{page}"
    );
    // B cannot start A's connection.
    let (_, page) = b.get("/connections").await;
    let b_csrf = hidden_csrf(&page);
    let (status, _) = b.post(&connect, &[("csrf", &b_csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_test_run_shows_what_a_period_would_book_and_books_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let store = world.engine.store().clone();
    let mut eva = Browser::new(&world.server_url);
    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;
    let entries_before = world.exact.sales_entries(100001).len();
    let documents_before = store.documents(CONNECTION, None).await.unwrap().len();

    let page_path = format!("/connections/{CONNECTION}/dry-run");
    let (status, page) = eva.get(&page_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nothing is booked"), "{page}");
    let today = Utc::now().date_naive();
    let period = format!(
        "?from={}&until={}",
        today - chrono::Duration::days(2),
        today + chrono::Duration::days(2)
    );
    let (status, page) = eva.get(&format!("{page_path}{period}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");

    // What it says matches what the real run booked: every booked order's reference and amount.
    let booked = store
        .documents(CONNECTION, Some(DocState::Booked))
        .await
        .unwrap();
    for document in booked.iter().filter(|d| d.kind == "order") {
        let reference = document.reference.clone().unwrap();
        assert!(
            page.contains(&format!("<td>{reference}</td>")),
            "{reference}: {page}"
        );
    }
    assert!(
        page.contains("<td class=\"state hold\">hold</td>"),
        "the export mistake: {page}"
    );

    // The same through the API, with the figures to act on.
    let token = api_token(&mut eva, "test").await;
    let run = api_get(
        format!(
            "{}/api/v1/connections/{CONNECTION}/dry-run{period}",
            world.server_url
        ),
        &token,
    )
    .await;
    let to_book = run["to_book"].as_u64().unwrap();
    assert_eq!(to_book as usize, booked.len(), "{run}");
    assert!(run["most_calls"].as_u64().unwrap() >= to_book);
    let booked_sum: rust_decimal::Decimal = booked
        .iter()
        .map(|d| {
            d.plan_json.as_ref().unwrap()["total"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(run["totals"][0][0], "EUR");
    assert_eq!(
        run["totals"][0][1]
            .as_str()
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        booked_sum,
        "the test run's amount is what the real run booked, to the cent"
    );

    // Nothing was booked or taken into the ledger by either run.
    assert_eq!(world.exact.sales_entries(100001).len(), entries_before);
    assert_eq!(
        store.documents(CONNECTION, None).await.unwrap().len(),
        documents_before
    );

    // A period it refuses, and another account's connection it does not know.
    let (status, page) = eva
        .get(&format!("{page_path}?from={today}&until={today}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("The period is empty"), "{page}");
    let (status, _) = eva.get("/connections/someone-else/dry-run").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_held_document_is_skipped_by_a_person_and_the_ledger_says_who() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let store = world.engine.store().clone();
    let mut eva = Browser::new(&world.server_url);
    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;
    let held = store
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap();
    let id = held[0].id;
    let (_, page) = eva.get(&format!("/documents/{id}")).await;
    assert!(page.contains("Skip: do not book"), "{page}");
    let csrf = hidden_csrf(&page);
    let skip = format!("/documents/{id}/skip");
    let (status, _) = eva.post(&skip, &[("csrf", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, location) = eva.post(&skip, &[("csrf", &csrf)]).await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, format!("/documents/{id}?done=skip"))
    );
    let row = store.document(id).await.unwrap().unwrap();
    assert_eq!(row.state, DocState::Skipped);
    assert!(row
        .reason
        .unwrap()
        .starts_with("Skipped by eva@bakkerij.nl"));
    let last = store.transitions(id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.from_state, last.to_state),
        (Some(DocState::Held), DocState::Skipped)
    );

    // Not held any more: neither the page nor the API skips or retries it again.
    let token = api_token(&mut eva, "skipper").await;
    let http = reqwest::Client::new();
    for action in ["skip", "retry"] {
        let response = http
            .post(format!(
                "{}/api/v1/documents/{id}/{action}",
                world.server_url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT, "{action}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not held"));
    }
}

/// The text of the page's textarea, as the browser would send it.
fn textarea(page: &str) -> String {
    let start = page.find("<textarea").unwrap();
    let start = start + page[start..].find('>').unwrap() + 1;
    let text = &page[start..][..page[start..].find("</textarea>").unwrap()];
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

#[tokio::test]
async fn a_held_order_is_booked_after_its_vat_code_is_chosen_from_the_ledgers_own_list() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let held = held_austrian_order(&world).await;
    let store = world.engine.store().clone();
    let mut eva = Browser::new(&world.server_url);
    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;

    // From the held document to its connection's rules, with the lists of shop and ledger.
    let (_, page) = eva.get(&format!("/documents/{}", held.id)).await;
    let rules_link = format!("/connections/{CONNECTION}/rules?retry={}", held.id);
    assert!(page.contains(&rules_link), "{page}");
    let (status, page) = eva.get(&rules_link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("These are the settings file's rules"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"OAT\">OAT — OSS Oostenrijk 20%</option>"),
        "Exact's own VAT codes are offered: {page}"
    );
    assert!(
        page.contains("<option value=\"8040\" selected>8040 — Omzet OSS</option>"),
        "Exact's accounts, the one in force chosen: {page}"
    );
    assert!(
        page.contains(
            "name=\"trigger\" value=\"processing\" aria-label=\"Book at Processing\" checked"
        ),
        "{page}"
    );
    assert!(
        page.contains("value=\"in-production\""),
        "a custom status in force: {page}"
    );
    let csrf = hidden_csrf(&page);
    let shown_at = {
        let marker = "name=\"revision\" value=\"";
        let start = page.find(marker).unwrap() + marker.len();
        page[start..][..page[start..].find('"').unwrap()].to_string()
    };
    let toml_now = textarea(&page);
    assert!(toml_now.contains("[vat_codes]"), "{toml_now}");

    // A code the ledger does not have is refused with the setting named, and nothing changes.
    let rules_of = |code: &str| {
        let mut settings: ledgerlink_rules::BookingSettings = toml::from_str(&toml_now).unwrap();
        settings.vat_codes.insert("oss/AT/20".into(), code.into());
        toml::to_string(&settings).unwrap()
    };
    let save = format!("/connections/{CONNECTION}/rules/toml");
    let retry = held.id.to_string();
    let (status, page) = eva
        .post(
            &save,
            &[
                ("csrf", &csrf),
                ("toml", &rules_of("ZZZ")),
                ("retry", &retry),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("`vat_codes.&#34;oss/AT/20&#34;`: `ZZZ` does not exist in the exact books"),
        "{page}"
    );
    let (status, page) = eva
        .post(&save, &[("csrf", &csrf), ("toml", "journal = [")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("The TOML is not valid booking rules"),
        "{page}"
    );
    let (status, _) = eva
        .post(&save, &[("csrf", "forged"), ("toml", &rules_of("OAT"))])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let record = store.connection(CONNECTION).await.unwrap().unwrap();
    assert_eq!(record.settings_edited, None, "nothing was changed");
    assert_eq!(
        store.document(held.id).await.unwrap().unwrap().state,
        DocState::Held
    );

    // Exact's code for Austria: saved, in force, and the held order tried again and booked.
    let (status, location) = eva
        .post(
            &save,
            &[
                ("csrf", &csrf),
                ("toml", &rules_of("OAT")),
                ("retry", &retry),
            ],
        )
        .await;
    assert_eq!(
        (status, location),
        (
            StatusCode::SEE_OTHER,
            format!("/documents/{}?done=retry", held.id)
        )
    );
    let record = store.connection(CONNECTION).await.unwrap().unwrap();
    assert_eq!(record.settings_edited.unwrap().by, "eva@bakkerij.nl");
    assert_eq!(record.settings_json["vat_codes"]["oss/AT/20"], "OAT");
    world.settle().await.unwrap();
    let booked = store.document(held.id).await.unwrap().unwrap();
    assert_eq!(booked.state, DocState::Booked, "{:?}", booked.reason);
    let entry = world
        .exact
        .sales_entries(100001)
        .into_iter()
        .find(|e| Some(e.entry_id.to_string()) == booked.target_id)
        .unwrap();
    assert!(entry
        .lines
        .iter()
        .any(|l| l.vat_code.as_deref() == Some("OAT")));
    // Its page shows the calls to Exact that carried its reference.
    let (_, page) = eva.get(&format!("/documents/{}", held.id)).await;
    assert!(page.contains("Calls to the ledger"), "{page}");
    assert!(page.contains("salesentry/SalesEntries"), "{page}");
    assert!(page.contains("HTTP 201"), "{page}");
    // A second tab still showing the rules from before that save cannot undo it.
    let (status, page) = eva
        .post(
            &save,
            &[
                ("csrf", &csrf),
                ("toml", &rules_of("OBE")),
                ("revision", &shown_at),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Someone changed these rules"), "{page}");
    let record = store.connection(CONNECTION).await.unwrap().unwrap();
    assert_eq!(record.settings_json["vat_codes"]["oss/AT/20"], "OAT");
    let (_, page) = eva.get(&format!("/connections/{CONNECTION}/rules")).await;
    assert!(
        page.contains("eva@bakkerij.nl changed these rules here"),
        "{page}"
    );

    // The API gives the same rules and refuses what the page refuses.
    let token = api_token(&mut eva, "rules").await;
    let api = format!("{}/api/v1/connections/{CONNECTION}/rules", world.server_url);
    let rules: serde_json::Value = api_get(&api, &token).await;
    assert_eq!(rules["from"], "panel");
    assert_eq!(rules["edited_by"], "eva@bakkerij.nl");
    let mut changed = rules["settings"].clone();
    changed["journal"] = "99".into();
    let refused = reqwest::Client::new()
        .put(&api)
        .bearer_auth(&token)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid");
    assert!(
        body["error"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("`journal`: `99` does not exist"),
        "{body}"
    );
    // With the revision it read, a program changes nothing someone else changed meanwhile.
    let stale = reqwest::Client::new()
        .put(&api)
        .bearer_auth(&token)
        .header(
            "if-match",
            format!("\"{}\"", rules["revision"].as_i64().unwrap() - 1),
        )
        .json(&serde_json::json!({ "credit_notes": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let body: serde_json::Value = stale.json().await.unwrap();
    assert_eq!(body["error"]["code"], "changed");
    assert!(
        world
            .engine
            .connection(CONNECTION)
            .unwrap()
            .settings
            .get()
            .credit_notes
    );

    // A merge patch: what is left out stays, null removes.
    let patch = serde_json::json!({ "credit_notes": false, "vat_codes": { "oss/AT/20": null } });
    let taken = reqwest::Client::new()
        .put(&api)
        .bearer_auth(&token)
        .header("if-match", rules["revision"].to_string())
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::OK);
    let in_force = world.engine.connection(CONNECTION).unwrap().settings.get();
    assert!(!in_force.credit_notes);
    assert!(!in_force.vat_codes.contains_key("oss/AT/20"));
    assert_eq!(in_force.vat_codes["domestic/9"], "2", "kept");
    assert_eq!(in_force.journal, "70", "kept");

    // Merchant B sees none of it.
    let mut jan = Browser::new(&world.server_url);
    jan.sign_up("Fietsen BV", "jan@fietsen.be", "another long password")
        .await;
    let (status, _) = jan.get(&format!("/connections/{CONNECTION}/rules")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = jan.get("/").await;
    let jan_csrf = hidden_csrf(&page);
    let (status, _) = jan
        .post(&save, &[("csrf", &jan_csrf), ("toml", &rules_of("OAT"))])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let reset = format!("/connections/{CONNECTION}/rules/reset");
    let (status, _) = jan.post(&reset, &[("csrf", &jan_csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let jan_token = api_token(&mut jan, "b").await;
    let answer = reqwest::Client::new()
        .put(&api)
        .bearer_auth(&jan_token)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    // Back to the settings file's rules.
    let (status, _) = eva.post(&reset, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let record = store.connection(CONNECTION).await.unwrap().unwrap();
    assert_eq!(record.settings_edited, None);
    let in_force = world.engine.connection(CONNECTION).unwrap().settings.get();
    assert!(!in_force.vat_codes.contains_key("oss/AT/20"));
    assert!(in_force.credit_notes);
}

#[tokio::test]
async fn the_bookkeeper_set_on_the_notifications_page_is_mailed_when_an_order_is_held() {
    use ledgerlink::demo::{shop_mistakes, DemoNotifications};
    use ledgerlink_engine::config::{NotificationsConfig, SmtpConfig};
    use ledgerlink_engine::notify::{Retry, SmtpTls};

    let mail_server = ledgerlink_testkit::smtp::SmtpServer::start(None);
    let dir = tempfile::tempdir().unwrap();
    let notifying = DemoNotifications {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(mail_server.port),
            username: None,
            password: None,
            tls: SmtpTls::None,
            from: "ledgerlink@example.nl".parse().unwrap(),
        }),
        notifications: NotificationsConfig::default(),
        retry: Retry {
            retries: 1,
            first_delay: std::time::Duration::from_millis(10),
            max_delay: std::time::Duration::from_millis(10),
            timeout: std::time::Duration::from_secs(10),
        },
    };
    let world = DemoWorld::start_notifying(&dir.path().join("ledger.sqlite"), options(), notifying)
        .await
        .unwrap();
    let store = world.engine.store().clone();
    let mut eva = Browser::new(&world.server_url);
    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;

    let page_path = format!("/connections/{CONNECTION}/notifications");
    let (status, page) = eva.get(&page_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("These are the settings file's"), "{page}");
    assert!(
        page.contains("name=\"events\" value=\"held\" checked"),
        "every event by default: {page}"
    );
    let csrf = hidden_csrf(&page);
    let (status, page) = eva
        .post(
            &page_path,
            &[
                ("csrf", &csrf),
                ("email", "boekhouder at bakkerij"),
                ("events", "held"),
                ("report", "off"),
                ("report_hour", "7"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("`email`:"), "{page}");
    assert!(
        page.contains("boekhouder at bakkerij"),
        "what was sent is kept: {page}"
    );
    let wanted = [
        ("email", "boekhouder@bakkerij.nl"),
        ("events", "held"),
        ("report", "off"),
        ("report_hour", "7"),
    ];
    let (status, _) = eva
        .post(&page_path, &[&[("csrf", "forged")], &wanted[..]].concat())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        store
            .connection(CONNECTION)
            .await
            .unwrap()
            .unwrap()
            .notifications,
        None
    );
    let (status, location) = eva
        .post(
            &page_path,
            &[&[("csrf", csrf.as_str())], &wanted[..]].concat(),
        )
        .await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, format!("{page_path}?saved=1"))
    );
    let (_, edit) = store
        .connection(CONNECTION)
        .await
        .unwrap()
        .unwrap()
        .notifications
        .unwrap();
    assert_eq!(edit.by, "eva@bakkerij.nl");

    // The shop's mistakes: the export charged Dutch VAT is held, and the bookkeeper hears of it.
    shop_mistakes(&world.shop);
    world.settle().await.unwrap();
    world.engine.notifier().flush().await;
    let held = store
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    let mails = mail_server.mails();
    assert_eq!(mails.len(), 1, "one mail for the one held order");
    assert_eq!(mails[0].recipients(), ["boekhouder@bakkerij.nl"]);
    assert!(mails[0]
        .header("Subject")
        .unwrap()
        .contains(&format!("order {} is held", held[0].number)));

    // The API reads and refuses alike; merchant B reaches none of it.
    let token = api_token(&mut eva, "notifications").await;
    let api = format!("{}/api/v1{page_path}", world.server_url);
    let now: serde_json::Value = api_get(&api, &token).await;
    assert_eq!(now["from"], "panel");
    assert_eq!(now["email"], serde_json::json!(["boekhouder@bakkerij.nl"]));
    assert_eq!(now["events"], serde_json::json!(["held"]));
    assert_eq!(now["sends_mail"], true);
    let wrong = serde_json::json!({
        "email": [], "events": ["everything"], "report": "hourly", "report_hour": 24
    });
    let refused = reqwest::Client::new()
        .put(&api)
        .bearer_auth(&token)
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["error"]["problems"].as_array().unwrap().len(),
        3,
        "{body}"
    );
    let mut jan = Browser::new(&world.server_url);
    jan.sign_up("Fietsen BV", "jan@fietsen.be", "another long password")
        .await;
    let (status, _) = jan.get(&page_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let jan_token = api_token(&mut jan, "b").await;
    let answer = reqwest::Client::new()
        .put(&api)
        .bearer_auth(&jan_token)
        .json(&serde_json::json!({ "email": ["jan@fietsen.be"], "events": ["held"], "report": "off", "report_hour": 7 }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    // Back to the settings file's: nobody is mailed.
    let (status, _) = eva
        .post(&format!("{page_path}/reset"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        store
            .connection(CONNECTION)
            .await
            .unwrap()
            .unwrap()
            .notifications,
        None
    );
    assert!(world
        .engine
        .notifier()
        .recipients(CONNECTION)
        .email
        .is_empty());
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test]
async fn a_merchant_adds_a_shop_connects_exact_tries_it_and_goes_live() {
    let dir = tempfile::tempdir().unwrap();
    let ShopsWorld {
        world,
        shop,
        shop_url,
        key,
        _shop_running,
    } = ShopsWorld::start(dir.path()).await;
    let store = world.engine.store().clone();

    let mut jan = Browser::new(&world.server_url);
    jan.sign_up("Fietsen BV", "jan@fietsen.nl", "another long password")
        .await;
    let (status, page) = jan.get("/connections").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Add a shop"), "{page}");
    let csrf = hidden_csrf(&page);
    let secret = shop.config().consumer_secret.clone();
    let add = |consumer_secret: &str| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("name".into(), "Fietsen Jansen".into()),
            ("kind".into(), "woocommerce".into()),
            ("url".into(), shop_url.clone()),
            ("consumer_key".into(), shop.config().consumer_key.clone()),
            ("consumer_secret".into(), consumer_secret.to_string()),
        ]
    };
    // Keys the shop refuses are refused, and nothing is kept.
    let wrong = add("cs_wrong");
    let (status, page) = jan.post("/connections", &pairs(&wrong)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("The shop could not be read with these keys"),
        "{page}"
    );
    assert!(!page.contains("cs_wrong"), "a key is never shown again");
    assert!(store.panel_connections().await.unwrap().is_empty());

    let right = add(&secret);
    let (status, location) = jan.post("/connections", &pairs(&right)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = location
        .strip_prefix("/connections#fietsen-jansen-")
        .map(|_| &location["/connections#".len()..])
        .unwrap_or_else(|| panic!("a readable id with a random part: {location}"));
    assert_eq!(id.len(), "fietsen-jansen-".len() + 6);
    let kept = store.panel_connections().await.unwrap();
    assert_eq!(kept.len(), 1);
    let kept_text = kept[0].source_json.to_string();
    assert!(
        !kept_text.contains(&secret),
        "the secret is sealed: {kept_text}"
    );
    assert!(kept_text.contains("enc:v1:"), "{kept_text}");

    // Not live: it says what is missing, and where the webhooks will go.
    let (_, page) = jan.get("/connections").await;
    assert!(page.contains("Not live yet"), "{page}");
    assert!(page.contains("Connect Exact Online first."), "{page}");
    let hook = format!("{}/webhooks/woocommerce/{id}", world.server_url);
    assert!(page.contains(&hook), "{page}");
    let (status, page) = jan
        .post(&format!("/connections/{id}/live"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("Connect Exact Online first."), "{page}");

    // Connect Exact Online: the shop books into the division the user works in.
    let (status, exact_page) = jan
        .post(&format!("/connections/{id}/connect"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let consent = jan.http.get(&exact_page).send().await.unwrap();
    let redirect = consent.headers()[LOCATION].to_str().unwrap();
    let query = redirect.split_once('?').unwrap().1;
    let (status, _) = jan.get(&format!("/oauth/exact/callback?{query}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        store.panel_connections().await.unwrap()[0].division,
        Some(100001)
    );
    let (_, page) = jan.get(&format!("/connections/{id}/rules")).await;
    assert!(
        page.contains("<option value=\"OAT\">OAT — OSS Oostenrijk 20%</option>"),
        "the rules choose from the connected company's codes: {page}"
    );
    assert!(page.contains("This shop was added here"), "{page}");
    assert!(
        !page.contains("Go back to the settings file"),
        "there is no settings file to go back to: {page}"
    );

    // An order before going live: not taken in, but a test run shows it would be booked.
    let before = fietsen_order(&shop, "joris@example.nl");
    let today = chrono::Utc::now().date_naive();
    let (status, page) = jan
        .get(&format!(
            "/connections/{id}/dry-run?from={}&until={}",
            today - chrono::Duration::days(1),
            today + chrono::Duration::days(2)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("1 would be booked"), "{page}");
    assert!(store.documents(id, None).await.unwrap().is_empty());

    // Before going live, an unsigned delivery is refused like any other: whether a shop is
    // live is not told to whoever posts.
    let unsigned = reqwest::Client::new()
        .post(&hook)
        .header("x-wc-webhook-topic", "order.updated")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);

    // Going live subscribes the shop's webhooks and books from then on.
    let (status, _) = jan
        .post(&format!("/connections/{id}/live"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = jan.get("/connections").await;
    assert!(page.contains("Live since"), "{page}");
    let after = fietsen_order(&shop, "anna@example.nl");
    let deliveries = shop.deliver_pending_webhooks().await;
    assert!(
        deliveries
            .iter()
            .any(|d| d.topic == "order.created" && d.url == hook && d.status == Some(200)),
        "{deliveries:?}"
    );
    world.engine.sweep(id).await.unwrap();
    world.engine.run_until_idle(50).await.unwrap();
    let booked = store.documents(id, Some(DocState::Booked)).await.unwrap();
    let numbers: Vec<String> = booked.iter().map(|d| d.source_id.clone()).collect();
    assert!(numbers.contains(&after.to_string()), "{numbers:?}");
    assert!(
        numbers.contains(&before.to_string()),
        "the sweep reads what changed before going live: {numbers:?}"
    );
    assert_eq!(world.exact.sales_entries(100001).len(), 2);

    // Merchant A reaches none of it.
    let mut eva = Browser::new(&world.server_url);
    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    let (_, page) = eva.get("/connections").await;
    assert!(!page.contains(id), "{page}");
    let eva_csrf = hidden_csrf(&page);
    let (status, _) = eva
        .post(&format!("/connections/{id}/live"), &[("csrf", &eva_csrf)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = eva.get(&format!("/connections/{id}/rules")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `key rotate`: the shop's keys are sealed anew with the new current key.
    let new_key = ledgerlink_store::crypto::new_key_line(Some("k2")).unwrap();
    let rotated =
        ledgerlink_store::Keyring::parse(&format!("{}\n{}", *new_key, *key), "the test").unwrap();
    let reseal = ledgerlink_engine::added_shops::reseal_added_shops;
    assert_eq!(reseal(&*store, &rotated).await.unwrap(), 1);
    assert_eq!(
        reseal(&*store, &rotated).await.unwrap(),
        0,
        "already current"
    );
    let kept_text = store.panel_connections().await.unwrap()[0]
        .source_json
        .to_string();
    assert_eq!(kept_text.matches("enc:v1:k2:").count(), 3, "{kept_text}");
}

#[tokio::test]
async fn a_second_user_joins_the_account_by_a_link_that_works_once() {
    let dir = tempfile::tempdir().unwrap();
    let world = booked_world(dir.path()).await;
    let store = world.engine.store().clone();
    let mut eva = Browser::new(&world.server_url);
    eva.sign_up(
        "Bakkerij Jansen",
        "eva@bakkerij.nl",
        "correct horse battery",
    )
    .await;
    give_connection(&*store, CONNECTION, "eva@bakkerij.nl").await;
    let (status, page) = eva.get("/team").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<td>eva@bakkerij.nl</td>"), "{page}");
    let csrf = hidden_csrf(&page);
    let (status, _) = eva
        .post(
            "/team",
            &[("csrf", "forged"), ("email", "piet@bakkerij.nl")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = eva
        .post("/team", &[("csrf", &csrf), ("email", "eva@bakkerij.nl")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "already a user");
    let (status, page) = eva
        .post("/team", &[("csrf", &csrf), ("email", "Piet@Bakkerij.nl")])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let start = page.find("/join/").expect("the link is shown once");
    let link = page[start..][..page[start..].find('"').unwrap()].to_string();

    // Piet opens the link, chooses a password, and is in Eva's account.
    let mut piet = Browser::new(&world.server_url);
    let (status, page) = piet.get(&link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("eva@bakkerij.nl invited piet@bakkerij.nl"),
        "{page}"
    );
    let join_csrf = hidden_csrf(&page);
    let (status, _) = piet
        .post(&link, &[("csrf", &join_csrf), ("password", "short")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = piet.get(&link).await;
    let join_csrf = hidden_csrf(&page);
    let (status, location) = piet
        .post(
            &link,
            &[("csrf", &join_csrf), ("password", "a long enough password")],
        )
        .await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    let (_, page) = piet.get("/").await;
    assert!(page.contains("Bakkerij Jansen"), "{page}");
    assert!(
        page.contains(CONNECTION),
        "the account's connections: {page}"
    );
    let (_, page) = eva.get("/team").await;
    assert!(page.contains("<td>piet@bakkerij.nl</td>"), "{page}");

    // The link works once.
    let mut again = Browser::new(&world.server_url);
    let (status, _) = again.get(&link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = again.get("/join/made-up").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = piet
        .sign_in("piet@bakkerij.nl", "a long enough password")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // The same through the API.
    let token = api_token(&mut eva, "team").await;
    let users = api_get(format!("{}/api/v1/users", world.server_url), &token).await;
    assert_eq!(users.as_array().unwrap().len(), 2, "{users}");
    let invited = reqwest::Client::new()
        .post(format!("{}/api/v1/invitations", world.server_url))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "email": "kees@bakkerij.nl" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invited.status(), StatusCode::CREATED);
    let invited: serde_json::Value = invited.json().await.unwrap();
    let link = invited["link"].as_str().unwrap();
    assert!(link.starts_with("/join/"), "{invited}");
    let (status, page) = Browser::new(&world.server_url).get(link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("invited kees@bakkerij.nl"), "{page}");
}
