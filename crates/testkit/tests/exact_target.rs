//! Exact Online passes the target compliance suite, against its emulator.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_store::{SqliteStore, Store, TokenRecord};
use ledgerlink_targets::exact::{ExactApp, ExactSettings, ExactTarget};
use ledgerlink_targets::Target;
use ledgerlink_testkit::target_suite::{self, TargetHarness};

const DIVISION: i32 = 100001;

struct ExactHarness {
    sandbox: ExactSandbox,
    store: Arc<dyn Store>,
    target: Target,
    _running: ledgerlink_sandbox::Running,
}

async fn harness() -> ExactHarness {
    let (running, sandbox) = ExactSandbox::start(ExactConfig::default(), 0)
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let app = ExactApp {
        client_id: sandbox.config().client_id.clone(),
        client_secret: sandbox.config().client_secret.clone().into(),
        redirect_uri: sandbox.config().redirect_uri.clone(),
    };
    let settings = ExactSettings {
        base_url: running.base_url(),
        division: DIVISION,
    };
    let exact = ExactTarget::new(
        app,
        settings,
        store.clone(),
        "compliance",
        Duration::from_secs(5),
    )
    .unwrap();
    exact
        .connect_with_code(&sandbox.issue_authorization_code())
        .await
        .unwrap();
    ExactHarness {
        sandbox,
        store,
        target: Target::Exact(Box::new(exact)),
        _running: running,
    }
}

#[async_trait]
impl TargetHarness for ExactHarness {
    fn target(&self) -> Target {
        self.target.clone()
    }
    fn revenue_account(&self) -> &str {
        "8000"
    }
    fn vat_21(&self) -> &str {
        "1"
    }
    fn journal(&self) -> &str {
        "70"
    }
    async fn lose_next_post_response(&self) {
        self.sandbox.faults().arm(ArmedFault {
            on: FaultMatch {
                method: Some("POST".into()),
                path_contains: Some("salesentry/SalesEntries".into()),
            },
            fault: Fault::LoseResponse,
            times: 1,
        });
    }
    async fn expire_authentication(&self) {
        // Ten minutes pass on both clocks: the access token is dead, a refresh is allowed.
        self.sandbox.advance_clock(Duration::from_secs(601));
        let token = self.store.token("compliance").await.unwrap().unwrap();
        let aged = TokenRecord {
            expires_at: Utc::now() - chrono::Duration::seconds(1),
            issued_at: Utc::now() - chrono::Duration::seconds(601),
            ..token
        };
        self.store.save_token("compliance", &aged).await.unwrap();
    }
    async fn bookings_with_reference(&self, reference: &str) -> usize {
        self.sandbox
            .sales_entries(DIVISION)
            .iter()
            .filter(|e| e.your_ref.as_deref() == Some(reference))
            .count()
    }
}

#[tokio::test]
async fn books_once_and_finds_it_by_reference() {
    target_suite::books_once_and_finds_it_by_reference(&harness().await, "CT-1").await;
}

#[tokio::test]
async fn an_uncertain_write_is_resolved_by_looking_it_up() {
    target_suite::an_uncertain_write_is_resolved_by_looking_it_up(&harness().await, "CT-2").await;
}

#[tokio::test]
async fn a_rejection_says_what_is_wrong() {
    target_suite::a_rejection_says_what_is_wrong(&harness().await, "CT-3").await;
}

#[tokio::test]
async fn expired_authentication_is_renewed() {
    target_suite::expired_authentication_is_renewed(&harness().await, "CT-4").await;
}

#[tokio::test]
async fn a_credit_note_is_booked() {
    target_suite::a_credit_note_is_booked(&harness().await, "CT-5").await;
}
