//! Tryton passes the target compliance suite, against a real Tryton server.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ledgerlink_store::{SqliteStore, Store};
use ledgerlink_targets::tryton::{TrytonSettings, TrytonTarget};
use ledgerlink_targets::Target;
use ledgerlink_testkit::target_suite::{self, TargetHarness};
use ledgerlink_testkit::tryton::{self, LossyProxy, TrytonBooks};

const CONNECTION: &str = "tryton-suite";

struct TrytonHarness {
    store: Arc<dyn Store>,
    target: Target,
    books: TrytonBooks,
    proxy: LossyProxy,
}

/// References no other test or earlier run has used: the database is shared.
fn reference(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("SUITE-{tag}-{:x}", nanos % 0xffff_ffff_ffff)
}

async fn harness() -> TrytonHarness {
    let url = tryton::server().await;
    // The connector talks through a proxy that can lose the answer to a post.
    let proxy = LossyProxy::start(
        url.trim_start_matches("http://").to_string(),
        "model.account.invoice.post",
    )
    .await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let settings = TrytonSettings {
        url: proxy.url.clone(),
        database: tryton::DATABASE.into(),
        username: tryton::USER.into(),
        password: tryton::PASSWORD.to_string().into(),
    };
    let target =
        TrytonTarget::new(settings, store.clone(), CONNECTION, Duration::from_secs(30)).unwrap();
    TrytonHarness {
        store,
        target: Target::Tryton(Box::new(target)),
        books: TrytonBooks::open(&url).await,
        proxy,
    }
}

#[async_trait]
impl TargetHarness for TrytonHarness {
    fn target(&self) -> Target {
        self.target.clone()
    }
    fn revenue_account(&self) -> &str {
        "8000"
    }
    fn vat_21(&self) -> &str {
        "VAT 21%"
    }
    fn journal(&self) -> &str {
        "REV"
    }
    async fn lose_next_post_response(&self) {
        self.proxy.arm();
    }
    async fn expire_authentication(&self) {
        // The session the connector keeps in the store goes stale, as after a server restart.
        if let Some(mut session) = self.store.token(CONNECTION).await.unwrap() {
            session.access_token = "expired-session".into();
            self.store.save_token(CONNECTION, &session).await.unwrap();
        }
    }
    async fn bookings_with_reference(&self, reference: &str) -> usize {
        self.books
            .invoices(reference)
            .await
            .iter()
            .filter(|i| i["state"] == "posted")
            .count()
    }
}

#[tokio::test]
async fn books_once_and_finds_it_by_reference() {
    target_suite::books_once_and_finds_it_by_reference(&harness().await, &reference("ONCE")).await;
}

#[tokio::test]
async fn an_uncertain_write_is_resolved_by_looking_it_up() {
    target_suite::an_uncertain_write_is_resolved_by_looking_it_up(
        &harness().await,
        &reference("LOST"),
    )
    .await;
}

#[tokio::test]
async fn a_rejection_says_what_is_wrong() {
    target_suite::a_rejection_says_what_is_wrong(&harness().await, &reference("BAD")).await;
}

#[tokio::test]
async fn expired_authentication_is_renewed() {
    target_suite::expired_authentication_is_renewed(&harness().await, &reference("AUTH")).await;
}

#[tokio::test]
async fn a_credit_note_is_booked() {
    target_suite::a_credit_note_is_booked(&harness().await, &reference("CN")).await;
}
