//! What every source must do, seen through the engine's intake: every changed order read,
//! across pages, once; a later change read again; documents that add up; refunds as credit
//! notes pointing at their order; a refused key reported so a person knows what to fix.

use async_trait::async_trait;
use ledgerlink_core::{Document, DocumentKind};
use ledgerlink_engine::Engine;
use ledgerlink_store::DocState;

/// The connection id the harness's engine uses.
pub const CONNECTION: &str = "suite";

/// How the suite drives one source's emulator.
#[async_trait]
pub trait SourceHarness: Send + Sync {
    /// An engine with one connection, [`CONNECTION`], reading this source.
    fn engine(&self) -> &Engine;
    /// An engine whose connection has a key the shop refuses.
    async fn engine_with_a_refused_key(&self) -> Engine;
    /// Creates a paid order of `lines` lines (a bookable one) and returns its id in the source.
    async fn create_paid_order(&self, lines: u32) -> String;
    /// Changes the order in the shop (e.g. its status), as a merchant would.
    async fn change_order(&self, id: &str);
    /// Refunds part of the order, in the way the shop records refunds.
    async fn refund_part_of(&self, id: &str);
}

async fn documents(
    harness: &dyn SourceHarness,
    kind: DocumentKind,
) -> Vec<(ledgerlink_store::LedgerRow, Document)> {
    let rows = harness
        .engine()
        .store()
        .documents(CONNECTION, None)
        .await
        .expect("the ledger answers");
    rows.into_iter()
        .filter(|r| r.kind == kind.as_str())
        .map(|r| {
            let document = serde_json::from_value(r.document_json.clone())
                .unwrap_or_else(|e| panic!("{} {} is mapped: {e}", r.kind, r.number));
            (r, document)
        })
        .collect()
}

/// More orders than a page holds are all read, and a second pass takes in nothing new.
pub async fn reads_every_changed_order_once(harness: &dyn SourceHarness) {
    for n in 0..130 {
        harness.create_paid_order(1 + n % 3).await;
    }
    let read = harness
        .engine()
        .sweep(CONNECTION)
        .await
        .expect("the sweep reads");
    assert_eq!(read, 130);
    assert_eq!(documents(harness, DocumentKind::Order).await.len(), 130);
    harness
        .engine()
        .sweep(CONNECTION)
        .await
        .expect("a second sweep reads");
    let orders = documents(harness, DocumentKind::Order).await;
    assert_eq!(orders.len(), 130, "no order twice");
    for (row, _) in &orders {
        let transitions = harness
            .engine()
            .store()
            .transitions(row.id)
            .await
            .expect("the ledger answers");
        assert_eq!(
            transitions.len(),
            1,
            "{} was not re-opened by an unchanged read",
            row.number
        );
    }
}

/// A change after the cursor is read again and re-opens the document.
pub async fn a_later_change_is_read_again(harness: &dyn SourceHarness) {
    let id = harness.create_paid_order(2).await;
    harness
        .engine()
        .sweep(CONNECTION)
        .await
        .expect("the sweep reads");
    harness.change_order(&id).await;
    harness
        .engine()
        .sweep(CONNECTION)
        .await
        .expect("the sweep reads");
    let row = harness
        .engine()
        .store()
        .document_by_source(CONNECTION, "order", &id)
        .await
        .expect("the ledger answers")
        .expect("the order is in the ledger");
    assert_eq!(row.state, DocState::Received);
    let transitions = harness
        .engine()
        .store()
        .transitions(row.id)
        .await
        .expect("the ledger answers");
    assert_eq!(
        transitions.last().and_then(|t| t.reason.as_deref()),
        Some("changed in the source")
    );
}

/// Every mapped order's lines add up to the total the shop charged, to the cent.
pub async fn documents_add_up_to_the_cent(harness: &dyn SourceHarness) {
    for lines in [1, 2, 5, 20] {
        harness.create_paid_order(lines).await;
    }
    harness
        .engine()
        .sweep(CONNECTION)
        .await
        .expect("the sweep reads");
    let orders = documents(harness, DocumentKind::Order).await;
    assert_eq!(orders.len(), 4);
    for (row, document) in orders {
        assert_eq!(
            document.lines_total(),
            document.total,
            "order {} adds up",
            row.number
        );
        assert!(!document.total.is_negative() && !document.total.is_zero());
    }
}

/// A refund becomes a credit-note document with negative amounts, pointing at its order.
pub async fn a_refund_becomes_a_credit_note(harness: &dyn SourceHarness) {
    let id = harness.create_paid_order(3).await;
    harness
        .engine()
        .sweep(CONNECTION)
        .await
        .expect("the sweep reads");
    harness.refund_part_of(&id).await;
    harness
        .engine()
        .sweep(CONNECTION)
        .await
        .expect("the sweep reads");
    let refunds = documents(harness, DocumentKind::Refund).await;
    assert_eq!(refunds.len(), 1, "one refund");
    let (_, refund) = &refunds[0];
    assert!(
        refund.total.is_negative(),
        "a refund's total is negative: {}",
        refund.total
    );
    assert_eq!(refund.lines_total(), refund.total);
    assert_eq!(
        refund.refund_of.as_ref().map(|r| r.source_ref.id.as_str()),
        Some(id.as_str())
    );
}

/// A key the shop refuses stops the sweep with a message that says what to check.
pub async fn a_refused_key_says_what_to_check(harness: &dyn SourceHarness) {
    let engine = harness.engine_with_a_refused_key().await;
    let error = engine
        .sweep(CONNECTION)
        .await
        .expect_err("the shop refuses the key");
    let message = format!("{error:#}").to_lowercase();
    assert!(
        message.contains("key"),
        "the message names the key: {message}"
    );
}

/// An engine with one connection, [`CONNECTION`], reading `source` into an in-memory ledger.
/// Its target is never called by the suite.
pub async fn engine_reading(source: ledgerlink_engine::config::SourceConfig) -> Engine {
    use ledgerlink_engine::config::{ConnectionConfig, TargetConfig};
    let store: std::sync::Arc<dyn ledgerlink_store::Store> = std::sync::Arc::new(
        ledgerlink_store::SqliteStore::in_memory()
            .await
            .expect("an in-memory ledger"),
    );
    let config = ConnectionConfig {
        id: CONNECTION.into(),
        name: "source suite".into(),
        source,
        target: TargetConfig::Exact {
            base_url: "http://127.0.0.1:9".into(),
            division: 1,
            client_id: "unused".into(),
            client_secret: "unused".to_string().into(),
            redirect_uri: "http://127.0.0.1/unused".into(),
        },
        booking: ledgerlink_rules::BookingSettings::default(),
        notifications: None,
        owner: None,
    };
    let connection = config
        .build(store.clone(), std::time::Duration::from_secs(5))
        .await
        .expect("the connection builds");
    Engine::new(
        store,
        vec![connection],
        ledgerlink_engine::EngineOptions::default(),
    )
}
