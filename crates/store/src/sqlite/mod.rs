//! The SQLite backend: the embedded default, one file, WAL mode.

mod accounts;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ledgerlink_core::Money;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use crate::{
    credential_keys, like_pattern, open_secrets, parse_ts, reasons, reopens_on_change,
    reseal_secrets, seal_secrets, sum_booked, sum_taken_in, ts, AuditEntry, BookedTotal,
    BudgetWindow, ConnectionRecord, CredentialKeys, DocState, InboxItem, IntakeOutcome, Keyring,
    Lease, LedgerRow, NewDocument, Result, SettingsEdit, Store, StoreError, StoredSecrets,
    SummaryJoin, TokenRecord, Transition, TransitionRecord,
};

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Seals and opens the stored credentials; without it they can be neither read nor
    /// written.
    keyring: Option<Keyring>,
}

const LEDGER_COLUMNS: &str =
    "id, connection_id, kind, source_id, number, state, reason, document_json, plan_json, \
     reference, target_id, summary_id, attempts, fencing_token, created_at, updated_at";

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date. It
    /// holds no key: everything but the credentials can be used until
    /// [`SqliteStore::with_keyring`] gives it one.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL survives a killed process (every commit is in the WAL); FULL would
            // only add protection against power loss at a high cost per commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Self::migrate(pool).await
    }

    /// A write transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred one that reads first and writes later fails with "database is locked" when
    /// another connection wrote in between, which waiting cannot cure.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Closes every connection, waiting until they are closed: before another process opens
    /// the same file, or at shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The store sealing and opening credentials with `keyring`.
    pub fn with_keyring(self, keyring: Keyring) -> Self {
        SqliteStore {
            keyring: Some(keyring),
            ..self
        }
    }

    /// A private in-memory database, for tests and `plan`. Its credentials are sealed with
    /// a key of its own, gone with it.
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: every connection to `:memory:` would be a database of its own.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self::migrate(pool)
            .await?
            .with_keyring(Keyring::ephemeral()))
    }

    async fn migrate(pool: SqlitePool) -> Result<Self> {
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            keyring: None,
        })
    }

    async fn apply_transition(
        &self,
        lease: Lease,
        to: DocState,
        change: Transition,
        now: DateTime<Utc>,
        keep_lease: bool,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let from: Option<String> =
            sqlx::query_scalar("SELECT state FROM documents WHERE id = ? AND fencing_token = ?")
                .bind(lease.document_id)
                .bind(lease.token)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(from) = from else {
            return Err(StoreError::LeaseLost {
                document_id: lease.document_id,
                token: lease.token,
            });
        };
        let lease_clause = match (keep_lease, change.lease_until) {
            (true, None) => String::new(),
            (true, Some(until)) => format!(", lease_until = '{}'", ts(until)),
            (false, _) => ", lease_owner = NULL, lease_until = NULL".to_string(),
        };
        let updated = sqlx::query(&format!(
            "UPDATE documents SET state = ?, reason = ?, plan_json = COALESCE(?, plan_json), \
             reference = COALESCE(?, reference), target_id = COALESCE(?, target_id), \
             next_attempt_at = ?, attempts = attempts + ?, updated_at = ?{lease_clause} \
             WHERE id = ? AND fencing_token = ?"
        ))
        .bind(to.as_str())
        .bind(&change.reason)
        .bind(change.plan_json.as_ref().map(|p| p.to_string()))
        .bind(&change.reference)
        .bind(&change.target_id)
        .bind(change.due_at(to, now).map(ts))
        .bind(i64::from(change.counts_as_attempt))
        .bind(ts(now))
        .bind(lease.document_id)
        .bind(lease.token)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::LeaseLost {
                document_id: lease.document_id,
                token: lease.token,
            });
        }
        record_transition(
            &mut tx,
            lease.document_id,
            Some(&from),
            to,
            change.reason.as_deref(),
            now,
        )
        .await?;
        if to == DocState::Booked {
            book_members(&mut tx, lease.document_id, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A summary's members are booked in the same transaction as the summary itself.
async fn book_members(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    summary_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let members: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM documents WHERE summary_id = ? AND state = 'pooled'")
            .bind(summary_id)
            .fetch_all(&mut **tx)
            .await?;
    if members.is_empty() {
        return Ok(());
    }
    let (target_id, reason): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT target_id, reason FROM documents WHERE id = ?")
            .bind(summary_id)
            .fetch_one(&mut **tx)
            .await?;
    let reason = reasons::booked_in_summary(reason.as_deref());
    sqlx::query(
        "UPDATE documents SET state = 'booked', target_id = ?, reason = ?, next_attempt_at = NULL, updated_at = ? \
         WHERE summary_id = ? AND state = 'pooled'",
    )
    .bind(&target_id)
    .bind(&reason)
    .bind(ts(now))
    .bind(summary_id)
    .execute(&mut **tx)
    .await?;
    for member in members {
        record_transition(
            tx,
            member,
            Some("pooled"),
            DocState::Booked,
            Some(&reason),
            now,
        )
        .await?;
    }
    Ok(())
}

async fn record_transition(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    document_id: i64,
    from: Option<&str>,
    to: DocState,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO document_transitions (document_id, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?)")
        .bind(document_id)
        .bind(from)
        .bind(to.as_str())
        .bind(reason)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn audit_entry(r: &sqlx::sqlite::SqliteRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        connection_id: r.try_get("connection_id")?,
        system: r.try_get("system")?,
        method: r.try_get("method")?,
        url: r.try_get("url")?,
        request_body: r.try_get("request_body")?,
        status: r
            .try_get::<Option<i64>, _>("status")?
            .and_then(|s| u16::try_from(s).ok()),
        response_body: r.try_get("response_body")?,
        error: r.try_get("error")?,
        duration_ms: r.try_get("duration_ms")?,
        at: parse_ts(&r.try_get::<String, _>("at")?)?,
    })
}

/// Who changed a setting in the panel, and when, from its two columns.
fn edit(by: Option<String>, at: Option<String>) -> Result<Option<SettingsEdit>> {
    Ok(match (by, at) {
        (Some(by), Some(at)) => Some(SettingsEdit {
            by,
            at: parse_ts(&at)?,
        }),
        _ => None,
    })
}

fn json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("bad JSON in the store: {e}")))
}

