//! The store's story: one document's life through the ledger, on a real SQLite file.

use chrono::{Duration, TimeZone, Utc};
use ledgerlink_store::*;
use serde_json::json;

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("ledger.sqlite"))
        .await
        .unwrap();
    store
        .upsert_connection(&ConnectionRecord {
            id: "shop".into(),
            name: "Shop".into(),
            source_kind: "woocommerce".into(),
            target_kind: "exact".into(),
            settings_json: json!({}),
        })
        .await
        .unwrap();
    (dir, store)
}

fn order(modified_minute: u32) -> NewDocument {
    NewDocument {
        connection_id: "shop".into(),
        kind: "order".into(),
        source_id: "1001".into(),
        number: "1001".into(),
        source_modified_at: Utc
            .with_ymd_and_hms(2026, 11, 1, 10, modified_minute, 0)
            .unwrap(),
        document_json: json!({"status": "processing"}),
    }
}

#[tokio::test]
async fn a_document_lives_once_through_the_ledger() {
    let (_dir, store) = store().await;
    let now = Utc::now();

    let first = store.intake(order(0), now).await.unwrap();
    assert!(matches!(first, IntakeOutcome::New(_)));
    assert_eq!(
        store.intake(order(0), now).await.unwrap(),
        IntakeOutcome::Unchanged(first.document_id())
    );
    assert_eq!(
        store.intake(order(5), now).await.unwrap(),
        IntakeOutcome::Updated(first.document_id())
    );

    let claimed = store
        .claim_due("w1", now, now + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // Leased: a second worker gets nothing until the lease runs out.
    assert!(store
        .claim_due("w2", now, now + Duration::seconds(30), 10)
        .await
        .unwrap()
        .is_empty());
    let stale = claimed[0].lease();
    let taken_over = store
        .claim_due(
            "w2",
            now + Duration::seconds(31),
            now + Duration::seconds(60),
            10,
        )
        .await
        .unwrap();
    assert_eq!(taken_over.len(), 1);

    // The first worker's token is stale: its write is refused.
    let refused = store
        .transition(stale, DocState::Booked, Transition::default(), now)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::LeaseLost { .. }));

    let lease = taken_over[0].lease();
    let change = Transition {
        reference: Some("WC-1001".into()),
        plan_json: Some(json!({"total": "12.10"})),
        counts_as_attempt: true,
        ..Transition::default()
    };
    store
        .transition_keep_lease(lease, DocState::Posting, change, now)
        .await
        .unwrap();
    store
        .transition(
            lease,
            DocState::Booked,
            Transition {
                target_id: Some("E-1".into()),
                ..Transition::default()
            },
            now,
        )
        .await
        .unwrap();

    let row = store.document(lease.document_id).await.unwrap().unwrap();
    assert_eq!(row.state, DocState::Booked);
    assert_eq!(row.reference.as_deref(), Some("WC-1001"));
    assert_eq!(row.target_id.as_deref(), Some("E-1"));
    assert_eq!(row.attempts, 1);
    // A booked document is never reopened by a later change in the source.
    assert!(matches!(
        store.intake(order(30), now).await.unwrap(),
        IntakeOutcome::Unchanged(_)
    ));

    let states: Vec<DocState> = store
        .transitions(row.id)
        .await
        .unwrap()
        .iter()
        .map(|t| t.to_state)
        .collect();
    assert_eq!(
        states,
        [
            DocState::Received,
            DocState::Received,
            DocState::Posting,
            DocState::Booked
        ]
    );
    assert_eq!(
        store.state_counts("shop").await.unwrap(),
        vec![(DocState::Booked, 1)]
    );
    assert_eq!(store.open_count().await.unwrap(), 0);
}

