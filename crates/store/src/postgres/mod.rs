//! The PostgreSQL backend: many worker processes sharing one database.
//!
//! SQLite is safe through its single writer; here several transactions run at once, so every
//! read that decides a write locks its row first (`FOR UPDATE`), the claim skips rows that
//! another worker is busy with (`SKIP LOCKED`), and what has no row to lock yet — the summary
//! a group's first document opens, a summary's number — is serialized by advisory locks.

mod accounts;

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ledgerlink_core::Money;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use crate::{
    credential_keys, like_pattern, open_secrets, reasons, reopens_on_change, reseal_secrets,
    seal_secrets, sum_booked, sum_taken_in, AuditEntry, BookedTotal, BudgetWindow,
    ConnectionRecord, CredentialKeys, DocState, InboxItem, IntakeOutcome, Keyring, Lease,
    LedgerRow, NewDocument, Result, SettingsEdit, Store, StoreError, StoredSecrets, SummaryJoin,
    TokenRecord, Transition, TransitionRecord,
};

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Seals and opens the stored credentials; without it they can be neither read nor
    /// written.
    keyring: Option<Keyring>,
}

type Tx = Transaction<'static, Postgres>;

const LEDGER_COLUMNS: &str =
    "id, connection_id, kind, source_id, number, state, reason, document_json, plan_json, \
     reference, target_id, summary_id, attempts, fencing_token, created_at, updated_at";