fn ledger_row(row: &SqliteRow) -> Result<LedgerRow> {
    let plan: Option<String> = row.try_get("plan_json")?;
    Ok(LedgerRow {
        id: row.try_get("id")?,
        connection_id: row.try_get("connection_id")?,
        kind: row.try_get("kind")?,
        source_id: row.try_get("source_id")?,
        number: row.try_get("number")?,
        state: row.try_get::<String, _>("state")?.parse()?,
        reason: row.try_get("reason")?,
        document_json: json(&row.try_get::<String, _>("document_json")?)?,
        plan_json: plan.as_deref().map(json).transpose()?,
        reference: row.try_get("reference")?,
        target_id: row.try_get("target_id")?,
        summary_id: row.try_get("summary_id")?,
        attempts: row.try_get("attempts")?,
        fencing_token: row.try_get("fencing_token")?,
        created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_connection(&self, c: &ConnectionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (id, name, source_kind, target_kind, settings_json, created_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, source_kind = excluded.source_kind, \
             target_kind = excluded.target_kind, settings_json = CASE \
             WHEN connections.settings_edited_at IS NULL THEN excluded.settings_json \
             ELSE connections.settings_json END",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.source_kind)
        .bind(&c.target_kind)
        .bind(c.settings_json.to_string())
        .bind(ts(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        let row = sqlx::query(
            "SELECT id, name, source_kind, target_kind, settings_json, settings_revision, \
             settings_edited_by, settings_edited_at, notifications_json, notifications_edited_by, \
             notifications_edited_at FROM connections WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let edited_by: Option<String> = r.try_get("settings_edited_by")?;
            let edited_at: Option<String> = r.try_get("settings_edited_at")?;
            Ok(ConnectionRecord {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                source_kind: r.try_get("source_kind")?,
                target_kind: r.try_get("target_kind")?,
                settings_json: json(&r.try_get::<String, _>("settings_json")?)?,
                settings_revision: r.try_get("settings_revision")?,
                settings_edited: edit(edited_by, edited_at)?,
                notifications: match (
                    r.try_get::<Option<String>, _>("notifications_json")?,
                    edit(
                        r.try_get("notifications_edited_by")?,
                        r.try_get("notifications_edited_at")?,
                    )?,
                ) {
                    (Some(text), Some(edited)) => Some((json(&text)?, edited)),
                    _ => None,
                },
            })
        })
        .transpose()
    }

    async fn save_booking_settings(
        &self,
        connection_id: &str,
        settings_json: &serde_json::Value,
        edited: Option<&SettingsEdit>,
        read_at: Option<i64>,
    ) -> Result<i64> {
        let revision: Option<i64> = sqlx::query_scalar(
            "UPDATE connections SET settings_json = ?, settings_edited_by = ?, \
             settings_edited_at = ?, settings_revision = settings_revision + 1 \
             WHERE id = ? AND (? IS NULL OR settings_revision = ?) RETURNING settings_revision",
        )
        .bind(settings_json.to_string())
        .bind(edited.map(|e| e.by.as_str()))
        .bind(edited.map(|e| ts(e.at)))
        .bind(connection_id)
        .bind(read_at)
        .bind(read_at)
        .fetch_optional(&self.pool)
        .await?;
        match revision {
            Some(revision) => Ok(revision),
            None => Err(crate::missing_or_changed(self, connection_id).await),
        }
    }

    async fn save_notifications(
        &self,
        connection_id: &str,
        notifications: Option<(&serde_json::Value, &SettingsEdit)>,
    ) -> Result<i64> {
        let revision: Option<i64> = sqlx::query_scalar(
            "UPDATE connections SET notifications_json = ?, notifications_edited_by = ?, \
             notifications_edited_at = ?, settings_revision = settings_revision + 1 \
             WHERE id = ? RETURNING settings_revision",
        )
        .bind(notifications.map(|(json, _)| json.to_string()))
        .bind(notifications.map(|(_, edit)| edit.by.as_str()))
        .bind(notifications.map(|(_, edit)| ts(edit.at)))
        .bind(connection_id)
        .fetch_optional(&self.pool)
        .await?;
        revision.ok_or_else(|| StoreError::NotFound(format!("connection {connection_id}")))
    }

    async fn intake(&self, doc: NewDocument, now: DateTime<Utc>) -> Result<IntakeOutcome> {
        let mut tx = self.write().await?;
        let existing = sqlx::query(
            "SELECT id, state, attempts, source_modified_at, document_json FROM documents \
             WHERE connection_id = ? AND kind = ? AND source_id = ?",
        )
        .bind(&doc.connection_id)
        .bind(&doc.kind)
        .bind(&doc.source_id)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match existing {
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO documents (connection_id, kind, source_id, number, state, document_json, source_modified_at, \
                     next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'received', ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(&doc.connection_id)
                .bind(&doc.kind)
                .bind(&doc.source_id)
                .bind(&doc.number)
                .bind(doc.document_json.to_string())
                .bind(ts(doc.source_modified_at))
                .bind(ts(now))
                .bind(ts(now))
                .bind(ts(now))
                .fetch_one(&mut *tx)
                .await?;
                record_transition(&mut tx, id, None, DocState::Received, None, now).await?;
                IntakeOutcome::New(id)
            }
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let state: DocState = row.try_get::<String, _>("state")?.parse()?;
                let known_modified = parse_ts(&row.try_get::<String, _>("source_modified_at")?)?;
                let known_json: String = row.try_get("document_json")?;
                let new_json = doc.document_json.to_string();
                // Sources count time in whole seconds, so a different version with the same
                // time is a change too.
                let newer = doc.source_modified_at > known_modified
                    || (doc.source_modified_at == known_modified && new_json != known_json);
                let never_sent = row.try_get::<i64, _>("attempts")? == 0;
                if newer && reopens_on_change(state, never_sent) {
                    sqlx::query(
                        "UPDATE documents SET state = 'received', reason = NULL, number = ?, document_json = ?, \
                         source_modified_at = ?, next_attempt_at = ?, updated_at = ?, plan_json = NULL, \
                         fencing_token = fencing_token + 1, lease_owner = NULL, lease_until = NULL WHERE id = ?",
                    )
                    .bind(&doc.number)
                    .bind(&new_json)
                    .bind(ts(doc.source_modified_at))
                    .bind(ts(now))
                    .bind(ts(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    record_transition(
                        &mut tx,
                        id,
                        Some(state.as_str()),
                        DocState::Received,
                        Some(reasons::CHANGED_IN_SOURCE),
                        now,
                    )
                    .await?;
                    IntakeOutcome::Updated(id)
                } else {
                    IntakeOutcome::Unchanged(id)
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn claim_due_except(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        paused: &[String],
    ) -> Result<Vec<LedgerRow>> {
        // One statement, so two workers can never claim the same row. Walking the open
        // documents by id stops at the first due ones; SQLite would rather sort all due ones.
        let rows = sqlx::query(&format!(
            "UPDATE documents SET lease_owner = ?, lease_until = ?, fencing_token = fencing_token + 1 \
             WHERE id IN (SELECT id FROM documents INDEXED BY documents_open WHERE state IN ('received', 'planned', 'posting', 'uncertain', 'collecting') \
                 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ? \
                 AND (lease_until IS NULL OR lease_until < ?) \
                 AND connection_id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?) \
             RETURNING {LEDGER_COLUMNS}"
        ))
        .bind(worker)
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(ts(now))
        .bind(serde_json::to_string(paused).expect("strings serialize"))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = rows.iter().map(ledger_row).collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|r| r.id);
        Ok(claimed)
    }

    async fn transition(
        &self,
        lease: Lease,
        to: DocState,
        change: Transition,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.apply_transition(lease, to, change, now, false).await
    }

    async fn transition_keep_lease(
        &self,
        lease: Lease,
        to: DocState,
        change: Transition,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.apply_transition(lease, to, change, now, true).await
    }

    async fn pool(
        &self,
        lease: Lease,
        plan_json: serde_json::Value,
        reference: &str,
        summary: SummaryJoin,
        now: DateTime<Utc>,
    ) -> Result<(i64, String)> {
        let mut tx = self.write().await?;
        let member: Option<(String, String)> = sqlx::query_as(
            "SELECT state, connection_id FROM documents WHERE id = ? AND fencing_token = ?",
        )
        .bind(lease.document_id)
        .bind(lease.token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((from, connection_id)) = member else {
            return Err(StoreError::LeaseLost {
                document_id: lease.document_id,
                token: lease.token,
            });
        };
        let key_prefix = format!("{}#", summary.group_key);
        let open: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, number FROM documents WHERE connection_id = ? AND kind = 'summary' \
             AND state = 'collecting' AND substr(source_id, 1, length(?)) = ? ORDER BY id LIMIT 1",
        )
        .bind(&connection_id)
        .bind(&key_prefix)
        .bind(&key_prefix)
        .fetch_optional(&mut *tx)
        .await?;
        let (summary_id, summary_reference) = match open {
            Some(open) => open,
            None => {
                // Numbered per day over all of the day's summaries, so references stay unique.
                let taken: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM documents WHERE connection_id = ? AND kind = 'summary' \
                     AND substr(number, 1, length(?)) = ?",
                )
                .bind(&connection_id)
                .bind(&summary.reference_prefix)
                .bind(&summary.reference_prefix)
                .fetch_one(&mut *tx)
                .await?;
                let sequence = taken + 1;
                let summary_reference = format!("{}{sequence}", summary.reference_prefix);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO documents (connection_id, kind, source_id, number, state, document_json, \
                     source_modified_at, reference, next_attempt_at, created_at, updated_at) \
                     VALUES (?, 'summary', ?, ?, 'collecting', ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(&connection_id)
                .bind(format!("{key_prefix}{sequence}"))
                .bind(&summary_reference)
                .bind(summary.group_json.to_string())
                .bind(ts(now))
                .bind(&summary_reference)
                .bind(ts(summary.closes_at.max(now)))
                .bind(ts(now))
                .bind(ts(now))
                .fetch_one(&mut *tx)
                .await?;
                record_transition(
                    &mut tx,
                    id,
                    None,
                    DocState::Collecting,
                    Some(reasons::SUMMARY_OPENED),
                    now,
                )
                .await?;
                (id, summary_reference)
            }
        };
        let reason = reasons::pooled(&summary_reference);
        sqlx::query(
            "UPDATE documents SET state = 'pooled', reason = ?, plan_json = ?, reference = ?, summary_id = ?, \
             next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ? \
             WHERE id = ? AND fencing_token = ?",
        )
        .bind(&reason)
        .bind(plan_json.to_string())
        .bind(reference)
        .bind(summary_id)
        .bind(ts(now))
        .bind(lease.document_id)
        .bind(lease.token)
        .execute(&mut *tx)
        .await?;
        record_transition(
            &mut tx,
            lease.document_id,
            Some(&from),
            DocState::Pooled,
            Some(&reason),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((summary_id, summary_reference))
    }

    async fn summary_members(&self, summary_id: i64) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE summary_id = ? ORDER BY id"
        ))
        .bind(summary_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ledger_row).collect()
    }

    async fn retry_held(&self, document_id: i64, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE documents SET state = 'received', reason = NULL, next_attempt_at = ?, updated_at = ? \
             WHERE id = ? AND state = 'held'",
        )
        .bind(ts(now))
        .bind(ts(now))
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("held document {document_id}")));
        }
        record_transition(
            &mut tx,
            document_id,
            Some("held"),
            DocState::Received,
            Some(reasons::RETRY_ASKED),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn skip_held(&self, document_id: i64, reason: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE documents SET state = 'skipped', reason = ?, updated_at = ? \
             WHERE id = ? AND state = 'held'",
        )
        .bind(reason)
        .bind(ts(now))
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("held document {document_id}")));
        }
        record_transition(
            &mut tx,
            document_id,
            Some("held"),
            DocState::Skipped,
            Some(reason),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn document(&self, id: i64) -> Result<Option<LedgerRow>> {
        let row = sqlx::query(&format!(
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ledger_row).transpose()
    }

    async fn document_by_source(
        &self,
        connection_id: &str,
        kind: &str,
        source_id: &str,
    ) -> Result<Option<LedgerRow>> {
        let row = sqlx::query(&format!(
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE connection_id = ? AND kind = ? AND source_id = ?"
        ))
        .bind(connection_id)
        .bind(kind)
        .bind(source_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ledger_row).transpose()
    }

    async fn documents(
        &self,
        connection_id: &str,
        state: Option<DocState>,
    ) -> Result<Vec<LedgerRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE connection_id = ? AND (? IS NULL OR state = ?) ORDER BY id"
        ))
        .bind(connection_id)
        .bind(state.map(DocState::as_str))
        .bind(state.map(DocState::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ledger_row).collect()
    }

    async fn recent_documents(
        &self,
        connection_id: &str,
        state: Option<DocState>,
        search: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LedgerRow>> {
        let pattern = search.map(like_pattern);
        let rows = sqlx::query(&format!(
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE connection_id = ? \
             AND (? IS NULL OR state = ?) \
             AND (? IS NULL OR reference LIKE ? ESCAPE '\\' OR number LIKE ? ESCAPE '\\' \
                  OR source_id LIKE ? ESCAPE '\\') \
             ORDER BY id DESC LIMIT ?"
        ))
        .bind(connection_id)
        .bind(state.map(DocState::as_str))
        .bind(state.map(DocState::as_str))
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ledger_row).collect()
    }

    async fn daily_outcomes(
        &self,
        connection_id: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<crate::DailyOutcome>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT substr(t.at, 1, 10), t.to_state, count(*) FROM document_transitions t \
             JOIN documents d ON d.id = t.document_id \
             WHERE d.connection_id = ? AND t.at >= ? AND t.to_state IN ('booked', 'held') \
             GROUP BY 1, 2",
        )
        .bind(connection_id)
        .bind(ts(from))
        .fetch_all(&self.pool)
        .await?;
        crate::fold_outcomes(rows)
    }

    async fn transitions(&self, document_id: i64) -> Result<Vec<TransitionRecord>> {
        let rows = sqlx::query("SELECT from_state, to_state, reason, at FROM document_transitions WHERE document_id = ? ORDER BY id")
            .bind(document_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TransitionRecord {
                    from_state: r
                        .try_get::<Option<String>, _>("from_state")?
                        .map(|s| s.parse())
                        .transpose()?,
                    to_state: r.try_get::<String, _>("to_state")?.parse()?,
                    reason: r.try_get("reason")?,
                    at: parse_ts(&r.try_get::<String, _>("at")?)?,
                })
            })
            .collect()
    }

    async fn state_counts(&self, connection_id: &str) -> Result<Vec<(DocState, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM documents WHERE connection_id = ? GROUP BY state ORDER BY state")
            .bind(connection_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>("state")?.parse()?, r.try_get("n")?)))
            .collect()
    }

    async fn distance_sales(
        &self,
        connection_id: &str,
        year: i32,
        except_document: i64,
    ) -> Result<Money> {
        // Sales only: a threshold once passed stays passed whatever is refunded later.
        let amounts: Vec<String> = sqlx::query_scalar(
            "SELECT json_extract(plan_json, '$.distance_sales') FROM documents
             WHERE connection_id = ? AND id != ? AND kind NOT IN ('refund', 'summary')
               AND state IN ('posting', 'uncertain', 'booked', 'pooled')
               AND substr(json_extract(plan_json, '$.entry_date'), 1, 4) = ?
               AND json_extract(plan_json, '$.distance_sales') NOT IN ('0', '0.00')",
        )
        .bind(connection_id)
        .bind(except_document)
        .bind(format!("{year:04}"))
        .fetch_all(&self.pool)
        .await?;
        amounts
            .iter()
            .map(|a| {
                Money::from_str(a)
                    .map_err(|e| StoreError::Corrupt(format!("distance sales `{a}`: {e}")))
            })
            .sum()
    }

    async fn open_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE state IN ('received', 'planned', 'posting', 'uncertain')")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn booked_totals(
        &self,
        connection_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BookedTotal>> {
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT d.kind, json_extract(d.plan_json, '$.currency'), json_extract(d.plan_json, '$.total') \
             FROM document_transitions t JOIN documents d ON d.id = t.document_id \
             WHERE d.connection_id = ? AND d.kind != 'summary' AND t.to_state = 'booked' \
               AND t.at >= ? AND t.at < ?",
        )
        .bind(connection_id)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(&self.pool)
        .await?;
        sum_booked(rows)
    }

    async fn taken_in_totals(
        &self,
        connection_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BookedTotal>> {
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT kind, json_extract(document_json, '$.currency'), \
             json_extract(document_json, '$.total') FROM documents \
             WHERE connection_id = ? AND kind != 'summary' AND created_at >= ? AND created_at < ?",
        )
        .bind(connection_id)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_all(&self.pool)
        .await?;
        sum_taken_in(rows)
    }

    async fn cursor(&self, connection_id: &str, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE connection_id = ? AND name = ?")
                .bind(connection_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_cursor(
        &self,
        connection_id: &str,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO cursors (connection_id, name, value, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (connection_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(connection_id)
        .bind(name)
        .bind(value)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn enqueue_delivery(
        &self,
        connection_id: &str,
        delivery_key: Option<&str>,
        topic: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if let Some(key) = delivery_key {
            let inserted = sqlx::query(
                "INSERT INTO webhook_deliveries (connection_id, delivery_key, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(connection_id)
            .bind(key)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO inbox (connection_id, topic, payload, received_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(connection_id)
        .bind(topic)
        .bind(payload)
        .bind(ts(now))
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<InboxItem>> {
        let rows = sqlx::query(
            "UPDATE inbox SET lease_until = ? WHERE id IN (SELECT id FROM inbox WHERE next_attempt_at <= ? \
             AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT ?) \
             RETURNING id, connection_id, topic, payload, attempts",
        )
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(ts(now))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut items = rows
            .iter()
            .map(|r| {
                Ok(InboxItem {
                    id: r.try_get("id")?,
                    connection_id: r.try_get("connection_id")?,
                    topic: r.try_get("topic")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn delivery_done(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM inbox WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delivery_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_until = NULL WHERE id = ?",
        )
        .bind(error)
        .bind(ts(retry_at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit(&self, e: AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (connection_id, system, method, url, request_body, status, response_body, error, duration_ms, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.connection_id)
        .bind(&e.system)
        .bind(&e.method)
        .bind(&e.url)
        .bind(&e.request_body)
        .bind(e.status.map(i64::from))
        .bind(&e.response_body)
        .bind(&e.error)
        .bind(e.duration_ms)
        .bind(ts(e.at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_entries(&self, connection_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT connection_id, system, method, url, request_body, status, response_body, error, duration_ms, at \
             FROM audit_log WHERE connection_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(connection_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_entry).collect()
    }

    async fn audit_entries_mentioning(
        &self,
        connection_id: &str,
        text: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let pattern = like_pattern(text);
        let rows = sqlx::query(
            "SELECT * FROM (SELECT id, connection_id, system, method, url, request_body, status, \
             response_body, error, duration_ms, at FROM audit_log WHERE connection_id = ? \
             AND (url LIKE ? ESCAPE '\\' OR request_body LIKE ? ESCAPE '\\' OR response_body LIKE ? ESCAPE '\\') \
             ORDER BY id DESC LIMIT ?) ORDER BY id",
        )
        .bind(connection_id)
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_entry).collect()
    }

    async fn audit_count(
        &self,
        connection_id: &str,
        system: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE connection_id = ? AND system = ? AND at >= ? AND at < ?",
        )
        .bind(connection_id)
        .bind(system)
        .bind(ts(from))
        .bind(ts(to))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn cache_put(
        &self,
        connection_id: &str,
        scope: &str,
        entity: &str,
        key: &str,
        value: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO master_data (connection_id, scope, entity, key, value_json, fetched_at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (connection_id, scope, entity, key) DO UPDATE SET value_json = excluded.value_json, fetched_at = excluded.fetched_at",
        )
        .bind(connection_id)
        .bind(scope)
        .bind(entity)
        .bind(key)
        .bind(value.to_string())
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn cache_get(
        &self,
        connection_id: &str,
        scope: &str,
        entity: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = sqlx::query_scalar(
            "SELECT value_json FROM master_data WHERE connection_id = ? AND scope = ? AND entity = ? AND key = ?",
        )
        .bind(connection_id)
        .bind(scope)
        .bind(entity)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        text.as_deref().map(json).transpose()
    }

    async fn cache_count(&self, connection_id: &str, scope: &str, entity: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM master_data WHERE connection_id = ? AND scope = ? AND entity = ?",
        )
        .bind(connection_id)
        .bind(scope)
        .bind(entity)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn cache_list(
        &self,
        connection_id: &str,
        scope: &str,
        entity: &str,
    ) -> Result<Vec<serde_json::Value>> {
        let texts: Vec<String> = sqlx::query_scalar(
            "SELECT value_json FROM master_data WHERE connection_id = ? AND scope = ? AND entity = ? \
             ORDER BY key",
        )
        .bind(connection_id)
        .bind(scope)
        .bind(entity)
        .fetch_all(&self.pool)
        .await?;
        texts.iter().map(|text| json(text)).collect()
    }

    async fn token(&self, connection_id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT access_token, refresh_token, sealed, expires_at, issued_at FROM oauth_tokens \
             WHERE connection_id = ?",
        )
        .bind(connection_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let (access_token, refresh_token) =
                open_secrets(self.keyring.as_ref(), &stored_secrets(connection_id, &r)?)?;
            Ok(TokenRecord {
                access_token,
                refresh_token,
                expires_at: parse_ts(&r.try_get::<String, _>("expires_at")?)?,
                issued_at: parse_ts(&r.try_get::<String, _>("issued_at")?)?,
            })
        })
        .transpose()
    }

    async fn credential_keys(&self) -> Result<CredentialKeys> {
        let rows = sqlx::query(
            "SELECT connection_id, access_token, refresh_token, sealed FROM oauth_tokens \
             ORDER BY connection_id",
        )
        .fetch_all(&self.pool)
        .await?;
        credential_keys(
            rows.iter()
                .map(|r| stored_secrets(&r.try_get::<String, _>("connection_id")?, r))
                .collect::<Result<_>>()?,
        )
    }

    async fn reseal_credentials(&self) -> Result<usize> {
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "SELECT connection_id, access_token, refresh_token, sealed FROM oauth_tokens",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let stored = stored_secrets(&row.try_get::<String, _>("connection_id")?, row)?;
            let connection_id = stored.connection_id.clone();
            let (access_token, refresh_token) = reseal_secrets(self.keyring.as_ref(), stored)?;
            sqlx::query(
                "UPDATE oauth_tokens SET access_token = ?, refresh_token = ?, sealed = 1 \
                 WHERE connection_id = ?",
            )
            .bind(access_token)
            .bind(refresh_token)
            .bind(connection_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    async fn try_lock(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let taken = sqlx::query(
            "INSERT INTO locks (name, holder, until) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE locks.holder = excluded.holder OR locks.until < ?",
        )
        .bind(name)
        .bind(holder)
        .bind(ts(until))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn unlock(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM locks WHERE name = ? AND holder = ?")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_call(&self, budget: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let mut tx = self.write().await?;
        let exhausted: Option<String> = sqlx::query_scalar(
            "SELECT MAX(resets_at) FROM rate_budgets WHERE budget = ? AND resets_at > ? AND remaining <= 0",
        )
        .bind(budget)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        if let Some(until) = exhausted {
            return Ok(Some(parse_ts(&until)?));
        }
        sqlx::query(
            "UPDATE rate_budgets SET remaining = remaining - 1 WHERE budget = ? AND resets_at > ?",
        )
        .bind(budget)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(None)
    }

    async fn set_budget(&self, budget: &str, windows: &[BudgetWindow]) -> Result<()> {
        let mut tx = self.write().await?;
        for window in windows {
            sqlx::query(
                "INSERT INTO rate_budgets (budget, name, remaining, resets_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (budget, name) DO UPDATE SET \
                 remaining = CASE WHEN rate_budgets.resets_at = excluded.resets_at \
                     THEN MIN(rate_budgets.remaining, excluded.remaining) ELSE excluded.remaining END, \
                 resets_at = excluded.resets_at",
            )
            .bind(budget)
            .bind(&window.name)
            .bind(window.remaining)
            .bind(ts(window.resets_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn save_token(&self, connection_id: &str, token: &TokenRecord) -> Result<()> {
        let (access_token, refresh_token) = seal_secrets(
            self.keyring.as_ref(),
            connection_id,
            &token.access_token,
            &token.refresh_token,
        )?;
        sqlx::query(
            "INSERT INTO oauth_tokens (connection_id, access_token, refresh_token, sealed, expires_at, issued_at) \
             VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (connection_id) DO UPDATE SET \
             access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
             sealed = excluded.sealed, expires_at = excluded.expires_at, issued_at = excluded.issued_at",
        )
        .bind(connection_id)
        .bind(access_token)
        .bind(refresh_token)
        .bind(ts(token.expires_at))
        .bind(ts(token.issued_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn stored_secrets(connection_id: &str, row: &SqliteRow) -> Result<StoredSecrets> {
    Ok(StoredSecrets {
        connection_id: connection_id.to_string(),
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        sealed: row.try_get("sealed")?,
    })
}
