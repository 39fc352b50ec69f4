//! The store's story: one document's life through the ledger, told on every backend. SQLite
//! always (a real file); PostgreSQL too when `LEDGERLINK_TEST_POSTGRES` names a database, e.g.
//! `postgres://postgres@127.0.0.1:5432/test`, each story in a schema of its own so that stories
//! run in parallel and every run starts empty.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use ledgerlink_store::crypto::new_key_line;
use ledgerlink_store::*;
use ledgerlink_testkit::postgres::Schema;
use serde_json::json;

/// Generates `sqlite::<story>` and `postgres::<story>` for each story.
macro_rules! on_every_backend {
    ($($story:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story(&super::Database::sqlite()).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    if let Some(database) = super::Database::postgres().await {
                        super::$story(&database).await;
                    }
                }
            )+
        }
    };
}

on_every_backend!(
    a_document_lives_once_through_the_ledger,
    held_documents_are_retried_on_request_only,
    cursors_deliveries_cache_and_tokens_persist_across_reopen,
    a_change_while_a_worker_holds_the_document_wins_over_the_worker,
    a_planned_document_reopens_only_if_it_was_never_sent,
    posting_renews_the_lease_and_is_not_due_before_it_ends,
    a_skipped_order_paid_later_is_taken_in_again,
    a_summary_collects_its_group_until_it_moves_on_and_books_its_members_with_it,
    distance_sales_count_sales_sent_to_the_target_in_the_year,
    the_audit_log_cache_and_deliveries_keep_what_they_are_given,
    a_lock_is_held_by_one_holder_until_released_or_run_out,
    the_rate_budget_is_shared_and_the_smaller_count_wins,
    a_paused_connections_documents_are_passed_over,
    a_period_reports_what_was_booked_in_it_and_the_calls_it_used,
    credentials_are_sealed_for_their_connection_and_survive_a_key_rotation,
    accounts_own_their_users_sessions_tokens_and_connections,
    the_transfer_log_lists_the_newest_first_by_state_and_search,
    settings_changed_in_the_panel_outlast_the_settings_file_until_reset,
    an_invitation_makes_one_user_of_the_account_once,
);

/// A fresh, empty database of one backend, and the key its credentials are sealed with.
struct Database {
    backend: Backend,
    keyring: Keyring,
}

enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(Schema),
}

impl Database {
    fn sqlite() -> Self {
        Database {
            backend: Backend::Sqlite(tempfile::tempdir().unwrap()),
            keyring: Keyring::ephemeral(),
        }
    }

    /// `None`, with a note, when no PostgreSQL is configured.
    async fn postgres() -> Option<Self> {
        Schema::from_env().await.map(|schema| Database {
            backend: Backend::Postgres(schema),
            keyring: Keyring::ephemeral(),
        })
    }

    /// Opens the store; opened again, it finds what was stored before.
    async fn open(&self) -> Arc<dyn Store> {
        self.open_with(Some(&self.keyring)).await
    }

    /// Opens the store with another keyring, or none.
    async fn open_with(&self, keyring: Option<&Keyring>) -> Arc<dyn Store> {
        match &self.backend {
            Backend::Sqlite(dir) => {
                let store = SqliteStore::open(&dir.path().join("ledger.sqlite"))
                    .await
                    .unwrap();
                Arc::new(match keyring {
                    Some(keyring) => store.with_keyring(keyring.clone()),
                    None => store,
                })
            }
            Backend::Postgres(schema) => {
                let store = PostgresStore::connect(&schema.url).await.unwrap();
                Arc::new(match keyring {
                    Some(keyring) => store.with_keyring(keyring.clone()),
                    None => store,
                })
            }
        }
    }

    /// Runs SQL on the database itself, as anyone with access to it could.
    async fn execute(&self, sql: &str) {
        match &self.backend {
            Backend::Sqlite(dir) => {
                use sqlx::Connection;
                let mut connection = sqlx::SqliteConnection::connect_with(
                    &sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(dir.path().join("ledger.sqlite")),
                )
                .await
                .unwrap();
                sqlx::query(sql).execute(&mut connection).await.unwrap();
            }
            Backend::Postgres(schema) => {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&schema.url).await.unwrap();
                sqlx::query(sql).execute(&mut connection).await.unwrap();
            }
        }
    }

    /// The credential columns as stored, `connection: access | refresh`, one row a line.
    async fn stored_tokens(&self) -> String {
        let sql = "SELECT connection_id || ': ' || access_token || ' | ' || refresh_token \
                   FROM oauth_tokens ORDER BY connection_id";
        let rows: Vec<String> = match &self.backend {
            Backend::Sqlite(dir) => {
                use sqlx::Connection;
                let mut connection = sqlx::SqliteConnection::connect_with(
                    &sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(dir.path().join("ledger.sqlite")),
                )
                .await
                .unwrap();
                sqlx::query_scalar(sql)
                    .fetch_all(&mut connection)
                    .await
                    .unwrap()
            }
            Backend::Postgres(schema) => {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(&schema.url).await.unwrap();
                sqlx::query_scalar(sql)
                    .fetch_all(&mut connection)
                    .await
                    .unwrap()
            }
        };
        rows.join("\n")
    }
}