#[tokio::test]
async fn held_documents_are_retried_on_request_only() {
    let (_dir, store) = store().await;
    let now = Utc::now();
    let id = store.intake(order(0), now).await.unwrap().document_id();
    let lease = store
        .claim_due("w", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()[0]
        .lease();
    let reason = Transition {
        reason: Some("unknown VAT code".into()),
        ..Transition::default()
    };
    store
        .transition(lease, DocState::Held, reason, now)
        .await
        .unwrap();
    assert!(store
        .claim_due("w", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()
        .is_empty());
    store.retry_held(id, now).await.unwrap();
    assert_eq!(
        store
            .claim_due("w", now, now + Duration::seconds(30), 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store.retry_held(id, now).await.is_err(),
        "only a held document can be retried"
    );
}

#[tokio::test]
async fn cursors_deliveries_cache_and_tokens_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let now = Utc::now();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .set_cursor("shop", "modified_after", "2026-11-01T10:00:00", now)
            .await
            .unwrap();
        assert!(store.record_delivery("shop", "d-1", now).await.unwrap());
        assert!(!store.record_delivery("shop", "d-1", now).await.unwrap());
        store
            .cache_put(
                "shop",
                "100001",
                "GLAccounts",
                "8000",
                &json!({"ID": "g"}),
                now,
            )
            .await
            .unwrap();
        let token = TokenRecord {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: now,
            issued_at: now,
        };
        store.save_token("shop", &token).await.unwrap();
        assert!(
            !format!("{token:?}").contains("\"r\""),
            "token Debug must redact"
        );
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        store
            .cursor("shop", "modified_after")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-11-01T10:00:00")
    );
    assert!(!store.record_delivery("shop", "d-1", now).await.unwrap());
    assert_eq!(
        store
            .cache_get("shop", "100001", "GLAccounts", "8000")
            .await
            .unwrap(),
        Some(json!({"ID": "g"}))
    );
    assert_eq!(
        store
            .cache_count("shop", "100001", "GLAccounts")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.token("shop").await.unwrap().unwrap().refresh_token,
        "r"
    );
}

#[tokio::test]
async fn a_change_while_a_worker_holds_the_document_wins_over_the_worker() {
    let (_dir, store) = store().await;
    let now = Utc::now();
    store.intake(order(0), now).await.unwrap();
    let stale = store
        .claim_due("w1", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()[0]
        .lease();

    // The order changes in the shop within the same second, while w1 works on the old copy.
    let mut paid = order(0);
    paid.document_json = json!({"status": "processing", "paid": true});
    assert!(matches!(
        store.intake(paid, now).await.unwrap(),
        IntakeOutcome::Updated(_)
    ));

    let refused = store
        .transition(stale, DocState::Waiting, Transition::default(), now)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::LeaseLost { .. }),
        "the stale decision is refused"
    );
    let fresh = store
        .claim_due("w2", now, now + Duration::seconds(30), 1)
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1, "the new version is due at once");
    assert_eq!(fresh[0].document_json["paid"], true);
}

