//! Connecting Exact Online through ledgerlink's own OAuth routes, against the emulator.

use std::time::Duration;

use ledgerlink::demo::{DemoWorld, CONNECTION};
use ledgerlink_engine::EngineOptions;

fn location(response: &reqwest::Response) -> url::Url {
    let location = response.headers()["location"].to_str().unwrap();
    url::Url::parse(location).unwrap()
}

#[tokio::test]
async fn the_authorization_code_flow_stores_tokens_and_each_state_works_once() {
    let dir = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(
        &dir.path().join("ledger.sqlite"),
        EngineOptions {
            settle_delay: Duration::ZERO,
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let before = world
        .engine
        .store()
        .token(CONNECTION)
        .await
        .unwrap()
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // ledgerlink sends the person to Exact with an unguessable state ...
    let unkeyed = http
        .get(format!(
            "{}/oauth/exact/{CONNECTION}/start?key=guess",
            world.server_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unkeyed.status(),
        403,
        "only the operator may replace the connection's tokens"
    );
    let start = http
        .get(format!(
            "{}/oauth/exact/{CONNECTION}/start?key={}",
            world.server_url, world.connect_key
        ))
        .send()
        .await
        .unwrap();
    assert!(start.status().is_redirection());
    let authorize = location(&start);
    assert_eq!(authorize.path(), "/api/oauth2/auth");
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    assert_eq!(state.len(), 36);

    // ... Exact sends them back with a code (the emulator approves at once) ...
    let approved = http.get(authorize.as_str()).send().await.unwrap();
    let back = location(&approved);
    let callback_query = back.query().unwrap().to_string();
    assert!(callback_query.contains(&format!("state={state}")));

    // ... and ledgerlink exchanges it and stores the new tokens — only in the browser that
    // started the flow (its cookie), so a link someone else started binds nothing.
    let cookie = start.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-ledgerlink-oauth="), "{cookie}");
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let callback = format!("{}/oauth/exact/callback?{callback_query}", world.server_url);
    let elsewhere = http.get(&callback).send().await.unwrap();
    assert_eq!(elsewhere.status(), 400, "not the browser that started it");
    let restarted = http
        .get(format!(
            "{}/oauth/exact/{CONNECTION}/start?key={}",
            world.server_url, world.connect_key
        ))
        .send()
        .await
        .unwrap();
    let cookie = restarted.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let browser = cookie.split(';').next().unwrap().to_string();
    let approved = http
        .get(location(&restarted).as_str())
        .send()
        .await
        .unwrap();
    let callback = format!(
        "{}/oauth/exact/callback?{}",
        world.server_url,
        location(&approved).query().unwrap()
    );
    let done = http
        .get(&callback)
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done
        .text()
        .await
        .unwrap()
        .contains("Exact Online is connected"));
    let after = world
        .engine
        .store()
        .token(CONNECTION)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(after.refresh_token, before.refresh_token);

    let replayed = http
        .get(&callback)
        .header("cookie", &browser)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 400, "a state is used once");
    let forged = http
        .get(format!(
            "{}/oauth/exact/callback?code=abc&state=not-ours",
            world.server_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
}