/// Advisory locks are keyed `(class, hashtext(key))`; distinct classes keep the two kinds below
/// from ever waiting on each other through a hash collision.
///
/// Held while a document looks for its group's collecting summary and opens one if there is
/// none. Without it two documents of a new group, pooled at once, would each find nothing and
/// open a summary each. (A unique index cannot express "one collecting summary per group": the
/// group is only a prefix of `source_id`, and a violation would need a retry loop.)
const SUMMARY_GROUP_LOCK: i32 = 0x4c4c_0001;
/// Held while a new summary takes the next number of its reference prefix: all groups of a day
/// share the numbering, so the group lock alone would let two groups take the same number.
/// Always taken after the group lock, never before, so the two cannot deadlock.
const SUMMARY_NUMBER_LOCK: i32 = 0x4c4c_0002;

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host/db`) and brings its schema up
    /// to date. It holds no key: everything but the credentials can be used until
    /// [`PostgresStore::with_keyring`] gives it one.
    pub async fn connect(url: &str) -> Result<Self> {
        // Per process: the workers of many processes share the server's connection limit.
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            keyring: None,
        })
    }

    /// The store sealing and opening credentials with `keyring`.
    pub fn with_keyring(self, keyring: Keyring) -> Self {
        PostgresStore {
            keyring: Some(keyring),
            ..self
        }
    }

    /// Every text and JSON value in every table of the store's schema, one a line: what a
    /// dump of the database would show — for canaries that look for secrets in it.
    pub async fn text_dump(&self) -> Result<String> {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') \
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut dump = String::new();
        for (table, column) in columns {
            let values: Vec<Option<String>> =
                sqlx::query_scalar(&format!("SELECT \"{column}\"::text FROM \"{table}\""))
                    .fetch_all(&self.pool)
                    .await?;
            for value in values.into_iter().flatten() {
                dump.push_str(&value);
                dump.push('\n');
            }
        }
        Ok(dump)
    }

    /// A transaction at READ COMMITTED whatever the database's default: the locking below
    /// relies on each statement seeing what was committed before it, in particular after
    /// waiting for a lock.
    async fn write(&self) -> Result<Tx> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await?)
    }

    async fn apply_transition(
        &self,
        lease: Lease,
        to: DocState,
        change: Transition,
        now: DateTime<Utc>,
        keep_lease: bool,
    ) -> Result<()> {
        let (mut tx, from, _) = lock_leased(self.write().await?, lease).await?;
        let (target_id, reason): (Option<String>, Option<String>) = sqlx::query_as(
            "UPDATE documents SET state = $1, reason = $2, plan_json = COALESCE($3, plan_json), \
             reference = COALESCE($4, reference), target_id = COALESCE($5, target_id), \
             next_attempt_at = $6, attempts = attempts + $7, updated_at = $8, \
             lease_owner = CASE WHEN $9 THEN lease_owner END, \
             lease_until = CASE WHEN $9 THEN COALESCE($10, lease_until) END \
             WHERE id = $11 RETURNING target_id, reason",
        )
        .bind(to.as_str())
        .bind(&change.reason)
        .bind(&change.plan_json)
        .bind(&change.reference)
        .bind(&change.target_id)
        .bind(change.due_at(to, now))
        .bind(i64::from(change.counts_as_attempt))
        .bind(now)
        .bind(keep_lease)
        .bind(change.lease_until)
        .bind(lease.document_id)
        .fetch_one(&mut *tx)
        .await?;
        record_transition(
            &mut tx,
            lease.document_id,
            Some(from),
            to,
            change.reason.as_deref(),
            now,
        )
        .await?;
        if to == DocState::Booked {
            book_members(
                &mut tx,
                lease.document_id,
                target_id.as_deref(),
                reason.as_deref(),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Locks the leased document's row for the rest of the transaction and returns its state and
/// connection; [`StoreError::LeaseLost`] (the transaction rolled back) when the lease's token
/// is stale. Nobody can take the lease over (nor a new version fence it out) until the
/// transaction ends.
async fn lock_leased(mut tx: Tx, lease: Lease) -> Result<(Tx, DocState, String)> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT state, connection_id FROM documents WHERE id = $1 AND fencing_token = $2 \
         FOR UPDATE",
    )
    .bind(lease.document_id)
    .bind(lease.token)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((state, connection_id)) = row else {
        tx.rollback().await?;
        return Err(StoreError::LeaseLost {
            document_id: lease.document_id,
            token: lease.token,
        });
    };
    Ok((tx, state.parse()?, connection_id))
}

/// Waits for the advisory lock `(class, hashtext(key))`, which the transaction's end releases.
async fn advisory_lock(tx: &mut Tx, class: i32, key: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(class)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A summary's members are booked in the same transaction as the summary itself.
async fn book_members(
    tx: &mut Tx,
    summary_id: i64,
    target_id: Option<&str>,
    summary_reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let reason = reasons::booked_in_summary(summary_reason);
    let members: Vec<i64> = sqlx::query_scalar(
        "UPDATE documents SET state = 'booked', target_id = $1, reason = $2, \
         next_attempt_at = NULL, updated_at = $3 \
         WHERE summary_id = $4 AND state = 'pooled' RETURNING id",
    )
    .bind(target_id)
    .bind(&reason)
    .bind(now)
    .bind(summary_id)
    .fetch_all(&mut **tx)
    .await?;
    if members.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO document_transitions (document_id, from_state, to_state, reason, at) \
         SELECT member, 'pooled', 'booked', $2, $3 FROM unnest($1::bigint[]) AS member",
    )
    .bind(&members)
    .bind(&reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn record_transition(
    tx: &mut Tx,
    document_id: i64,
    from: Option<DocState>,
    to: DocState,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO document_transitions (document_id, from_state, to_state, reason, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(document_id)
    .bind(from.map(DocState::as_str))
    .bind(to.as_str())
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What intake compares a new version with.
struct KnownDocument {
    id: i64,
    state: DocState,
    attempts: i64,
    source_modified_at: DateTime<Utc>,
    /// The stored body equals the new one, compared as JSONB: `1e-7` and `0.0000001` are the
    /// same number there, whatever a float parser makes of them.
    same_body: bool,
}

/// Locks the row of a known document (waiting for a concurrent intake of it to finish).
async fn lock_known(tx: &mut Tx, doc: &NewDocument) -> Result<Option<KnownDocument>> {
    let row = sqlx::query(
        "SELECT id, state, attempts, source_modified_at, document_json = $4 AS same_body \
         FROM documents WHERE connection_id = $1 AND kind = $2 AND source_id = $3 FOR UPDATE",
    )
    .bind(&doc.connection_id)
    .bind(&doc.kind)
    .bind(&doc.source_id)
    .bind(&doc.document_json)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(KnownDocument {
            id: r.try_get("id")?,
            state: r.try_get::<String, _>("state")?.parse()?,
            attempts: r.try_get("attempts")?,
            source_modified_at: r.try_get("source_modified_at")?,
            same_body: r.try_get("same_body")?,
        })
    })
    .transpose()
}

fn ledger_row(row: &PgRow) -> Result<LedgerRow> {
    Ok(LedgerRow {
        id: row.try_get("id")?,
        connection_id: row.try_get("connection_id")?,
        kind: row.try_get("kind")?,
        source_id: row.try_get("source_id")?,
        number: row.try_get("number")?,
        state: row.try_get::<String, _>("state")?.parse()?,
        reason: row.try_get("reason")?,
        document_json: row.try_get("document_json")?,
        plan_json: row.try_get("plan_json")?,
        reference: row.try_get("reference")?,
        target_id: row.try_get("target_id")?,
        summary_id: row.try_get("summary_id")?,
        attempts: row.try_get("attempts")?,
        fencing_token: row.try_get("fencing_token")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Opens the next summary of the group: kind `summary`, state `collecting`, numbered over all
/// summaries with the same reference prefix (the day's). Called under the group lock.
async fn open_summary(
    tx: &mut Tx,
    connection_id: &str,
    key_prefix: &str,
    summary: &SummaryJoin,
    now: DateTime<Utc>,
) -> Result<(i64, String)> {
    advisory_lock(
        tx,
        SUMMARY_NUMBER_LOCK,
        &format!("{connection_id}\u{1f}{}", summary.reference_prefix),
    )
    .await?;
    let taken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM documents WHERE connection_id = $1 AND kind = 'summary' \
         AND starts_with(number, $2)",
    )
    .bind(connection_id)
    .bind(&summary.reference_prefix)
    .fetch_one(&mut **tx)
    .await?;
    let sequence = taken + 1;
    let summary_reference = format!("{}{sequence}", summary.reference_prefix);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO documents (connection_id, kind, source_id, number, state, document_json, \
         source_modified_at, reference, next_attempt_at, created_at, updated_at) \
         VALUES ($1, 'summary', $2, $3, 'collecting', $4, $5, $3, $6, $5, $5) RETURNING id",
    )
    .bind(connection_id)
    .bind(format!("{key_prefix}{sequence}"))
    .bind(&summary_reference)
    .bind(&summary.group_json)
    .bind(now)
    .bind(summary.closes_at.max(now))
    .fetch_one(&mut **tx)
    .await?;
    record_transition(
        tx,
        id,
        None,
        DocState::Collecting,
        Some(reasons::SUMMARY_OPENED),
        now,
    )
    .await?;
    Ok((id, summary_reference))
}

#[async_trait]
impl Store for PostgresStore {
    async fn upsert_connection(&self, c: &ConnectionRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (id, name, source_kind, target_kind, settings_json, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, source_kind = excluded.source_kind, \
             target_kind = excluded.target_kind, settings_json = CASE \
             WHEN connections.settings_edited_at IS NULL THEN excluded.settings_json \
             ELSE connections.settings_json END",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.source_kind)
        .bind(&c.target_kind)
        .bind(&c.settings_json)
        .bind(Utc::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        let row = sqlx::query(
            "SELECT id, name, source_kind, target_kind, settings_json, settings_revision, \
             settings_edited_by, settings_edited_at, notifications_json, notifications_edited_by, \
             notifications_edited_at FROM connections WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let edited_by: Option<String> = r.try_get("settings_edited_by")?;
            let edited_at: Option<DateTime<Utc>> = r.try_get("settings_edited_at")?;
            Ok(ConnectionRecord {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                source_kind: r.try_get("source_kind")?,
                target_kind: r.try_get("target_kind")?,
                settings_json: r.try_get("settings_json")?,
                settings_revision: r.try_get("settings_revision")?,
                settings_edited: edited_by
                    .zip(edited_at)
                    .map(|(by, at)| SettingsEdit { by, at }),
                notifications: r
                    .try_get::<Option<serde_json::Value>, _>("notifications_json")?
                    .zip(r.try_get::<Option<String>, _>("notifications_edited_by")?)
                    .zip(r.try_get::<Option<DateTime<Utc>>, _>("notifications_edited_at")?)
                    .map(|((json, by), at)| (json, SettingsEdit { by, at })),
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
            "UPDATE connections SET settings_json = $1, settings_edited_by = $2, \
             settings_edited_at = $3, settings_revision = settings_revision + 1 \
             WHERE id = $4 AND ($5::BIGINT IS NULL OR settings_revision = $5) \
             RETURNING settings_revision",
        )
        .bind(settings_json)
        .bind(edited.map(|e| e.by.as_str()))
        .bind(edited.map(|e| e.at))
        .bind(connection_id)
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
            "UPDATE connections SET notifications_json = $1, notifications_edited_by = $2, \
             notifications_edited_at = $3, settings_revision = settings_revision + 1 \
             WHERE id = $4 RETURNING settings_revision",
        )
        .bind(notifications.map(|(json, _)| json))
        .bind(notifications.map(|(_, edit)| edit.by.as_str()))
        .bind(notifications.map(|(_, edit)| edit.at))
        .bind(connection_id)
        .fetch_optional(&self.pool)
        .await?;
        revision.ok_or_else(|| StoreError::NotFound(format!("connection {connection_id}")))
    }

    async fn intake(&self, doc: NewDocument, now: DateTime<Utc>) -> Result<IntakeOutcome> {
        let mut tx = self.write().await?;
        // Looking for the known row first leaves the id sequence alone in the common case of a
        // document read again.
        let known = match lock_known(&mut tx, &doc).await? {
            Some(known) => known,
            None => {
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO documents (connection_id, kind, source_id, number, state, document_json, \
                     source_modified_at, next_attempt_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'received', $5, $6, $7, $7, $7) \
                     ON CONFLICT (connection_id, kind, source_id) DO NOTHING RETURNING id",
                )
                .bind(&doc.connection_id)
                .bind(&doc.kind)
                .bind(&doc.source_id)
                .bind(&doc.number)
                .bind(&doc.document_json)
                .bind(doc.source_modified_at)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = inserted {
                    record_transition(&mut tx, id, None, DocState::Received, None, now).await?;
                    tx.commit().await?;
                    return Ok(IntakeOutcome::New(id));
                }
                // Another intake of the same document (a second webhook) inserted it first;
                // the conflict waited for it to commit, so its row is there to compare with.
                lock_known(&mut tx, &doc).await?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "document {}/{}/{} conflicted on intake but is not in the ledger",
                        doc.connection_id, doc.kind, doc.source_id
                    ))
                })?
            }
        };
        // Sources count time in whole seconds, so a different version with the same time is a
        // change too.
        let newer = doc.source_modified_at > known.source_modified_at
            || (doc.source_modified_at == known.source_modified_at && !known.same_body);
        if !(newer && reopens_on_change(known.state, known.attempts == 0)) {
            // Ends the transaction now rather than when the connection is next used: it holds
            // the row's lock.
            tx.commit().await?;
            return Ok(IntakeOutcome::Unchanged(known.id));
        }
        sqlx::query(
            "UPDATE documents SET state = 'received', reason = NULL, number = $1, document_json = $2, \
             source_modified_at = $3, next_attempt_at = $4, updated_at = $4, plan_json = NULL, \
             fencing_token = fencing_token + 1, lease_owner = NULL, lease_until = NULL WHERE id = $5",
        )
        .bind(&doc.number)
        .bind(&doc.document_json)
        .bind(doc.source_modified_at)
        .bind(now)
        .bind(known.id)
        .execute(&mut *tx)
        .await?;
        record_transition(
            &mut tx,
            known.id,
            Some(known.state),
            DocState::Received,
            Some(reasons::CHANGED_IN_SOURCE),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(IntakeOutcome::Updated(known.id))
    }

    async fn claim_due_except(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        paused: &[String],
    ) -> Result<Vec<LedgerRow>> {
        // The subquery locks the rows it picks and passes over those locked by anyone else (a
        // concurrent claim, transition or intake), so two workers never claim the same row and
        // neither waits for the other.
        let rows = sqlx::query(&format!(
            "UPDATE documents SET lease_owner = $1, lease_until = $2, fencing_token = fencing_token + 1 \
             WHERE id IN (SELECT id FROM documents \
                 WHERE state IN ('received', 'planned', 'posting', 'uncertain', 'collecting') \
                 AND next_attempt_at IS NOT NULL AND next_attempt_at <= $3 \
                 AND (lease_until IS NULL OR lease_until < $3) \
                 AND NOT (connection_id = ANY($5)) \
                 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING {LEDGER_COLUMNS}"
        ))
        .bind(worker)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .bind(paused)
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
        let (mut tx, from, connection_id) = lock_leased(self.write().await?, lease).await?;
        advisory_lock(
            &mut tx,
            SUMMARY_GROUP_LOCK,
            &format!("{connection_id}\u{1f}{}", summary.group_key),
        )
        .await?;
        let key_prefix = format!("{}#", summary.group_key);
        // The row lock keeps the summary collecting until this document has joined: its worker
        // moving it on waits for us, or we wait for it and then no longer find it collecting
        // (and open the next one). Under the group lock at most one summary of the group is
        // collecting, so the LIMIT never hides another.
        let open: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, number FROM documents WHERE connection_id = $1 AND kind = 'summary' \
             AND state = 'collecting' AND starts_with(source_id, $2) ORDER BY id LIMIT 1 FOR UPDATE",
        )
        .bind(&connection_id)
        .bind(&key_prefix)
        .fetch_optional(&mut *tx)
        .await?;
        let (summary_id, summary_reference) = match open {
            Some(open) => open,
            None => open_summary(&mut tx, &connection_id, &key_prefix, &summary, now).await?,
        };
        let reason = reasons::pooled(&summary_reference);
        sqlx::query(
            "UPDATE documents SET state = 'pooled', reason = $1, plan_json = $2, reference = $3, \
             summary_id = $4, next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(&reason)
        .bind(&plan_json)
        .bind(reference)
        .bind(summary_id)
        .bind(now)
        .bind(lease.document_id)
        .execute(&mut *tx)
        .await?;
        record_transition(
            &mut tx,
            lease.document_id,
            Some(from),
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
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE summary_id = $1 ORDER BY id"
        ))
        .bind(summary_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ledger_row).collect()
    }

    async fn retry_held(&self, document_id: i64, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE documents SET state = 'received', reason = NULL, next_attempt_at = $1, \
             updated_at = $1 WHERE id = $2 AND state = 'held'",
        )
        .bind(now)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("held document {document_id}")));
        }
        record_transition(
            &mut tx,
            document_id,
            Some(DocState::Held),
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
            "UPDATE documents SET state = 'skipped', reason = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'held'",
        )
        .bind(reason)
        .bind(now)
        .bind(document_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("held document {document_id}")));
        }
        record_transition(
            &mut tx,
            document_id,
            Some(DocState::Held),
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
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE id = $1"
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
            "SELECT {LEDGER_COLUMNS} FROM documents \
             WHERE connection_id = $1 AND kind = $2 AND source_id = $3"
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
            "SELECT {LEDGER_COLUMNS} FROM documents \
             WHERE connection_id = $1 AND ($2::text IS NULL OR state = $2) ORDER BY id"
        ))
        .bind(connection_id)
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
        let rows = sqlx::query(&format!(
            "SELECT {LEDGER_COLUMNS} FROM documents WHERE connection_id = $1 \
             AND ($2::text IS NULL OR state = $2) \
             AND ($3::text IS NULL OR reference LIKE $3 OR number LIKE $3 OR source_id LIKE $3) \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(connection_id)
        .bind(state.map(DocState::as_str))
        .bind(search.map(like_pattern))
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
            "SELECT to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), t.to_state, count(*) \
             FROM document_transitions t JOIN documents d ON d.id = t.document_id \
             WHERE d.connection_id = $1 AND t.at >= $2 AND t.to_state IN ('booked', 'held') \
             GROUP BY 1, 2",
        )
        .bind(connection_id)
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        crate::fold_outcomes(rows)
    }

    async fn transitions(&self, document_id: i64) -> Result<Vec<TransitionRecord>> {
        let rows = sqlx::query(
            "SELECT from_state, to_state, reason, at FROM document_transitions \
             WHERE document_id = $1 ORDER BY id",
        )
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
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    async fn state_counts(&self, connection_id: &str) -> Result<Vec<(DocState, i64)>> {
        // Byte order, as in SQLite, whatever the database's collation.
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM documents WHERE connection_id = $1 \
             GROUP BY state ORDER BY state COLLATE \"C\"",
        )
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
        // Sales only: a threshold once passed stays passed whatever is refunded later. Summed
        // here rather than as NUMERIC so that every amount passes `Money`'s own parser.
        let amounts: Vec<String> = sqlx::query_scalar(
            "SELECT plan_json->>'distance_sales' FROM documents \
             WHERE connection_id = $1 AND id <> $2 AND kind NOT IN ('refund', 'summary') \
               AND state IN ('posting', 'uncertain', 'booked', 'pooled') \
               AND left(plan_json->>'entry_date', 4) = $3 \
               AND plan_json->>'distance_sales' NOT IN ('0', '0.00')",
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
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM documents \
             WHERE state IN ('received', 'planned', 'posting', 'uncertain')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn booked_totals(
        &self,
        connection_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BookedTotal>> {
        // Summed in Rust, as `distance_sales`, so that every amount passes `Money`'s parser.
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT d.kind, d.plan_json->>'currency', d.plan_json->>'total' \
             FROM document_transitions t JOIN documents d ON d.id = t.document_id \
             WHERE d.connection_id = $1 AND d.kind <> 'summary' AND t.to_state = 'booked' \
               AND t.at >= $2 AND t.at < $3",
        )
        .bind(connection_id)
        .bind(from)
        .bind(to)
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
            "SELECT kind, document_json->>'currency', document_json->>'total' FROM documents \
             WHERE connection_id = $1 AND kind <> 'summary' AND created_at >= $2 AND created_at < $3",
        )
        .bind(connection_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        sum_taken_in(rows)
    }

    async fn cursor(&self, connection_id: &str, name: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE connection_id = $1 AND name = $2")
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
            "INSERT INTO cursors (connection_id, name, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (connection_id, name) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at",
        )
        .bind(connection_id)
        .bind(name)
        .bind(value)
        .bind(now)
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
                "INSERT INTO webhook_deliveries (connection_id, delivery_key, received_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(connection_id)
            .bind(key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO inbox (connection_id, topic, payload, received_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(connection_id)
        .bind(topic)
        .bind(payload)
        .bind(now)
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
        // SKIP LOCKED: processes claiming at once take different deliveries.
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "UPDATE inbox SET lease_until = $1 WHERE id IN (SELECT id FROM inbox WHERE next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until < $2) ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, connection_id, topic, payload, attempts",
        )
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut items: Vec<InboxItem> = rows
            .into_iter()
            .map(|(id, connection_id, topic, payload, attempts)| InboxItem {
                id,
                connection_id,
                topic,
                payload,
                attempts,
            })
            .collect();
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn delivery_done(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM inbox WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delivery_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, lease_until = NULL WHERE id = $3",
        )
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit(&self, e: AuditEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_log (connection_id, system, method, url, request_body, status, \
             response_body, error, duration_ms, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&e.connection_id)
        .bind(&e.system)
        .bind(&e.method)
        .bind(&e.url)
        .bind(&e.request_body)
        .bind(e.status.map(i32::from))
        .bind(&e.response_body)
        .bind(&e.error)
        .bind(e.duration_ms)
        .bind(e.at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_entries(&self, connection_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT connection_id, system, method, url, request_body, status, response_body, \
             error, duration_ms, at FROM audit_log WHERE connection_id = $1 ORDER BY id DESC LIMIT $2",
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
             response_body, error, duration_ms, at FROM audit_log WHERE connection_id = $1 \
             AND (url LIKE $2 ESCAPE '\\' OR request_body LIKE $2 ESCAPE '\\' OR response_body LIKE $2 ESCAPE '\\') \
             ORDER BY id DESC LIMIT $3) AS newest ORDER BY id",
        )
        .bind(connection_id)
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
            "SELECT COUNT(*) FROM audit_log \
             WHERE connection_id = $1 AND system = $2 AND at >= $3 AND at < $4",
        )
        .bind(connection_id)
        .bind(system)
        .bind(from)
        .bind(to)
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
            "INSERT INTO master_data (connection_id, scope, entity, key, value_json, fetched_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (connection_id, scope, entity, key) \
             DO UPDATE SET value_json = excluded.value_json, fetched_at = excluded.fetched_at",
        )
        .bind(connection_id)
        .bind(scope)
        .bind(entity)
        .bind(key)
        .bind(value)
        .bind(now)
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
        Ok(sqlx::query_scalar(
            "SELECT value_json FROM master_data \
             WHERE connection_id = $1 AND scope = $2 AND entity = $3 AND key = $4",
        )
        .bind(connection_id)
        .bind(scope)
        .bind(entity)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn cache_count(&self, connection_id: &str, scope: &str, entity: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM master_data WHERE connection_id = $1 AND scope = $2 AND entity = $3",
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
        Ok(sqlx::query_scalar(
            "SELECT value_json FROM master_data WHERE connection_id = $1 AND scope = $2 \
             AND entity = $3 ORDER BY key",
        )
        .bind(connection_id)
        .bind(scope)
        .bind(entity)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn token(&self, connection_id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(
            "SELECT connection_id, access_token, refresh_token, sealed, expires_at, issued_at \
             FROM oauth_tokens WHERE connection_id = $1",
        )
        .bind(connection_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let (access_token, refresh_token) =
                open_secrets(self.keyring.as_ref(), &stored_secrets(&r)?)?;
            Ok(TokenRecord {
                access_token,
                refresh_token,
                expires_at: r.try_get("expires_at")?,
                issued_at: r.try_get("issued_at")?,
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
        credential_keys(rows.iter().map(stored_secrets).collect::<Result<_>>()?)
    }

    async fn reseal_credentials(&self) -> Result<usize> {
        let mut tx = self.write().await?;
        // Locked, so that a refresh committing meanwhile waits and is not overwritten.
        let rows = sqlx::query(
            "SELECT connection_id, access_token, refresh_token, sealed FROM oauth_tokens \
             ORDER BY connection_id FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let stored = stored_secrets(row)?;
            let connection_id = stored.connection_id.clone();
            let (access_token, refresh_token) = reseal_secrets(self.keyring.as_ref(), stored)?;
            sqlx::query(
                "UPDATE oauth_tokens SET access_token = $1, refresh_token = $2, sealed = TRUE \
                 WHERE connection_id = $3",
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
            "INSERT INTO locks (name, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE locks.holder = excluded.holder OR locks.until < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn unlock(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM locks WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_call(&self, budget: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let mut tx = self.write().await?;
        // The budget's rows are locked for the decision, so two processes cannot both take
        // the last call.
        let windows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT remaining, resets_at FROM rate_budgets WHERE budget = $1 AND resets_at > $2 FOR UPDATE",
        )
        .bind(budget)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let exhausted = windows
            .iter()
            .filter(|(remaining, _)| *remaining <= 0)
            .map(|(_, resets_at)| *resets_at)
            .max();
        if exhausted.is_some() {
            tx.rollback().await?;
            return Ok(exhausted);
        }
        sqlx::query("UPDATE rate_budgets SET remaining = remaining - 1 WHERE budget = $1 AND resets_at > $2")
            .bind(budget)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(None)
    }

    async fn set_budget(&self, budget: &str, windows: &[BudgetWindow]) -> Result<()> {
        let mut tx = self.write().await?;
        for window in windows {
            sqlx::query(
                "INSERT INTO rate_budgets (budget, name, remaining, resets_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (budget, name) DO UPDATE SET \
                 remaining = CASE WHEN rate_budgets.resets_at = excluded.resets_at \
                     THEN LEAST(rate_budgets.remaining, excluded.remaining) ELSE excluded.remaining END, \
                 resets_at = excluded.resets_at",
            )
            .bind(budget)
            .bind(&window.name)
            .bind(window.remaining)
            .bind(window.resets_at)
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
             VALUES ($1, $2, $3, TRUE, $4, $5) ON CONFLICT (connection_id) DO UPDATE SET \
             access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
             sealed = excluded.sealed, expires_at = excluded.expires_at, issued_at = excluded.issued_at",
        )
        .bind(connection_id)
        .bind(access_token)
        .bind(refresh_token)
        .bind(token.expires_at)
        .bind(token.issued_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn stored_secrets(row: &PgRow) -> Result<StoredSecrets> {
    Ok(StoredSecrets {
        connection_id: row.try_get("connection_id")?,
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        sealed: row.try_get("sealed")?,
    })
}

fn audit_entry(r: &PgRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        connection_id: r.try_get("connection_id")?,
        system: r.try_get("system")?,
        method: r.try_get("method")?,
        url: r.try_get("url")?,
        request_body: r.try_get("request_body")?,
        status: r
            .try_get::<Option<i32>, _>("status")?
            .and_then(|s| u16::try_from(s).ok()),
        response_body: r.try_get("response_body")?,
        error: r.try_get("error")?,
        duration_ms: r.try_get("duration_ms")?,
        at: r.try_get("at")?,
    })
}