#[tokio::test]
async fn a_planned_document_reopens_only_if_it_was_never_sent() {
    let (_dir, store) = store().await;
    let now = Utc::now();
    store.intake(order(0), now).await.unwrap();
    let lease = store
        .claim_due("w", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()[0]
        .lease();
    store
        .transition(lease, DocState::Planned, Transition::default(), now)
        .await
        .unwrap();
    assert!(matches!(
        store.intake(order(1), now).await.unwrap(),
        IntakeOutcome::Updated(_)
    ));

    let lease = store
        .claim_due("w", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()[0]
        .lease();
    let sent = Transition {
        counts_as_attempt: true,
        ..Transition::default()
    };
    store
        .transition(lease, DocState::Planned, sent, now)
        .await
        .unwrap();
    assert!(
        matches!(
            store.intake(order(2), now).await.unwrap(),
            IntakeOutcome::Unchanged(_)
        ),
        "a document that may have reached the target is not re-planned"
    );
}

#[tokio::test]
async fn posting_renews_the_lease_and_is_not_due_before_it_ends() {
    let (_dir, store) = store().await;
    let now = Utc::now();
    store.intake(order(0), now).await.unwrap();
    let lease = store
        .claim_due("w", now, now + Duration::seconds(1), 1)
        .await
        .unwrap()[0]
        .lease();
    let posting = Transition {
        lease_until: Some(now + Duration::seconds(120)),
        next_attempt_at: Some(now + Duration::seconds(125)),
        counts_as_attempt: true,
        ..Transition::default()
    };
    store
        .transition_keep_lease(lease, DocState::Posting, posting, now)
        .await
        .unwrap();
    let later = now + Duration::seconds(60);
    assert!(store
        .claim_due("w2", later, later + Duration::seconds(1), 1)
        .await
        .unwrap()
        .is_empty());
    let after = now + Duration::seconds(126);
    assert_eq!(
        store
            .claim_due("w2", after, after + Duration::seconds(1), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_skipped_order_paid_later_is_taken_in_again() {
    let (_dir, store) = store().await;
    let now = Utc::now();
    store.intake(order(0), now).await.unwrap();
    let lease = store
        .claim_due("w", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()[0]
        .lease();
    store
        .transition(lease, DocState::Skipped, Transition::default(), now)
        .await
        .unwrap();
    assert!(
        matches!(
            store.intake(order(9), now).await.unwrap(),
            IntakeOutcome::Updated(_)
        ),
        "nothing was sent for a skipped order, so a newer version (paid after all) re-opens it"
    );
}

fn numbered(number: &str) -> NewDocument {
    NewDocument {
        source_id: number.into(),
        number: number.into(),
        ..order(0)
    }
}

fn join(group: &str, closes_at: chrono::DateTime<Utc>) -> SummaryJoin {
    SummaryJoin {
        group_key: group.into(),
        group_json: json!({ "group": group }),
        reference_prefix: "WC-S20261101-".into(),
        closes_at,
    }
}

/// Takes a document in, claims it and pools it into `group`.
async fn pooled(
    store: &SqliteStore,
    number: &str,
    group: &str,
    closes_at: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> (i64, i64, String) {
    let document = store
        .intake(numbered(number), now)
        .await
        .unwrap()
        .document_id();
    let claimed = store
        .claim_due("w1", now, now + Duration::seconds(30), 100)
        .await
        .unwrap();
    let row = claimed.iter().find(|r| r.id == document).unwrap();
    let plan = json!({ "entry_date": "2026-11-01", "distance_sales": "10.00" });
    let (summary, reference) = store
        .pool(
            row.lease(),
            plan,
            &format!("WC-{number}"),
            join(group, closes_at),
            now,
        )
        .await
        .unwrap();
    (document, summary, reference)
}

#[tokio::test]
async fn a_summary_collects_its_group_until_it_moves_on_and_books_its_members_with_it() {
    let (_dir, store) = store().await;
    let now = Utc::now();
    let closes_at = now + Duration::hours(3);

    let (first, summary, reference) = pooled(&store, "1", "domestic", closes_at, now).await;
    let (second, same_summary, _) = pooled(&store, "2", "domestic", closes_at, now).await;
    let (_, other_summary, other_reference) = pooled(&store, "3", "oss/DE", closes_at, now).await;
    assert_eq!(summary, same_summary, "one group, one summary");
    assert_ne!(summary, other_summary, "another treatment, another summary");
    assert_eq!(reference, "WC-S20261101-1");
    assert_eq!(
        other_reference, "WC-S20261101-2",
        "numbered over the whole day"
    );

    let member = store.document(first).await.unwrap().unwrap();
    assert_eq!(member.state, DocState::Pooled);
    assert_eq!(member.summary_id, Some(summary));
    assert_eq!(member.reference.as_deref(), Some("WC-1"));
    assert_eq!(
        store
            .summary_members(summary)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        [first, second]
    );
    // Pooled members count towards the OSS threshold; the summaries do not count twice.
    assert_eq!(
        store
            .distance_sales("shop", 2026, 0)
            .await
            .unwrap()
            .to_string(),
        "30.00"
    );
    // A pooled document is committed: a change in the shop no longer re-opens it.
    let mut changed = numbered("1");
    changed.source_modified_at += Duration::hours(1);
    assert!(matches!(
        store.intake(changed, now).await.unwrap(),
        IntakeOutcome::Unchanged(_)
    ));

    // The summary is due when its day closes, not before.
    let due_now = store
        .claim_due("w1", now, now + Duration::seconds(30), 100)
        .await
        .unwrap();
    assert!(due_now.iter().all(|r| r.kind != "summary"));
    let later = closes_at + Duration::seconds(1);
    let due = store
        .claim_due("w1", later, later + Duration::seconds(30), 100)
        .await
        .unwrap();
    let summary_row = due.iter().find(|r| r.id == summary).unwrap();
    assert_eq!(summary_row.state, DocState::Collecting);
    store
        .transition_keep_lease(
            summary_row.lease(),
            DocState::Planned,
            Transition::default(),
            later,
        )
        .await
        .unwrap();

    // A late document of the same group opens the next summary of the day.
    let (late, late_summary, late_reference) =
        pooled(&store, "4", "domestic", closes_at, later).await;
    assert_ne!(late_summary, summary);
    assert_eq!(late_reference, "WC-S20261101-3");

    store
        .transition(
            summary_row.lease(),
            DocState::Booked,
            Transition {
                target_id: Some("entry-1".into()),
                reason: Some("booked as entry 7".into()),
                ..Transition::default()
            },
            later,
        )
        .await
        .unwrap();
    for id in [first, second] {
        let member = store.document(id).await.unwrap().unwrap();
        assert_eq!(member.state, DocState::Booked);
        assert_eq!(member.target_id.as_deref(), Some("entry-1"));
        let history = store.transitions(id).await.unwrap();
        assert_eq!(history.last().unwrap().from_state, Some(DocState::Pooled));
    }
    assert_eq!(
        store.document(late).await.unwrap().unwrap().state,
        DocState::Pooled,
        "the late document waits for its own summary"
    );
}
