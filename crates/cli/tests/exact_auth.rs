//! Exact Online tokens: refreshed when expired, rotated and committed, one refresh at a time,
//! never sooner than 570 s after the last.

use std::time::Duration;

use chrono::Utc;
use ledgerlink::demo::{DemoWorld, CONNECTION};
use ledgerlink_core::{EntryKind, ErrorKind};
use ledgerlink_engine::EngineOptions;
use ledgerlink_store::TokenRecord;

async fn world(dir: &std::path::Path) -> DemoWorld {
    DemoWorld::start(&dir.join("ledger.sqlite"), EngineOptions::default())
        .await
        .unwrap()
}

fn token_requests(world: &DemoWorld) -> usize {
    world.exact.recorder().count("POST", "/api/oauth2/token")
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_many_callers_and_rotated() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    let store = world.engine.store().clone();
    let issued = store.token(CONNECTION).await.unwrap().unwrap();
    // Ten minutes pass, on both clocks.
    world.exact.advance_clock(Duration::from_secs(601));
    let aged = TokenRecord {
        expires_at: Utc::now() - chrono::Duration::seconds(1),
        issued_at: Utc::now() - chrono::Duration::seconds(601),
        ..issued.clone()
    };
    store.save_token(CONNECTION, &aged).await.unwrap();
    let before = token_requests(&world);

    let connection = world.engine.connection(CONNECTION).unwrap();
    let target = connection
        .target
        .exact()
        .expect("an Exact Online connection");
    let lookups = (0..5).map(|i| {
        let target = target.clone();
        async move {
            target
                .find(&format!("WC-NONE-{i}"), EntryKind::SalesEntry)
                .await
        }
    });
    for result in futures::future::join_all(lookups).await {
        assert_eq!(result.unwrap(), None);
    }
    assert_eq!(
        token_requests(&world) - before,
        1,
        "one refresh for five callers"
    );
    let rotated = store.token(CONNECTION).await.unwrap().unwrap();
    assert_ne!(
        rotated.refresh_token, issued.refresh_token,
        "the new refresh token is committed"
    );
    assert_ne!(rotated.access_token, issued.access_token);

    // The old refresh token is dead at Exact: only the committed one can continue.
    let reuse = reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", world.exact_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", issued.refresh_token.as_str()),
            ("client_id", world.exact.config().client_id.as_str()),
            ("client_secret", world.exact.config().client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status(), 400);
}

#[tokio::test]
async fn processes_sharing_a_ledger_refresh_once_and_share_one_rate_budget() {
    use ledgerlink_targets::exact::{ExactApp, ExactSettings, ExactTarget};
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    let store = world.engine.store().clone();
    let issued = store.token(CONNECTION).await.unwrap().unwrap();
    world.exact.advance_clock(Duration::from_secs(601));
    let aged = TokenRecord {
        expires_at: Utc::now() - chrono::Duration::seconds(1),
        issued_at: Utc::now() - chrono::Duration::seconds(601),
        ..issued
    };
    store.save_token(CONNECTION, &aged).await.unwrap();
    let before = token_requests(&world);

    // Four "processes": clients of their own (no lock in common but the ledger's).
    let config = world.exact.config();
    let process = || {
        ExactTarget::new(
            ExactApp {
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone().into(),
                redirect_uri: config.redirect_uri.clone(),
            },
            ExactSettings {
                base_url: world.exact_url.clone(),
                division: 100001,
            },
            store.clone(),
            CONNECTION,
            Duration::from_secs(10),
        )
        .unwrap()
    };
    let processes: Vec<ExactTarget> = (0..4).map(|_| process()).collect();
    let lookups = processes.iter().enumerate().map(|(i, target)| async move {
        target
            .find(&format!("WC-NONE-{i}"), EntryKind::SalesEntry)
            .await
    });
    for result in futures::future::join_all(lookups).await {
        assert_eq!(result.unwrap(), None, "every process got a working token");
    }
    assert_eq!(
        token_requests(&world) - before,
        1,
        "one refresh for four processes"
    );

    // The company's budget is the ledger's: when one process learns the day's calls are used
    // up, no process calls Exact until the reset.
    let day_end = chrono::SubsecRound::trunc_subsecs(Utc::now() + chrono::Duration::hours(3), 3);
    store
        .set_budget(
            &format!("exact:{}:100001", config.client_id),
            &[ledgerlink_store::BudgetWindow {
                name: "daily".into(),
                remaining: 0,
                resets_at: day_end,
            }],
        )
        .await
        .unwrap();
    let calls_before = world.exact.recorder().total();
    for target in &processes {
        let error = target
            .find("WC-NONE-9", EntryKind::SalesEntry)
            .await
            .unwrap_err();
        assert!(
            matches!(error.kind, ErrorKind::RateLimited { until } if until == day_end),
            "{error:?}"
        );
    }
    assert_eq!(
        world.exact.recorder().total(),
        calls_before,
        "no call was made"
    );
}

#[tokio::test]
async fn a_token_younger_than_570_seconds_is_never_refreshed() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    // Exact's clock runs ahead: it thinks our fresh token expired.
    world.exact.advance_clock(Duration::from_secs(700));
    let before = token_requests(&world);
    let connection = world.engine.connection(CONNECTION).unwrap();
    let target = connection
        .target
        .exact()
        .expect("an Exact Online connection");
    let error = target
        .find("WC-1", EntryKind::SalesEntry)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Auth);
    assert!(
        error.message_for_user.contains("Reconnect Exact Online"),
        "{}",
        error.message_for_user
    );
    assert_eq!(
        token_requests(&world),
        before,
        "no refresh within 570 s of the last"
    );
}
