//! Exact Online tokens: refreshed when expired, rotated and committed, one refresh at a time,
//! never sooner than 570 s after the last; a pair whose answer was lost is replaced.

use std::time::Duration;

use chrono::Utc;
use ledgerlink::demo::{DemoWorld, CONNECTION};
use ledgerlink_core::{EntryKind, ErrorKind};
use ledgerlink_engine::EngineOptions;
use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_sandbox::woocommerce::{AddressSpec, CustomerSpec, LineSpec, OrderSpec};
use ledgerlink_store::{DocState, LedgerRow, TokenRecord, Transition};
use rust_decimal_macros::dec;

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

fn fast() -> EngineOptions {
    EngineOptions {
        lease: Duration::from_secs(30),
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
        batch: 50,
    }
}

fn order_for(email: &str) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Anna".into(),
            last_name: "Jansen".into(),
            email: email.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Oudegracht 12".into(),
            city: "Utrecht".into(),
            postcode: "3511 AB".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Koffiebonen 1 kg".into(),
            sku: "KOF-1000".into(),
            quantity: 1,
            unit_price: dec!(12.50),
            tax_rate: dec!(9),
            tax_class: "reduced-rate".into(),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

/// Ten minutes pass for the tokens, at Exact and in the ledger: the next call must refresh.
async fn expire_tokens(world: &DemoWorld) -> TokenRecord {
    world.exact.age_tokens(Duration::from_secs(601));
    let store = world.engine.store();
    let aged = TokenRecord {
        expires_at: Utc::now() - chrono::Duration::seconds(1),
        issued_at: Utc::now() - chrono::Duration::seconds(601),
        ..store.token(CONNECTION).await.unwrap().unwrap()
    };
    store.save_token(CONNECTION, &aged).await.unwrap();
    aged
}

async fn open_rows(world: &DemoWorld) -> Vec<LedgerRow> {
    let rows = world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap();
    rows.into_iter()
        .filter(|row| row.state != DocState::Booked)
        .collect()
}

/// Works the new order until Exact has answered `token_calls` more token requests.
async fn work_until_token_calls(world: &DemoWorld, token_calls: usize) {
    let before = token_requests(world);
    world.shop.deliver_pending_webhooks().await;
    for _ in 0..200 {
        world.engine.run_until_idle(10).await.unwrap();
        if token_requests(world) - before >= token_calls {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {token_calls} token requests within 5 s");
}

/// Exact refused the retry for coming within 570 s of the pair it minted: the document waits
/// that long, not for a person to reconnect.
async fn assert_waiting_for_exacts_interval(world: &DemoWorld) {
    let open = open_rows(world).await;
    assert_eq!(open.len(), 1, "{open:#?}");
    let reason = open[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("9.5 minutes"), "{reason}");
    assert!(!reason.contains("Reconnect"), "{reason}");
    let in_a_minute = Utc::now() + chrono::Duration::minutes(1);
    let due_soon = world
        .engine
        .store()
        .claim_due("test-clock", in_a_minute, in_a_minute, 10)
        .await
        .unwrap();
    assert!(due_soon.is_empty(), "not due within a minute");
}

/// The 570 s pass for the tokens; the ledger's clock is brought along by making the waiting
/// documents due now. Then every document books, each once, with the refresh token held.
async fn pass_the_interval_and_book(world: &DemoWorld, held: &TokenRecord) {
    world.exact.age_tokens(Duration::from_secs(571));
    let store = world.engine.store();
    let later = Utc::now() + chrono::Duration::minutes(10);
    let waiting = store
        .claim_due(
            "test-clock",
            later,
            later + chrono::Duration::seconds(30),
            10,
        )
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    for row in waiting {
        let due_now = Transition {
            next_attempt_at: Some(Utc::now()),
            ..Transition::default()
        };
        store
            .transition(row.lease(), row.state, due_now, Utc::now())
            .await
            .unwrap();
    }
    world.settle().await.unwrap();

    let entries = world.exact.sales_entries(100001);
    let mut references: Vec<String> = entries
        .iter()
        .map(|e| e.your_ref.clone().unwrap_or_default())
        .collect();
    references.sort();
    references.dedup();
    assert_eq!(entries.len(), 2, "two orders, two entries");
    assert_eq!(references.len(), 2, "each booked once: {references:?}");
    assert!(open_rows(world).await.is_empty());
    let rotated = store.token(CONNECTION).await.unwrap().unwrap();
    assert_ne!(rotated.refresh_token, held.refresh_token);

    // The new pair is in use: the refresh token redeemed twice is dead now.
    let reuse = reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", world.exact_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", held.refresh_token.as_str()),
            ("client_id", world.exact.config().client_id.as_str()),
            ("client_secret", world.exact.config().client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let refused: serde_json::Value = reuse.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_grant");
}

#[tokio::test]
async fn a_lost_token_answer_is_waited_out_and_books_without_reconnecting() {
    let dir = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(&dir.path().join("ledger.sqlite"), fast())
        .await
        .unwrap();
    world.shop.create_order(order_for("before@example.nl"));
    world.settle().await.unwrap();
    let held = expire_tokens(&world).await;

    // Exact mints the new pair; its answer breaks off.
    world.exact.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("/api/oauth2/token".into()),
        },
        fault: Fault::LoseResponse,
        times: 1,
    });
    world.shop.create_order(order_for("after@example.nl"));
    work_until_token_calls(&world, 2).await;
    assert_eq!(world.exact.faults().injected().len(), 1);
    let stored = world.engine.store().token(CONNECTION).await.unwrap();
    assert_eq!(
        stored.map(|token| token.refresh_token),
        Some(held.refresh_token.clone()),
        "the ledger keeps the refresh token it has"
    );
    assert_waiting_for_exacts_interval(&world).await;

    pass_the_interval_and_book(&world, &held).await;
}

#[tokio::test]
async fn a_process_killed_before_storing_the_new_pair_costs_no_consent() {
    let dir = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(&dir.path().join("ledger.sqlite"), fast())
        .await
        .unwrap();
    world.shop.create_order(order_for("before@example.nl"));
    world.settle().await.unwrap();
    let held = expire_tokens(&world).await;

    // What the dying process did: redeem the refresh token, never store the answer.
    let minted = reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", world.exact_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", held.refresh_token.as_str()),
            ("client_id", world.exact.config().client_id.as_str()),
            ("client_secret", world.exact.config().client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(minted.status().is_success());

    world.shop.create_order(order_for("after@example.nl"));
    work_until_token_calls(&world, 1).await;
    assert_waiting_for_exacts_interval(&world).await;

    pass_the_interval_and_book(&world, &held).await;
}