/// The store on `database`, with the connection `shop`.
async fn shop(database: &Database) -> Arc<dyn Store> {
    let store = database.open().await;
    store
        .upsert_connection(&ConnectionRecord {
            id: "shop".into(),
            name: "Shop".into(),
            source_kind: "woocommerce".into(),
            target_kind: "exact".into(),
            settings_json: json!({}),
            ..ConnectionRecord::default()
        })
        .await
        .unwrap();
    store
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

async fn a_document_lives_once_through_the_ledger(database: &Database) {
    let store = shop(database).await;
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

async fn held_documents_are_retried_on_request_only(database: &Database) {
    let store = shop(database).await;
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

    // Held again (once the retry's lease ran out), then skipped by a person: not due, the
    // reason kept, skipped only once.
    let now = now + Duration::seconds(31);
    let lease = store
        .claim_due("w", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()[0]
        .lease();
    store
        .transition(lease, DocState::Held, Transition::default(), now)
        .await
        .unwrap();
    let skipped = "Skipped by eva@bakkerij.nl: not to be booked.";
    store.skip_held(id, skipped, now).await.unwrap();
    let row = store.document(id).await.unwrap().unwrap();
    assert_eq!(
        (row.state, row.reason.as_deref()),
        (DocState::Skipped, Some(skipped))
    );
    let last = store.transitions(id).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.from_state, last.to_state),
        (Some(DocState::Held), DocState::Skipped)
    );
    assert!(store
        .claim_due("w", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()
        .is_empty());
    assert!(
        store.skip_held(id, skipped, now).await.is_err(),
        "only a held one"
    );
}

async fn cursors_deliveries_cache_and_tokens_persist_across_reopen(database: &Database) {
    let now = Utc::now();
    {
        let store = database.open().await;
        store
            .set_cursor("shop", "modified_after", "2026-11-01T10:00:00", now)
            .await
            .unwrap();
        assert!(store
            .enqueue_delivery("shop", Some("d-1"), "order.updated", "{}", now)
            .await
            .unwrap());
        assert!(!store
            .enqueue_delivery("shop", Some("d-1"), "order.updated", "{}", now)
            .await
            .unwrap());
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
    let store = database.open().await;
    assert_eq!(
        store
            .cursor("shop", "modified_after")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-11-01T10:00:00")
    );
    assert!(!store
        .enqueue_delivery("shop", Some("d-1"), "order.updated", "{}", now)
        .await
        .unwrap());
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

async fn a_change_while_a_worker_holds_the_document_wins_over_the_worker(database: &Database) {
    let store = shop(database).await;
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

async fn a_planned_document_reopens_only_if_it_was_never_sent(database: &Database) {
    let store = shop(database).await;
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

async fn posting_renews_the_lease_and_is_not_due_before_it_ends(database: &Database) {
    let store = shop(database).await;
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

async fn a_skipped_order_paid_later_is_taken_in_again(database: &Database) {
    let store = shop(database).await;
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

async fn a_paused_connections_documents_are_passed_over(database: &Database) {
    let store = shop(database).await;
    store
        .upsert_connection(&ConnectionRecord {
            id: "other".into(),
            name: "Other".into(),
            source_kind: "woocommerce".into(),
            target_kind: "exact".into(),
            settings_json: json!({}),
            ..ConnectionRecord::default()
        })
        .await
        .unwrap();
    let now = Utc::now();
    for number in ["1", "2"] {
        store.intake(numbered(number), now).await.unwrap();
    }
    let other = NewDocument {
        connection_id: "other".into(),
        ..numbered("3")
    };
    store.intake(other, now).await.unwrap();
    let until = now + Duration::minutes(5);
    let paused = ["shop".to_string()];
    let claimed = store
        .claim_due_except("w1", now, until, 10, &paused)
        .await
        .unwrap();
    let numbers: Vec<&str> = claimed.iter().map(|r| r.number.as_str()).collect();
    assert_eq!(numbers, ["3"], "only the other connection's document");
    // Once the pause is over, the shop's documents are claimed as before, oldest first.
    let claimed = store.claim_due("w2", now, until, 10).await.unwrap();
    let numbers: Vec<&str> = claimed.iter().map(|r| r.number.as_str()).collect();
    assert_eq!(numbers, ["1", "2"]);
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
    store: &dyn Store,
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

async fn a_summary_collects_its_group_until_it_moves_on_and_books_its_members_with_it(
    database: &Database,
) {
    let store = shop(database).await;
    let now = Utc::now();
    let closes_at = now + Duration::hours(3);

    let (first, summary, reference) = pooled(&*store, "1", "domestic", closes_at, now).await;
    let (second, same_summary, _) = pooled(&*store, "2", "domestic", closes_at, now).await;
    let (_, other_summary, other_reference) = pooled(&*store, "3", "oss/DE", closes_at, now).await;
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
        pooled(&*store, "4", "domestic", closes_at, later).await;
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

/// Takes a document in and moves it to `state` with a plan dated `entry_date`.
async fn sent(
    store: &dyn Store,
    kind: &str,
    number: &str,
    state: DocState,
    entry_date: &str,
    distance_sales: &str,
) -> i64 {
    let now = Utc::now();
    let document = NewDocument {
        kind: kind.into(),
        ..numbered(number)
    };
    let id = store.intake(document, now).await.unwrap().document_id();
    let claimed = store
        .claim_due("w", now, now + Duration::seconds(30), 100)
        .await
        .unwrap();
    let row = claimed.iter().find(|r| r.id == id).unwrap();
    let change = Transition {
        plan_json: Some(json!({ "entry_date": entry_date, "distance_sales": distance_sales })),
        reference: Some(format!("WC-{number}")),
        ..Transition::default()
    };
    store
        .transition(row.lease(), state, change, now)
        .await
        .unwrap();
    id
}

async fn distance_sales_count_sales_sent_to_the_target_in_the_year(database: &Database) {
    let store = shop(database).await;
    let posting = sent(
        &*store,
        "order",
        "1",
        DocState::Posting,
        "2026-03-01",
        "100.00",
    )
    .await;
    let booked = sent(
        &*store,
        "order",
        "2",
        DocState::Booked,
        "2026-12-31",
        "50.50",
    )
    .await;
    sent(
        &*store,
        "order",
        "3",
        DocState::Uncertain,
        "2026-06-01",
        "0.25",
    )
    .await;
    sent(
        &*store,
        "order",
        "4",
        DocState::Booked,
        "2025-12-31",
        "70.00",
    )
    .await;
    sent(
        &*store,
        "refund",
        "5",
        DocState::Booked,
        "2026-03-02",
        "30.00",
    )
    .await;
    sent(
        &*store,
        "order",
        "6",
        DocState::Planned,
        "2026-03-03",
        "20.00",
    )
    .await;
    sent(
        &*store,
        "order",
        "7",
        DocState::Booked,
        "2026-03-04",
        "0.00",
    )
    .await;

    let sales = |year, except| {
        let store = store.clone();
        async move {
            store
                .distance_sales("shop", year, except)
                .await
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(sales(2026, 0).await, "150.75", "sent sales of 2026 only");
    assert_eq!(
        sales(2026, posting).await,
        "50.75",
        "but the one being decided"
    );
    assert_eq!(sales(2025, 0).await, "70.00");
    assert_eq!(sales(2024, 0).await, "0.00");
    assert_eq!(
        store.distance_sales("elsewhere", 2026, 0).await.unwrap(),
        ledgerlink_core::Money::ZERO
    );

    // The ledger's other views of the same documents.
    assert_eq!(
        store
            .documents("shop", Some(DocState::Booked))
            .await
            .unwrap()
            .iter()
            .map(|r| r.number.as_str())
            .collect::<Vec<_>>(),
        ["2", "4", "5", "7"]
    );
    assert_eq!(store.documents("shop", None).await.unwrap().len(), 7);
    assert_eq!(
        store.state_counts("shop").await.unwrap(),
        vec![
            (DocState::Booked, 4),
            (DocState::Planned, 1),
            (DocState::Posting, 1),
            (DocState::Uncertain, 1),
        ]
    );
    assert_eq!(store.open_count().await.unwrap(), 3);
    let refund = store
        .document_by_source("shop", "refund", "5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refund.kind, "refund");
    assert_eq!(refund.plan_json.unwrap()["distance_sales"], "30.00");
    assert!(store
        .document_by_source("shop", "order", "5")
        .await
        .unwrap()
        .is_none());
    let row = store.document(booked).await.unwrap().unwrap();
    assert_eq!(row.reference.as_deref(), Some("WC-2"));
    assert!(row.created_at <= row.updated_at);
    assert_eq!(
        store.connection("shop").await.unwrap().unwrap().target_kind,
        "exact"
    );
    assert!(store.connection("elsewhere").await.unwrap().is_none());
}

async fn the_audit_log_cache_and_deliveries_keep_what_they_are_given(database: &Database) {
    let store = shop(database).await;
    let now = Utc::now();
    for (minute, status) in [(1, Some(200)), (2, None), (3, Some(503))] {
        store
            .audit(AuditEntry {
                connection_id: "shop".into(),
                system: "exact".into(),
                method: "POST".into(),
                url: format!("https://start.exactonline.nl/{minute}"),
                request_body: Some("{}".into()),
                status,
                response_body: None,
                error: status.is_none().then(|| "timed out".into()),
                duration_ms: 1500,
                at: now + Duration::minutes(minute),
            })
            .await
            .unwrap();
    }
    let entries = store.audit_entries("shop", 2).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.status).collect::<Vec<_>>(),
        [Some(503), None],
        "newest first, no more than asked"
    );
    assert_eq!(entries[1].error.as_deref(), Some("timed out"));
    assert_eq!(entries[1].duration_ms, 1500);
    assert_eq!(
        entries[0].at.timestamp_micros(),
        (now + Duration::minutes(3)).timestamp_micros()
    );
    assert!(store.audit_entries("other", 10).await.unwrap().is_empty());

    // A document's calls: those that mention its reference, in the address or a body, oldest
    // first; `_` and `%` in a reference are taken literally.
    for (minute, url, body) in [
        (
            4,
            "https://e/SalesEntries?$filter=YourRef eq 'WC_1001'",
            "{}",
        ),
        (5, "https://e/SalesEntries", "{\"YourRef\":\"WC_1001\"}"),
        (6, "https://e/SalesEntries", "{\"YourRef\":\"WCX1001\"}"),
    ] {
        store
            .audit(AuditEntry {
                connection_id: "shop".into(),
                system: "exact".into(),
                method: "GET".into(),
                url: url.into(),
                request_body: Some(body.into()),
                status: Some(200),
                response_body: None,
                error: None,
                duration_ms: 10,
                at: now + Duration::minutes(minute),
            })
            .await
            .unwrap();
    }
    let mentioning = store
        .audit_entries_mentioning("shop", "WC_1001", 10)
        .await
        .unwrap();
    assert_eq!(
        mentioning
            .iter()
            .map(|e| e.at.timestamp())
            .collect::<Vec<_>>(),
        [4, 5].map(|m| (now + Duration::minutes(m)).timestamp()),
        "{mentioning:?}"
    );
    assert_eq!(
        store
            .audit_entries_mentioning("shop", "WC_1001", 1)
            .await
            .unwrap()[0]
            .at
            .timestamp(),
        (now + Duration::minutes(5)).timestamp(),
        "the newest, when fewer are asked"
    );

    // A newer read of the same master data replaces the old one.
    for value in [json!({"ID": "old"}), json!({"ID": "new", "Code": 8000})] {
        store
            .cache_put("shop", "1", "GLAccounts", "8000", &value, now)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .cache_get("shop", "1", "GLAccounts", "8000")
            .await
            .unwrap(),
        Some(json!({"ID": "new", "Code": 8000}))
    );
    assert_eq!(
        store.cache_count("shop", "1", "GLAccounts").await.unwrap(),
        1
    );
    assert_eq!(
        store
            .cache_get("shop", "2", "GLAccounts", "8000")
            .await
            .unwrap(),
        None
    );

    // A kept delivery is worked on under a lease, tried again after a failure, and let go
    // once it is in the ledger; its duplicate is still recognised afterwards.
    assert!(store
        .enqueue_delivery("shop", Some("d-7"), "order.created", "{\"id\": 7}", now)
        .await
        .unwrap());
    let lease = now + Duration::seconds(30);
    let claimed = store.claim_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].payload, "{\"id\": 7}");
    assert_eq!(claimed[0].topic, "order.created");
    assert!(
        store
            .claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let retry_at = now + Duration::seconds(5);
    store
        .delivery_failed(claimed[0].id, "the shop did not answer", retry_at)
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let again = store.claim_deliveries(retry_at, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    store.delivery_done(again[0].id).await.unwrap();
    let later = lease + Duration::seconds(1);
    assert!(
        store
            .claim_deliveries(later, later, 10)
            .await
            .unwrap()
            .is_empty(),
        "let go"
    );
    assert!(!store
        .enqueue_delivery("shop", Some("d-7"), "order.created", "{\"id\": 7}", later)
        .await
        .unwrap());

    let rotated = TokenRecord {
        access_token: "a2".into(),
        refresh_token: "r2".into(),
        expires_at: now + Duration::minutes(10),
        issued_at: now,
    };
    for token in [
        TokenRecord {
            access_token: "a1".into(),
            refresh_token: "r1".into(),
            ..rotated.clone()
        },
        rotated.clone(),
    ] {
        store.save_token("shop", &token).await.unwrap();
    }
    let stored = store.token("shop").await.unwrap().unwrap();
    assert_eq!(stored.refresh_token, "r2");
    assert_eq!(
        stored.expires_at.timestamp_micros(),
        rotated.expires_at.timestamp_micros()
    );
    assert!(store
        .cursor("shop", "modified_after")
        .await
        .unwrap()
        .is_none());
}

/// Takes a document in and books it at `at` with a plan of `total` in `currency`.
async fn booked_at(
    store: &dyn Store,
    kind: &str,
    number: &str,
    currency: &str,
    total: &str,
    at: chrono::DateTime<Utc>,
) -> i64 {
    let document = NewDocument {
        kind: kind.into(),
        ..numbered(number)
    };
    let id = store.intake(document, at).await.unwrap().document_id();
    let claimed = store
        .claim_due("w", at, at + Duration::seconds(30), 100)
        .await
        .unwrap();
    let lease = claimed.iter().find(|r| r.id == id).unwrap().lease();
    let change = Transition {
        plan_json: Some(json!({ "currency": currency, "total": total })),
        target_id: Some(format!("E-{number}")),
        ..Transition::default()
    };
    store
        .transition(lease, DocState::Booked, change, at)
        .await
        .unwrap();
    id
}

async fn a_period_reports_what_was_booked_in_it_and_the_calls_it_used(database: &Database) {
    let store = shop(database).await;
    let from = Utc.with_ymd_and_hms(2026, 11, 23, 7, 0, 0).unwrap();
    let to = from + Duration::days(1);
    // Pooled and booked with its summary: the member counts, the summary entry does not.
    let closes_at = from + Duration::hours(4);
    let member = store
        .intake(numbered("7"), from)
        .await
        .unwrap()
        .document_id();
    let lease = store
        .claim_due("w", from, from + Duration::seconds(30), 100)
        .await
        .unwrap()[0]
        .lease();
    let plan = json!({ "currency": "EUR", "total": "10.00" });
    let (summary, _) = store
        .pool(
            lease,
            plan.clone(),
            "WC-7",
            join("domestic", closes_at),
            from,
        )
        .await
        .unwrap();
    let claimed = store
        .claim_due("w", closes_at, closes_at + Duration::seconds(30), 100)
        .await
        .unwrap();
    assert_eq!(claimed[0].id, summary);
    let change = Transition {
        plan_json: Some(plan),
        ..Transition::default()
    };
    store
        .transition(claimed[0].lease(), DocState::Booked, change, closes_at)
        .await
        .unwrap();
    assert_eq!(
        store.document(member).await.unwrap().unwrap().state,
        DocState::Booked
    );
    booked_at(&*store, "order", "1", "EUR", "121.00", from).await;
    booked_at(
        &*store,
        "order",
        "2",
        "EUR",
        "24.95",
        to - Duration::seconds(1),
    )
    .await;
    booked_at(
        &*store,
        "refund",
        "3",
        "EUR",
        "-20.00",
        from + Duration::hours(2),
    )
    .await;
    booked_at(
        &*store,
        "order",
        "4",
        "USD",
        "10.00",
        from + Duration::hours(3),
    )
    .await;
    // Outside the period, on either side.
    booked_at(
        &*store,
        "order",
        "5",
        "EUR",
        "99.00",
        from - Duration::seconds(1),
    )
    .await;
    booked_at(&*store, "order", "6", "EUR", "99.00", to).await;

    let totals = store.booked_totals("shop", from, to).await.unwrap();
    let seen: Vec<(&str, &str, i64, String)> = totals
        .iter()
        .map(|t| {
            (
                t.kind.as_str(),
                t.currency.as_str(),
                t.documents,
                t.total.to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("order", "EUR", 3, "155.95".to_string()),
            ("order", "USD", 1, "10.00".to_string()),
            ("refund", "EUR", 1, "-20.00".to_string()),
        ]
    );
    let before_noon = store
        .booked_totals("shop", from, from + Duration::hours(3))
        .await
        .unwrap();
    assert_eq!(
        before_noon
            .iter()
            .map(|t| (t.kind.as_str(), t.documents))
            .collect::<Vec<_>>(),
        [("order", 1), ("refund", 1)]
    );
    assert!(store
        .booked_totals("elsewhere", from, to)
        .await
        .unwrap()
        .is_empty());

    for (system, minutes) in [("exact", [0, 10, 1439]), ("woocommerce", [5, 6, 7])] {
        for minute in minutes {
            store
                .audit(AuditEntry {
                    connection_id: "shop".into(),
                    system: system.into(),
                    method: "GET".into(),
                    url: "https://example.nl/".into(),
                    request_body: None,
                    status: Some(200),
                    response_body: None,
                    error: None,
                    duration_ms: 1,
                    at: from + Duration::minutes(minute),
                })
                .await
                .unwrap();
        }
    }
    assert_eq!(
        store.audit_count("shop", "exact", from, to).await.unwrap(),
        3
    );
    assert_eq!(
        store
            .audit_count(
                "shop",
                "exact",
                from + Duration::minutes(1),
                to - Duration::minutes(1)
            )
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .audit_count("shop", "woocommerce", from, to)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store.audit_count("other", "exact", from, to).await.unwrap(),
        0
    );
}

/// What many worker processes on one PostgreSQL database do at the same moment. (SQLite has one
/// writer at a time; these races cannot happen there.)
mod postgres_concurrency {
    use super::*;

    /// Runs `story` on a fresh PostgreSQL database, if one is configured.
    async fn on_postgres<F, Fut>(story: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        if let Some(database) = Database::postgres().await {
            story(shop(&database).await).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_claims_never_share_a_document() {
        on_postgres(|store| async move {
            let now = Utc::now();
            for number in 1..=50 {
                store
                    .intake(numbered(&number.to_string()), now)
                    .await
                    .unwrap();
            }
            let claimers = (0..8).map(|worker| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut claimed = Vec::new();
                    loop {
                        let batch = store
                            .claim_due(&format!("w{worker}"), now, now + Duration::minutes(5), 3)
                            .await
                            .unwrap();
                        assert!(batch.len() <= 3, "never more than the limit");
                        if batch.is_empty() {
                            return claimed;
                        }
                        claimed.extend(batch);
                        tokio::task::yield_now().await;
                    }
                })
            });
            let mut claimed: Vec<LedgerRow> = Vec::new();
            for claimer in claimers.collect::<Vec<_>>() {
                claimed.extend(claimer.await.unwrap());
            }
            let ids: BTreeSet<i64> = claimed.iter().map(|r| r.id).collect();
            assert_eq!(claimed.len(), 50, "every document claimed exactly once");
            assert_eq!(ids.len(), 50);
            assert!(
                claimed.iter().all(|r| r.fencing_token == 1),
                "no document was claimed twice"
            );
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn documents_of_one_group_pooled_at_once_share_one_summary() {
        on_postgres(|store| async move {
            let now = Utc::now();
            let closes_at = now + Duration::hours(3);
            // Twenty documents of one group, and ten groups of one document each, all of the
            // same day: the groups share the day's summary numbers.
            let mut groups = BTreeMap::new();
            for number in 1..=30 {
                let group = if number <= 20 {
                    "domestic".to_string()
                } else {
                    format!("oss/{number}")
                };
                let id = store
                    .intake(numbered(&number.to_string()), now)
                    .await
                    .unwrap()
                    .document_id();
                groups.insert(id, group);
            }
            let claimed = store
                .claim_due("w", now, now + Duration::minutes(5), 100)
                .await
                .unwrap();
            assert_eq!(claimed.len(), 30);
            let poolers = claimed.iter().map(|row| {
                let (store, lease) = (store.clone(), row.lease());
                let group = groups[&row.id].clone();
                tokio::spawn(async move {
                    let plan = json!({ "entry_date": "2026-11-01", "distance_sales": "0" });
                    let joined = store
                        .pool(lease, plan, "WC-x", join(&group, closes_at), now)
                        .await
                        .unwrap();
                    (lease.document_id, joined)
                })
            });
            let mut joined = BTreeMap::new();
            for pooler in poolers.collect::<Vec<_>>() {
                let (document, summary) = pooler.await.unwrap();
                joined.insert(document, summary);
            }

            let domestic: BTreeSet<&(i64, String)> = joined
                .iter()
                .filter(|(id, _)| groups[*id] == "domestic")
                .map(|(_, summary)| summary)
                .collect();
            assert_eq!(domestic.len(), 1, "one group, one summary: {domestic:?}");
            let (domestic_summary, _) = domestic.into_iter().next().unwrap();
            assert_eq!(
                store
                    .summary_members(*domestic_summary)
                    .await
                    .unwrap()
                    .len(),
                20
            );
            let summaries = store
                .documents("shop", Some(DocState::Collecting))
                .await
                .unwrap();
            assert_eq!(summaries.len(), 11);
            let references: BTreeSet<String> = summaries
                .iter()
                .map(|s| s.reference.clone().unwrap())
                .collect();
            let expected: BTreeSet<String> =
                (1..=11).map(|n| format!("WC-S20261101-{n}")).collect();
            assert_eq!(references, expected, "every number handed out once");
            assert_eq!(
                store
                    .documents("shop", Some(DocState::Pooled))
                    .await
                    .unwrap()
                    .len(),
                30
            );
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_document_joins_a_summary_after_it_moved_on() {
        on_postgres(|store| async move {
            let now = Utc::now();
            for number in 1..=20 {
                store
                    .intake(numbered(&number.to_string()), now)
                    .await
                    .unwrap();
            }
            // The members are leased for long; the summaries they open are due at once.
            let claimed = store
                .claim_due("w", now, now + Duration::minutes(5), 100)
                .await
                .unwrap();
            let mover = {
                let store = store.clone();
                tokio::spawn(async move {
                    loop {
                        let due = store
                            .claim_due("mover", now, now + Duration::minutes(5), 1)
                            .await
                            .unwrap();
                        let Some(summary) = due.first() else {
                            tokio::task::yield_now().await;
                            continue;
                        };
                        assert_eq!(summary.state, DocState::Collecting);
                        store
                            .transition_keep_lease(
                                summary.lease(),
                                DocState::Planned,
                                Transition::default(),
                                now,
                            )
                            .await
                            .unwrap();
                        let members = store.summary_members(summary.id).await.unwrap();
                        return (summary.id, members.iter().map(|m| m.id).collect::<Vec<_>>());
                    }
                })
            };
            let poolers = claimed.iter().map(|row| {
                let (store, lease) = (store.clone(), row.lease());
                tokio::spawn(async move {
                    let plan = json!({ "entry_date": "2026-11-01", "distance_sales": "0" });
                    store
                        .pool(lease, plan, "WC-x", join("domestic", now), now)
                        .await
                        .unwrap()
                })
            });
            for pooler in poolers.collect::<Vec<_>>() {
                pooler.await.unwrap();
            }
            let (moved_on, members_when_planned) = mover.await.unwrap();

            assert_eq!(
                store
                    .summary_members(moved_on)
                    .await
                    .unwrap()
                    .iter()
                    .map(|m| m.id)
                    .collect::<Vec<_>>(),
                members_when_planned,
                "the plan covers every member the summary will ever have"
            );
            let pooled = store
                .documents("shop", Some(DocState::Pooled))
                .await
                .unwrap();
            assert_eq!(pooled.len(), 20);
            let late: BTreeSet<i64> = pooled
                .iter()
                .filter(|m| m.summary_id != Some(moved_on))
                .filter_map(|m| m.summary_id)
                .collect();
            assert!(late.len() <= 1, "late documents share the next summary");
            for summary in late {
                let row = store.document(summary).await.unwrap().unwrap();
                assert_eq!(row.state, DocState::Collecting);
            }
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_webhooks_for_one_document_at_once_take_it_in_once() {
        on_postgres(|store| async move {
            let now = Utc::now();
            let intakes = (0..10).map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.intake(order(0), now).await.unwrap() })
            });
            let mut outcomes = Vec::new();
            for intake in intakes.collect::<Vec<_>>() {
                outcomes.push(intake.await.unwrap());
            }
            let new = outcomes
                .iter()
                .filter(|o| matches!(o, IntakeOutcome::New(_)))
                .count();
            assert_eq!(new, 1, "{outcomes:?}");
            let id = outcomes[0].document_id();
            assert!(outcomes.iter().all(|o| o.document_id() == id));
            assert_eq!(store.documents("shop", None).await.unwrap().len(), 1);
            assert_eq!(store.transitions(id).await.unwrap().len(), 1);
        })
        .await;
    }
}

async fn a_lock_is_held_by_one_holder_until_released_or_run_out(database: &Database) {
    let store = shop(database).await;
    let now = Utc::now();
    let until = now + Duration::seconds(30);
    assert!(store.try_lock("oauth:shop", "a", until, now).await.unwrap());
    assert!(!store.try_lock("oauth:shop", "b", until, now).await.unwrap());
    assert!(
        store.try_lock("oauth:shop", "a", until, now).await.unwrap(),
        "renewed by its holder"
    );
    assert!(
        store
            .try_lock("oauth:other", "b", until, now)
            .await
            .unwrap(),
        "locks are by name"
    );
    // Released by someone else: nothing happens.
    store.unlock("oauth:shop", "b").await.unwrap();
    assert!(!store.try_lock("oauth:shop", "b", until, now).await.unwrap());
    store.unlock("oauth:shop", "a").await.unwrap();
    assert!(store.try_lock("oauth:shop", "b", until, now).await.unwrap());
    // A holder that died: its lock runs out.
    let later = until + Duration::seconds(1);
    assert!(store
        .try_lock("oauth:shop", "c", later + Duration::seconds(30), later)
        .await
        .unwrap());
}

async fn the_rate_budget_is_shared_and_the_smaller_count_wins(database: &Database) {
    use chrono::SubsecRound;
    let store = shop(database).await;
    // Targets report resets in milliseconds; the store keeps microseconds.
    let now = Utc::now().trunc_subsecs(3);
    assert_eq!(
        store.take_call("exact:1", now).await.unwrap(),
        None,
        "unknown: go"
    );
    let minute = now + Duration::seconds(40);
    let day = now + Duration::hours(5);
    let windows = |minutely: i64, daily: i64| {
        vec![
            BudgetWindow {
                name: "minutely".into(),
                remaining: minutely,
                resets_at: minute,
            },
            BudgetWindow {
                name: "daily".into(),
                remaining: daily,
                resets_at: day,
            },
        ]
    };
    store.set_budget("exact:1", &windows(2, 100)).await.unwrap();
    assert_eq!(store.take_call("exact:1", now).await.unwrap(), None);
    assert_eq!(store.take_call("exact:1", now).await.unwrap(), None);
    assert_eq!(
        store.take_call("exact:1", now).await.unwrap(),
        Some(minute),
        "the minute's calls are used up"
    );
    // An answer counted before our calls does not give them back.
    store.set_budget("exact:1", &windows(1, 99)).await.unwrap();
    assert_eq!(store.take_call("exact:1", now).await.unwrap(), Some(minute));
    // Another budget is its own.
    assert_eq!(store.take_call("exact:2", now).await.unwrap(), None);
    // After the reset the window no longer holds calls back.
    let next_minute = minute + Duration::seconds(1);
    assert_eq!(store.take_call("exact:1", next_minute).await.unwrap(), None);
    // The day runs out: wait for the day.
    store.set_budget("exact:1", &windows(50, 0)).await.unwrap();
    assert_eq!(store.take_call("exact:1", now).await.unwrap(), Some(day));
}

/// A keyring of these key lines, current first.
fn keyring_of(lines: &[&str]) -> Keyring {
    Keyring::parse(&lines.join(","), "test").unwrap()
}

async fn credentials_are_sealed_for_their_connection_and_survive_a_key_rotation(
    database: &Database,
) {
    let [a, b] = ["a", "b"].map(|id| new_key_line(Some(id)).unwrap().to_string());
    let now = Utc::now();
    let token = |n: &str| TokenRecord {
        access_token: format!("ACCESS-{n}"),
        refresh_token: format!("REFRESH-{n}"),
        expires_at: now + Duration::minutes(10),
        issued_at: now,
    };
    let with_a = database.open_with(Some(&keyring_of(&[&a]))).await;
    with_a.save_token("shop", &token("shop")).await.unwrap();
    with_a.save_token("other", &token("other")).await.unwrap();
    let stored = database.stored_tokens().await;
    assert!(
        !stored.contains("ACCESS") && !stored.contains("REFRESH"),
        "{stored}"
    );
    assert_eq!(stored.matches("v1:a:").count(), 4, "{stored}");
    let read = with_a.token("shop").await.unwrap().unwrap();
    assert_eq!(
        (read.access_token, read.refresh_token),
        ("ACCESS-shop".to_string(), "REFRESH-shop".to_string())
    );

    // Another tenant's sealed token, copied into this tenant's row, does not open; nor does
    // the access token copied into the refresh token's place.
    database
        .execute(
            "UPDATE oauth_tokens SET access_token = (SELECT access_token FROM oauth_tokens \
             WHERE connection_id = 'shop') WHERE connection_id = 'other'",
        )
        .await;
    let error = with_a.token("other").await.unwrap_err();
    assert!(error.is_credential(), "{error}");
    assert_eq!(
        error.to_string(),
        "the stored credentials of connection `other` cannot be decrypted \
         (oauth_tokens.access_token does not decrypt with key `a`: it was sealed for another \
         connection or field, or altered): authorise the connection again"
    );
    database
        .execute(
            "UPDATE oauth_tokens SET refresh_token = access_token WHERE connection_id = 'shop'",
        )
        .await;
    let error = with_a.token("shop").await.unwrap_err().to_string();
    assert!(
        error.contains("oauth_tokens.refresh_token does not decrypt"),
        "{error}"
    );
    for connection in ["shop", "other"] {
        with_a
            .save_token(connection, &token(connection))
            .await
            .unwrap();
    }

    // Without a key, nothing is read or written, but which keys are needed is known.
    let keyless = database.open_with(None).await;
    assert!(matches!(
        keyless.save_token("shop", &token("shop")).await,
        Err(StoreError::NoKey)
    ));
    assert!(matches!(
        keyless.token("shop").await,
        Err(StoreError::NoKey)
    ));
    let needed = keyless.credential_keys().await.unwrap();
    assert_eq!(
        needed.sealed_with,
        BTreeMap::from([(
            "a".to_string(),
            vec!["other".to_string(), "shop".to_string()]
        )])
    );

    // A row an older ledgerlink stored in plaintext is refused until it is sealed.
    let issued = match database.backend {
        Backend::Sqlite(_) => format!("'{}'", now.to_rfc3339()),
        Backend::Postgres(_) => "now()".to_string(),
    };
    database
        .execute(&format!(
            "INSERT INTO oauth_tokens (connection_id, access_token, refresh_token, expires_at, issued_at) \
             VALUES ('legacy', 'ACCESS-legacy', 'REFRESH-legacy', {issued}, {issued})"
        ))
        .await;
    let error = with_a.token("legacy").await.unwrap_err().to_string();
    assert!(
        error.contains("`legacy` are not encrypted") && error.contains("ledgerlink key rotate"),
        "{error}"
    );
    assert_eq!(with_a.credential_keys().await.unwrap().unsealed, ["legacy"]);

    // Rotation: B first, A still there to open; then A can go.
    let rotated = database
        .open_with(Some(&keyring_of(&[&b, &a])))
        .await
        .reseal_credentials()
        .await
        .unwrap();
    assert_eq!(rotated, 3);
    let after = keyless.credential_keys().await.unwrap();
    assert!(after.unsealed.is_empty());
    assert_eq!(
        after.sealed_with.keys().collect::<Vec<_>>(),
        ["b"],
        "every credential is sealed with the new key"
    );
    let with_b = database.open_with(Some(&keyring_of(&[&b]))).await;
    for connection in ["shop", "other", "legacy"] {
        let read = with_b.token(connection).await.unwrap().unwrap();
        assert_eq!(
            (read.access_token, read.refresh_token),
            (
                format!("ACCESS-{connection}"),
                format!("REFRESH-{connection}")
            )
        );
    }
    let stored = database.stored_tokens().await;
    assert!(
        !stored.contains("ACCESS") && !stored.contains("v1:a:"),
        "{stored}"
    );

    // A keyring without the key in use is told so, and resealing with it changes nothing.
    let error = with_a.token("shop").await.unwrap_err().to_string();
    assert!(
        error.contains("encrypted with key `b`, which the keyring lacks"),
        "{error}"
    );
    assert!(with_a.reseal_credentials().await.is_err());
    assert_eq!(database.stored_tokens().await, stored);
}

async fn accounts_own_their_users_sessions_tokens_and_connections(database: &Database) {
    use chrono::SubsecRound;
    let store = database.open().await;
    let now = Utc::now().trunc_subsecs(6);
    let owner = store
        .create_account(
            "Bakkerij Jansen",
            "eva@bakkerij.nl",
            "$argon2id$hash-1",
            now,
        )
        .await
        .unwrap()
        .expect("a new address makes an account");
    assert_eq!(
        store
            .create_account("Copycat", "eva@bakkerij.nl", "$argon2id$hash-2", now)
            .await
            .unwrap(),
        None,
        "an address signs in to one account only"
    );
    let colleague = store
        .add_user(
            owner.account_id,
            "piet@bakkerij.nl",
            "$argon2id$hash-3",
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(colleague.account_id, owner.account_id);
    assert_eq!(
        store.user_by_email("eva@bakkerij.nl").await.unwrap(),
        Some(owner.clone())
    );
    assert_eq!(
        store
            .account_name(owner.account_id)
            .await
            .unwrap()
            .as_deref(),
        Some("Bakkerij Jansen")
    );
    let other = store
        .create_account("Fietsen BV", "jan@fietsen.be", "$argon2id$hash-4", now)
        .await
        .unwrap()
        .unwrap();

    // Sessions: found by their hash until they expire or are deleted.
    store
        .create_session(
            "session-hash",
            colleague.id,
            "csrf-1",
            now,
            now + Duration::hours(8),
        )
        .await
        .unwrap();
    let session = store.session("session-hash", now).await.unwrap().unwrap();
    assert_eq!(
        (
            session.user_id,
            session.account_id,
            session.email.as_str(),
            session.csrf_token.as_str()
        ),
        (colleague.id, owner.account_id, "piet@bakkerij.nl", "csrf-1")
    );
    assert_eq!(session.expires_at, now + Duration::hours(8));
    assert_eq!(
        store
            .session("session-hash", now + Duration::hours(9))
            .await
            .unwrap(),
        None,
        "expired"
    );
    store.delete_session("session-hash").await.unwrap();
    assert_eq!(store.session("session-hash", now).await.unwrap(), None);

    // API tokens: by hash, per account; revoked only by their own account.
    let token = store
        .create_api_token(owner.account_id, "boekhouder", "token-hash", now)
        .await
        .unwrap();
    let later = now + Duration::minutes(5);
    assert_eq!(
        store
            .account_by_api_token("token-hash", later)
            .await
            .unwrap(),
        Some(owner.account_id)
    );
    assert_eq!(
        store
            .account_by_api_token("other-hash", later)
            .await
            .unwrap(),
        None
    );
    let listed = store.api_tokens(owner.account_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id, listed[0].name.as_str()),
        (token, "boekhouder")
    );
    assert_eq!(listed[0].last_used_at, Some(later));
    assert!(store.api_tokens(other.account_id).await.unwrap().is_empty());
    assert!(!store
        .revoke_api_token(other.account_id, token)
        .await
        .unwrap());
    assert!(store
        .revoke_api_token(owner.account_id, token)
        .await
        .unwrap());
    assert_eq!(
        store
            .account_by_api_token("token-hash", later)
            .await
            .unwrap(),
        None
    );

    // Connections: each belongs to one account.
    store
        .bind_connection("webshop", owner.account_id)
        .await
        .unwrap();
    store
        .bind_connection("fietsen", other.account_id)
        .await
        .unwrap();
    store
        .bind_connection("fietsen-2", other.account_id)
        .await
        .unwrap();
    assert_eq!(
        store.account_connections(owner.account_id).await.unwrap(),
        ["webshop"]
    );
    assert_eq!(
        store.account_connections(other.account_id).await.unwrap(),
        ["fietsen", "fietsen-2"]
    );

    // One Exact user connects one account: a second connection of the same account is fine,
    // connecting it for another account lapses the first account's connections.
    let token = TokenRecord {
        access_token: "access-one".into(),
        refresh_token: "refresh-one".into(),
        expires_at: now + Duration::minutes(10),
        issued_at: now,
    };
    store.save_token("fietsen", &token).await.unwrap();
    store.save_token("fietsen-2", &token).await.unwrap();
    let reason = "its Exact user connected another account";
    for connection in ["fietsen", "fietsen-2"] {
        let lapsed = store
            .connect_target_user(connection, "exact-user-1", "Jan Peeters", reason, now)
            .await
            .unwrap();
        assert!(lapsed.is_empty(), "the same account");
    }
    let lapsed = store
        .connect_target_user("webshop", "exact-user-1", "Jan Peeters", reason, later)
        .await
        .unwrap();
    assert_eq!(lapsed, ["fietsen", "fietsen-2"]);
    let first = store.target_user("fietsen").await.unwrap().unwrap();
    assert_eq!(
        (first.lapsed_at, first.lapsed_reason.as_deref()),
        (Some(later), Some(reason))
    );
    assert_eq!(
        store.token("fietsen").await.unwrap(),
        None,
        "its token is gone"
    );
    let now_connected = store.target_user("webshop").await.unwrap().unwrap();
    assert_eq!(
        (
            now_connected.user.as_str(),
            now_connected.display_name.as_str()
        ),
        ("exact-user-1", "Jan Peeters")
    );
    assert_eq!(now_connected.lapsed_at, None);
    // Connecting again clears the lapse (here with another Exact user).
    let lapsed = store
        .connect_target_user("fietsen", "exact-user-2", "Els Peeters", reason, later)
        .await
        .unwrap();
    assert!(lapsed.is_empty());
    assert_eq!(
        store
            .target_user("fietsen")
            .await
            .unwrap()
            .unwrap()
            .lapsed_at,
        None
    );
    assert_eq!(store.target_user("nowhere").await.unwrap(), None);
}

async fn the_transfer_log_lists_the_newest_first_by_state_and_search(database: &Database) {
    let store = shop(database).await;
    let now = Utc::now();
    for number in ["1001", "1002", "2001", "10_5"] {
        store
            .intake(
                NewDocument {
                    source_id: number.into(),
                    number: number.into(),
                    ..order(0)
                },
                now,
            )
            .await
            .unwrap();
    }
    let numbers = |rows: Vec<LedgerRow>| rows.into_iter().map(|r| r.number).collect::<Vec<_>>();
    let all = store
        .recent_documents("shop", None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        numbers(all),
        ["10_5", "2001", "1002", "1001"],
        "newest first"
    );
    let page = store.recent_documents("shop", None, None, 2).await.unwrap();
    assert_eq!(numbers(page), ["10_5", "2001"]);
    let found = store
        .recent_documents("shop", None, Some("100"), 10)
        .await
        .unwrap();
    assert_eq!(numbers(found), ["1002", "1001"]);
    // `_` and `%` are themselves, not wildcards.
    let found = store
        .recent_documents("shop", None, Some("0_"), 10)
        .await
        .unwrap();
    assert_eq!(numbers(found), ["10_5"]);
    let found = store
        .recent_documents("shop", None, Some("%"), 10)
        .await
        .unwrap();
    assert!(found.is_empty());
    let received = store
        .recent_documents("shop", Some(DocState::Received), None, 10)
        .await
        .unwrap();
    assert_eq!(received.len(), 4);
    let held = store
        .recent_documents("shop", Some(DocState::Held), None, 10)
        .await
        .unwrap();
    assert!(held.is_empty());
    assert!(store
        .recent_documents("another shop", None, None, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn settings_changed_in_the_panel_outlast_the_settings_file_until_reset(database: &Database) {
    let store = shop(database).await;
    let from_file = |journal: &str| ConnectionRecord {
        id: "shop".into(),
        name: "Shop".into(),
        source_kind: "woocommerce".into(),
        target_kind: "exact".into(),
        settings_json: json!({ "journal": journal }),
        ..ConnectionRecord::default()
    };
    store.upsert_connection(&from_file("70")).await.unwrap();
    let record = store.connection("shop").await.unwrap().unwrap();
    assert_eq!(record.settings_json, json!({ "journal": "70" }));
    assert_eq!(record.settings_edited, None);
    let before = record.settings_revision;

    let edit = ledgerlink_store::SettingsEdit {
        by: "eva@bakkerij.nl".into(),
        at: Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0).unwrap(),
    };
    let revision = store
        .save_booking_settings(
            "shop",
            &json!({ "journal": "71" }),
            Some(&edit),
            Some(before),
        )
        .await
        .unwrap();
    assert!(revision > before);
    // A page shown before that save cannot undo it.
    let stale = store
        .save_booking_settings(
            "shop",
            &json!({ "journal": "99" }),
            Some(&edit),
            Some(before),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Changed(_))), "{stale:?}");
    // A restart writes the file's settings again: the panel's change stays.
    store.upsert_connection(&from_file("72")).await.unwrap();
    let record = store.connection("shop").await.unwrap().unwrap();
    assert_eq!(record.settings_json, json!({ "journal": "71" }));
    assert_eq!(record.settings_edited, Some(edit));
    assert_eq!(record.settings_revision, revision);

    // Reset: the file's settings again, and the next start's file wins once more.
    let reset = store
        .save_booking_settings("shop", &json!({ "journal": "72" }), None, None)
        .await
        .unwrap();
    assert!(reset > revision);
    store.upsert_connection(&from_file("73")).await.unwrap();
    let record = store.connection("shop").await.unwrap().unwrap();
    assert_eq!(record.settings_json, json!({ "journal": "73" }));
    assert_eq!(record.settings_edited, None);

    // Who hears of what, the same way.
    let mail = json!({ "email": ["eva@bakkerij.nl"], "events": ["held"] });
    let by_eva = ledgerlink_store::SettingsEdit {
        by: "eva@bakkerij.nl".into(),
        at: Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap(),
    };
    let with_mail = store
        .save_notifications("shop", Some((&mail, &by_eva)))
        .await
        .unwrap();
    assert!(with_mail > reset);
    store.upsert_connection(&from_file("73")).await.unwrap();
    let record = store.connection("shop").await.unwrap().unwrap();
    assert_eq!(record.notifications, Some((mail, by_eva)));
    assert_eq!(record.settings_revision, with_mail);
    store.save_notifications("shop", None).await.unwrap();
    assert_eq!(
        store
            .connection("shop")
            .await
            .unwrap()
            .unwrap()
            .notifications,
        None
    );

    let missing = store
        .save_booking_settings("nowhere", &json!({}), None, Some(0))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    // What the shop sold: the shop's own totals of what was taken in; unreadable ones left out.
    let sold = NewDocument {
        document_json: json!({ "currency": "EUR", "total": "12.10" }),
        ..order(0)
    };
    store.intake(sold, Utc::now()).await.unwrap();
    let unreadable = NewDocument {
        source_id: "1002".into(),
        document_json: json!({ "unreadable": "broken JSON" }),
        ..order(0)
    };
    store.intake(unreadable, Utc::now()).await.unwrap();
    let hour = Duration::hours(1);
    let totals = store
        .taken_in_totals("shop", Utc::now() - hour, Utc::now() + hour)
        .await
        .unwrap();
    assert_eq!(totals.len(), 1, "{totals:?}");
    assert_eq!(
        (
            totals[0].currency.as_str(),
            totals[0].documents,
            totals[0].total.to_string()
        ),
        ("EUR", 1, "12.10".to_string())
    );

    // The cached lists the panel offers, in code order.
    for code in ["8010", "8000"] {
        store
            .cache_put(
                "shop",
                "100001",
                "financial/GLAccounts",
                code,
                &json!({ "Code": code }),
                Utc::now(),
            )
            .await
            .unwrap();
    }
    let listed = store
        .cache_list("shop", "100001", "financial/GLAccounts")
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![json!({ "Code": "8000" }), json!({ "Code": "8010" })]
    );
    assert!(store
        .cache_list("shop", "100002", "financial/GLAccounts")
        .await
        .unwrap()
        .is_empty());
}

async fn an_invitation_makes_one_user_of_the_account_once(database: &Database) {
    let store = database.open().await;
    let now = Utc::now();
    let eva = store
        .create_account("Bakkerij Jansen", "eva@bakkerij.nl", "$argon2id$eva", now)
        .await
        .unwrap()
        .unwrap();
    let week = now + Duration::days(7);
    store
        .invite(
            "hash-1",
            eva.account_id,
            "piet@bakkerij.nl",
            "eva@bakkerij.nl",
            now,
            week,
        )
        .await
        .unwrap();
    store
        .invite(
            "hash-old",
            eva.account_id,
            "kees@bakkerij.nl",
            "eva@bakkerij.nl",
            now,
            now,
        )
        .await
        .unwrap();
    let open = store.invitation("hash-1", now).await.unwrap().unwrap();
    assert_eq!(
        (
            open.account_name.as_str(),
            open.email.as_str(),
            open.invited_by.as_str()
        ),
        ("Bakkerij Jansen", "piet@bakkerij.nl", "eva@bakkerij.nl")
    );
    assert_eq!(
        store.invitation("hash-old", now).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.invitation("nope", now).await.unwrap(), None);

    let piet = store
        .accept_invitation("hash-1", "$argon2id$piet", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(piet.account_id, eva.account_id);
    assert_eq!(piet.email, "piet@bakkerij.nl");
    assert_eq!(
        store
            .accept_invitation("hash-1", "$argon2id$again", now)
            .await
            .unwrap(),
        None,
        "used once"
    );
    assert_eq!(store.invitation("hash-1", now).await.unwrap(), None);
    let users: Vec<String> = store
        .account_users(eva.account_id)
        .await
        .unwrap()
        .into_iter()
        .map(|(email, _)| email)
        .collect();
    assert_eq!(users, ["eva@bakkerij.nl", "piet@bakkerij.nl"]);

    // An address that has a user meanwhile is not taken twice; the invitation stays open.
    store
        .invite(
            "hash-2",
            eva.account_id,
            "jan@fietsen.be",
            "eva@bakkerij.nl",
            now,
            week,
        )
        .await
        .unwrap();
    store
        .create_account("Fietsen BV", "jan@fietsen.be", "$argon2id$jan", now)
        .await
        .unwrap();
    assert_eq!(
        store
            .accept_invitation("hash-2", "$argon2id$x", now)
            .await
            .unwrap(),
        None
    );
}
