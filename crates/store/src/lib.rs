//! Where ledgerlink keeps its state: the sync ledger (one row per document, one state at a
//! time, every transition recorded), cursors, webhook deliveries, the audit log, master data
//! cached from targets and OAuth tokens.
//!
//! Credentials (OAuth tokens, sessions) are sealed with the store's [`Keyring`] on write and
//! opened on read ([`crypto`]); a store without a keyring refuses both rather than keep them
//! in plaintext.
//!
//! The [`Store`] trait is what the engine sees; each backend lives in its own module and owns
//! its migrations: SQLite, the embedded default for one process, and PostgreSQL, for many
//! worker processes sharing one database.

pub mod accounts;
pub mod audit;
pub mod crypto;
pub mod postgres;
pub mod sqlite;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

pub use accounts::{
    AccountStore, ApiToken, Invitation, PanelConnection, Session, TargetUser, User,
};
pub use crypto::Keyring;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A worker tried to write for a document whose lease it no longer holds.
    #[error("lease on document {document_id} was lost (fencing token {token} is stale)")]
    LeaseLost { document_id: i64, token: i64 },
    #[error("{0} not found")]
    NotFound(String),
    /// Changed by someone else since it was read (its revision moved on).
    #[error("{0} was changed meanwhile")]
    Changed(String),
    /// Credentials are sealed with a key, and the store was opened without one.
    #[error(
        "no key to encrypt or decrypt credentials with: set LEDGERLINK_KEY or `key_file` \
         (docs/settings.md); `ledgerlink key generate` makes a key"
    )]
    NoKey,
    /// A stored credential cannot be used as it is; `problem` says why, never what it holds.
    #[error("the stored credentials of connection `{connection}` {problem}")]
    Credential { connection: String, problem: String },
}

impl StoreError {
    /// Whether the error is about credentials (a key to set or a connection to re-authorise)
    /// rather than the database.
    pub fn is_credential(&self) -> bool {
        matches!(self, StoreError::NoKey | StoreError::Credential { .. })
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A document's state in the sync ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocState {
    /// Taken in (or changed in the source); the rules have not looked at it yet.
    Received,
    /// The rules said "not yet" (e.g. status below the trigger); re-evaluated on change.
    Waiting,
    /// A plan and reference are stored; nothing sent yet.
    Planned,
    /// The booking call is (or may be) in flight. Committed before the call.
    Posting,
    /// The call's outcome is unknown; the target must be searched before any new post.
    Uncertain,
    /// Booked in the target; `target_id` says where.
    Booked,
    /// Cannot be booked as it is; `reason` says why and what to do.
    Held,
    /// Will never be booked; `reason` says why.
    Skipped,
    /// A summary entry still taking in the documents of its day; due when the day closes.
    Collecting,
    /// Planned into a summary entry (`summary_id`); booked when the summary is.
    Pooled,
}

impl DocState {
    pub const ALL: [DocState; 10] = [
        DocState::Received,
        DocState::Waiting,
        DocState::Planned,
        DocState::Posting,
        DocState::Uncertain,
        DocState::Booked,
        DocState::Held,
        DocState::Skipped,
        DocState::Collecting,
        DocState::Pooled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocState::Received => "received",
            DocState::Waiting => "waiting",
            DocState::Planned => "planned",
            DocState::Posting => "posting",
            DocState::Uncertain => "uncertain",
            DocState::Booked => "booked",
            DocState::Held => "held",
            DocState::Skipped => "skipped",
            DocState::Collecting => "collecting",
            DocState::Pooled => "pooled",
        }
    }

    /// States in which the engine still has work to do.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            DocState::Received | DocState::Planned | DocState::Posting | DocState::Uncertain
        )
    }
}

impl FromStr for DocState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        DocState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown document state `{s}`")))
    }
}

impl fmt::Display for DocState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub id: String,
    pub name: String,
    pub source_kind: String,
    pub target_kind: String,
    /// The booking settings in force: the settings file's, or the panel's once a person
    /// changed them there ([`ConnectionRecord::settings_edited`]).
    pub settings_json: serde_json::Value,
    /// Raised by every change made in the panel, so that each process takes it up.
    pub settings_revision: i64,
    /// Who changed the booking settings in the panel, and when; `None` while the settings
    /// file's are in force. Writing the file's settings leaves a panel's change in place.
    pub settings_edited: Option<SettingsEdit>,
    /// Who hears of what, as set in the panel (its JSON, who and when); `None` while the
    /// settings file's `[connections.notifications]` apply.
    pub notifications: Option<(serde_json::Value, SettingsEdit)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsEdit {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A document as taken in from a source.
#[derive(Clone, Debug)]
pub struct NewDocument {
    pub connection_id: String,
    pub kind: String,
    pub source_id: String,
    pub number: String,
    pub source_modified_at: DateTime<Utc>,
    pub document_json: serde_json::Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// First time seen.
    New(i64),
    /// Known and still open to change: stored anew and queued for the rules.
    Updated(i64),
    /// Known, and either unchanged or past the point where a change matters (booked, ...).
    Unchanged(i64),
}

impl IntakeOutcome {
    pub fn document_id(self) -> i64 {
        match self {
            IntakeOutcome::New(id) | IntakeOutcome::Updated(id) | IntakeOutcome::Unchanged(id) => {
                id
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LedgerRow {
    pub id: i64,
    pub connection_id: String,
    pub kind: String,
    pub source_id: String,
    pub number: String,
    pub state: DocState,
    pub reason: Option<String>,
    pub document_json: serde_json::Value,
    pub plan_json: Option<serde_json::Value>,
    pub reference: Option<String>,
    pub target_id: Option<String>,
    /// The summary entry this document is booked in, if any.
    pub summary_id: Option<i64>,
    pub attempts: i64,
    pub fencing_token: i64,
    /// When the ledger first took the document in.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Proof that a worker holds a document: writes carry the token and fail once it is stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub document_id: i64,
    pub token: i64,
}

impl LedgerRow {
    pub fn lease(&self) -> Lease {
        Lease {
            document_id: self.id,
            token: self.fencing_token,
        }
    }
}

/// A state change and what comes with it.
#[derive(Clone, Debug, Default)]
pub struct Transition {
    pub reason: Option<String>,
    pub plan_json: Option<serde_json::Value>,
    pub reference: Option<String>,
    pub target_id: Option<String>,
    /// When the engine should look at the document again; `None` = only on change.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// This transition is (the start of) a booking attempt.
    pub counts_as_attempt: bool,
    /// With [`Store::transition_keep_lease`]: renew the lease until then (before a call that
    /// must finish while the lease is held).
    pub lease_until: Option<DateTime<Utc>>,
}

/// The open summary a planned document joins.
#[derive(Clone, Debug)]
pub struct SummaryJoin {
    /// Documents with the same key share a summary entry.
    pub group_key: String,
    /// What the summary's row keeps as its document: the group it books.
    pub group_json: serde_json::Value,
    /// The summary's reference is this prefix and the next free sequence number.
    pub reference_prefix: String,
    /// When the summary is due to be booked.
    pub closes_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransitionRecord {
    pub from_state: Option<DocState>,
    pub to_state: DocState,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub connection_id: String,
    pub system: String,
    pub method: String,
    pub url: String,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: DateTime<Utc>,
}

/// How many documents became booked and held on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DailyOutcome {
    pub day: chrono::NaiveDate,
    pub booked: i64,
    pub held: i64,
}

/// What was booked in a period, per kind of document and currency: how many documents and the
/// sum of their plans' totals (refunds count negative).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BookedTotal {
    pub kind: String,
    pub currency: String,
    pub documents: i64,
    pub total: ledgerlink_core::Money,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// A kept webhook delivery, as the source sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxItem {
    pub id: i64,
    pub connection_id: String,
    pub topic: String,
    pub payload: String,
    pub attempts: i64,
}

/// Which keys the stored credentials are sealed with; found without a key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialKeys {
    /// Per key id, the connections whose credentials it sealed.
    pub sealed_with: BTreeMap<String, Vec<String>>,
    /// Connections whose credentials an older ledgerlink stored unsealed.
    pub unsealed: Vec<String>,
}

/// One window of a target's API budget (e.g. per minute, per day), as the target reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetWindow {
    pub name: String,
    pub remaining: i64,
    pub resets_at: DateTime<Utc>,
}

/// Also an [`AccountStore`]: the panel's accounts live in the same ledger.
#[async_trait]
pub trait Store: AccountStore + Send + Sync + 'static {
    /// Records a connection from the settings file. Its booking settings replace the stored
    /// ones unless a person changed those in the panel.
    async fn upsert_connection(&self, connection: &ConnectionRecord) -> Result<()>;
    async fn connection(&self, id: &str) -> Result<Option<ConnectionRecord>>;
    /// Sets a connection's booking settings from the panel (`edited` says who and when), or,
    /// with `edited = None`, gives it back the settings file's; raises the revision either way
    /// and returns it. With `read_at`, only if the revision is still that one
    /// ([`StoreError::Changed`] otherwise): a change made on a page shown before another
    /// person's save does not silently undo it.
    async fn save_booking_settings(
        &self,
        connection_id: &str,
        settings_json: &serde_json::Value,
        edited: Option<&SettingsEdit>,
        read_at: Option<i64>,
    ) -> Result<i64>;
    /// Sets who hears of what for a connection from the panel, or with `None` gives it back
    /// the settings file's; raises the settings revision and returns it.
    async fn save_notifications(
        &self,
        connection_id: &str,
        notifications: Option<(&serde_json::Value, &SettingsEdit)>,
    ) -> Result<i64>;

    /// Takes a document into the ledger; at most one row per (connection, kind, source id).
    async fn intake(&self, document: NewDocument, now: DateTime<Utc>) -> Result<IntakeOutcome>;

    /// Leases up to `limit` documents that are due, bumping each one's fencing token.
    async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LedgerRow>> {
        self.claim_due_except(worker, now, lease_until, limit, &[])
            .await
    }

    /// [`Store::claim_due`], passing over the documents of the `paused` connections (whose
    /// target's API budget is used up for the minute): their backlog waits untouched while
    /// the other connections' documents are booked.
    async fn claim_due_except(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        paused: &[String],
    ) -> Result<Vec<LedgerRow>>;

    /// Moves a leased document to `to`, recording the transition; fails with
    /// [`StoreError::LeaseLost`] when the lease's token is stale. Releases the lease.
    async fn transition(
        &self,
        lease: Lease,
        to: DocState,
        change: Transition,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Like [`Store::transition`] but keeps the lease (e.g. `posting` before the call).
    async fn transition_keep_lease(
        &self,
        lease: Lease,
        to: DocState,
        change: Transition,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Moves a leased document the rules just planned into the summary collecting its group — opening a
    /// new one (kind `summary`, state `collecting`, due at `closes_at`) when none is still
    /// collecting — in one transaction. Returns the summary's id and reference. A summary
    /// stops collecting when its worker moves it on, so no member joins after its plan is made.
    /// Booking the summary books its members in the same transaction.
    async fn pool(
        &self,
        lease: Lease,
        plan_json: serde_json::Value,
        reference: &str,
        summary: SummaryJoin,
        now: DateTime<Utc>,
    ) -> Result<(i64, String)>;

    /// The documents a summary books, in ledger order (by id): the same list every time once
    /// the summary stopped collecting, so that its plan made again comes out the same.
    async fn summary_members(&self, summary_id: i64) -> Result<Vec<LedgerRow>>;

    /// A person asks to try a held document again.
    async fn retry_held(&self, document_id: i64, now: DateTime<Utc>) -> Result<()>;
    /// A person decides a held document is not to be booked: skipped, with `reason` (a newer
    /// version from the source re-opens it, as any skipped document).
    async fn skip_held(&self, document_id: i64, reason: &str, now: DateTime<Utc>) -> Result<()>;

    async fn document(&self, id: i64) -> Result<Option<LedgerRow>>;
    async fn document_by_source(
        &self,
        connection_id: &str,
        kind: &str,
        source_id: &str,
    ) -> Result<Option<LedgerRow>>;
    async fn documents(
        &self,
        connection_id: &str,
        state: Option<DocState>,
    ) -> Result<Vec<LedgerRow>>;
    /// The newest `limit` documents of a connection, in a state (or any), whose reference,
    /// number or source id contains `search` (or any): a page of the transfer log.
    async fn recent_documents(
        &self,
        connection_id: &str,
        state: Option<DocState>,
        search: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LedgerRow>>;
    async fn transitions(&self, document_id: i64) -> Result<Vec<TransitionRecord>>;
    /// Per UTC day since `from`: how many of the connection's documents became booked and
    /// how many became held that day (the dashboard's chart).
    async fn daily_outcomes(
        &self,
        connection_id: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<DailyOutcome>>;
    /// Number of documents per state for a connection.
    async fn state_counts(&self, connection_id: &str) -> Result<Vec<(DocState, i64)>>;

    /// The distance sales (for the OSS threshold) of the documents sent or being sent to the
    /// target with an entry date in `year`, other than `except_document`.
    async fn distance_sales(
        &self,
        connection_id: &str,
        year: i32,
        except_document: i64,
    ) -> Result<ledgerlink_core::Money>;
    /// Documents that still need the engine (open states), over all connections.
    async fn open_count(&self) -> Result<i64>;

    /// The documents booked in `[from, to)`, by when they became `booked`, per kind and
    /// currency. A summary entry is not counted itself: its members are, with their own plans.
    async fn booked_totals(
        &self,
        connection_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BookedTotal>>;

    /// What the shop sold: the documents taken in during `[from, to)` with the shop's own
    /// totals, per kind and currency (documents that could not be read are left out).
    async fn taken_in_totals(
        &self,
        connection_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<BookedTotal>>;

    async fn cursor(&self, connection_id: &str, name: &str) -> Result<Option<String>>;
    async fn set_cursor(
        &self,
        connection_id: &str,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Keeps a verified webhook delivery verbatim, in one transaction with its dedupe record
    /// (`delivery_key`, when the source gives one): committed before the shop is answered, so
    /// nothing acknowledged can be lost. `false` when the delivery was seen before.
    async fn enqueue_delivery(
        &self,
        connection_id: &str,
        delivery_key: Option<&str>,
        topic: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Leases up to `limit` kept deliveries that are due, oldest first.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<InboxItem>>;
    /// The delivery is in the ledger: it is let go (its dedupe record stays).
    async fn delivery_done(&self, id: i64) -> Result<()>;
    /// Taking the delivery in failed (e.g. the shop did not answer a look-up): tried again at
    /// `retry_at`.
    async fn delivery_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()>;

    async fn audit(&self, entry: AuditEntry) -> Result<()>;
    async fn audit_entries(&self, connection_id: &str, limit: i64) -> Result<Vec<AuditEntry>>;
    /// The newest exchanges whose address or bodies mention `text` (a document's reference),
    /// oldest first, at most `limit`.
    async fn audit_entries_mentioning(
        &self,
        connection_id: &str,
        text: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>>;
    /// Requests to `system` (e.g. `exact`) the audit log recorded in `[from, to)`: the calls
    /// a connection used of that system's budget.
    async fn audit_count(
        &self,
        connection_id: &str,
        system: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64>;

    async fn cache_put(
        &self,
        connection_id: &str,
        scope: &str,
        entity: &str,
        key: &str,
        value: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn cache_get(
        &self,
        connection_id: &str,
        scope: &str,
        entity: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>>;
    async fn cache_count(&self, connection_id: &str, scope: &str, entity: &str) -> Result<i64>;
    /// Every cached record of `entity`, in key order.
    async fn cache_list(
        &self,
        connection_id: &str,
        scope: &str,
        entity: &str,
    ) -> Result<Vec<serde_json::Value>>;

    /// Takes the lock `name` for `holder` until `until` (or renews it); `false` while another
    /// holder has it and it has not run out. Every process on this database respects it.
    async fn try_lock(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Releases the lock if `holder` still has it.
    async fn unlock(&self, name: &str, holder: &str) -> Result<()>;

    /// Takes one call from a target company's budget, shared by every process: `None` to go
    /// ahead, or when the window that ran out resets. Windows already reset do not count
    /// (their new size is known from the next answer).
    async fn take_call(&self, budget: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>>;
    /// Records the budget as the target reported it. Within the same window the smaller count
    /// wins: other processes' calls may have been taken since the target counted.
    async fn set_budget(&self, budget: &str, windows: &[BudgetWindow]) -> Result<()>;

    /// The connection's token, opened with the store's keyring.
    async fn token(&self, connection_id: &str) -> Result<Option<TokenRecord>>;
    /// Stores the connection's token sealed with the keyring's current key.
    async fn save_token(&self, connection_id: &str, token: &TokenRecord) -> Result<()>;
    /// Which keys the stored credentials are sealed with, and which are not sealed yet.
    async fn credential_keys(&self) -> Result<CredentialKeys>;
    /// Seals every stored credential again with the keyring's current key — those an older
    /// ledgerlink stored unsealed too — in one transaction, and returns for how many
    /// connections. Changes nothing when any of them does not open.
    async fn reseal_credentials(&self) -> Result<usize>;
}

impl Transition {
    /// When the document is due again: an open state always is at some point, so that a crash
    /// never strands it; the lease keeps other workers away until then.
    pub(crate) fn due_at(&self, to: DocState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_attempt_at.or(to.is_open().then_some(now))
    }
}

/// Whether a newer version from the source re-opens a known document in `state`. Only before
/// anything was sent: a booked (or posting) document is never touched again, a held one may
/// have been fixed.
pub(crate) fn reopens_on_change(state: DocState, never_sent: bool) -> bool {
    match state {
        DocState::Received | DocState::Waiting | DocState::Held => true,
        // Skipped was never sent: a failed payment retried, a cancelled order paid late or a
        // trashed one restored must still be booked.
        DocState::Planned | DocState::Skipped => never_sent,
        // Pooled is committed to its summary, like a document being posted.
        DocState::Posting
        | DocState::Uncertain
        | DocState::Booked
        | DocState::Pooled
        | DocState::Collecting => false,
    }
}

/// Sums the (kind, currency, total) of booked plans per kind and currency, exactly: amounts
/// pass `Money`'s own parser on every backend.
pub(crate) fn sum_booked(
    rows: Vec<(String, Option<String>, Option<String>)>,
) -> Result<Vec<BookedTotal>> {
    let mut sums: std::collections::BTreeMap<(String, String), (i64, ledgerlink_core::Money)> =
        std::collections::BTreeMap::new();
    for (kind, currency, total) in rows {
        let (Some(currency), Some(total)) = (currency, total) else {
            return Err(StoreError::Corrupt(format!(
                "a booked {kind} has no plan with a currency and total"
            )));
        };
        let total: ledgerlink_core::Money = total
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("plan total `{total}`: {e}")))?;
        let sum = sums.entry((kind, currency)).or_default();
        sum.0 += 1;
        sum.1 += total;
    }
    Ok(sums
        .into_iter()
        .map(|((kind, currency), (documents, total))| BookedTotal {
            kind,
            currency,
            documents,
            total,
        })
        .collect())
}

/// Why a conditional write of a connection's settings touched nothing: the connection is not
/// there, or another write moved its revision on.
pub(crate) async fn missing_or_changed(store: &dyn Store, connection_id: &str) -> StoreError {
    match store.connection(connection_id).await {
        Ok(Some(_)) => StoreError::Changed(format!("the settings of connection {connection_id}")),
        Ok(None) => StoreError::NotFound(format!("connection {connection_id}")),
        Err(error) => error,
    }
}

/// [`sum_booked`] for documents as the shop gave them: one without a currency and total (an
/// unreadable delivery) is not a sale and is left out.
pub(crate) fn sum_taken_in(
    rows: Vec<(String, Option<String>, Option<String>)>,
) -> Result<Vec<BookedTotal>> {
    sum_booked(
        rows.into_iter()
            .filter(|(_, currency, total)| currency.is_some() && total.is_some())
            .collect(),
    )
}

/// The reasons the store itself records, worded the same on every backend.
pub(crate) mod reasons {
    pub const CHANGED_IN_SOURCE: &str = "changed in the source";
    pub const RETRY_ASKED: &str = "retry asked by a person";
    pub const SUMMARY_OPENED: &str = "collecting the documents of its day";

    pub fn pooled(summary_reference: &str) -> String {
        format!("planned into summary {summary_reference}, which is booked when its day closes")
    }

    pub fn booked_in_summary(summary_reason: Option<&str>) -> String {
        format!("in a summary entry: {}", summary_reason.unwrap_or_default())
    }
}

/// The fields the token's secrets are sealed for.
const ACCESS_TOKEN: &str = "oauth_tokens.access_token";
const REFRESH_TOKEN: &str = "oauth_tokens.refresh_token";

/// A token row's secrets as stored: sealed, or (an older ledgerlink's) not.
pub(crate) struct StoredSecrets {
    pub connection_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub sealed: bool,
}

/// A token's secrets sealed for the connection with the current key.
pub(crate) fn seal_secrets(
    keyring: Option<&Keyring>,
    connection_id: &str,
    access_token: &str,
    refresh_token: &str,
) -> Result<(String, String)> {
    let keyring = keyring.ok_or(StoreError::NoKey)?;
    Ok((
        keyring.seal(access_token, connection_id, ACCESS_TOKEN),
        keyring.seal(refresh_token, connection_id, REFRESH_TOKEN),
    ))
}

/// The secrets of a stored row, opened. An unsealed row is refused: only the explicit
/// resealing (at start-up or by `key rotate`) takes over what an older ledgerlink stored, so
/// a plaintext row written into the database later is never used.
pub(crate) fn open_secrets(
    keyring: Option<&Keyring>,
    stored: &StoredSecrets,
) -> Result<(String, String)> {
    if !stored.sealed {
        return Err(StoreError::Credential {
            connection: stored.connection_id.clone(),
            problem: "are not encrypted (an older ledgerlink stored them): run `ledgerlink key \
                      rotate` to encrypt them"
                .into(),
        });
    }
    let keyring = keyring.ok_or(StoreError::NoKey)?;
    let open = |value: &str, field: &str| {
        keyring
            .open(value, &stored.connection_id, field)
            .map_err(|error| StoreError::Credential {
                connection: stored.connection_id.clone(),
                problem: match error {
                    crypto::SealError::UnknownKey(id) => format!(
                        "are encrypted with key `{id}`, which the keyring lacks: add that key \
                         (after the current one) to LEDGERLINK_KEY or the key file"
                    ),
                    other => format!(
                        "cannot be decrypted ({field} {other}): authorise the connection again"
                    ),
                },
            })
    };
    Ok((
        open(&stored.access_token, ACCESS_TOKEN)?,
        open(&stored.refresh_token, REFRESH_TOKEN)?,
    ))
}

/// The row's secrets sealed again with the current key; an unsealed row is taken as it is.
pub(crate) fn reseal_secrets(
    keyring: Option<&Keyring>,
    stored: StoredSecrets,
) -> Result<(String, String)> {
    let (access_token, refresh_token) = if stored.sealed {
        open_secrets(keyring, &stored)?
    } else {
        (stored.access_token, stored.refresh_token)
    };
    seal_secrets(
        keyring,
        &stored.connection_id,
        &access_token,
        &refresh_token,
    )
}

/// Which key sealed each stored row.
pub(crate) fn credential_keys(rows: Vec<StoredSecrets>) -> Result<CredentialKeys> {
    let mut keys = CredentialKeys::default();
    for row in rows {
        if !row.sealed {
            keys.unsealed.push(row.connection_id);
            continue;
        }
        let ids: std::collections::BTreeSet<&str> = [&row.access_token, &row.refresh_token]
            .into_iter()
            .map(|value| Keyring::key_id(value))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the credentials of connection `{}` are marked encrypted but are not",
                    row.connection_id
                ))
            })?;
        for id in ids {
            keys.sealed_with
                .entry(id.to_string())
                .or_default()
                .push(row.connection_id.clone());
        }
    }
    Ok(keys)
}

/// Rows of (day, state, count) folded into one outcome a day, oldest first.
pub(crate) fn fold_outcomes(rows: Vec<(String, String, i64)>) -> Result<Vec<DailyOutcome>> {
    let mut days: std::collections::BTreeMap<chrono::NaiveDate, DailyOutcome> = Default::default();
    for (day, state, count) in rows {
        let day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|e| StoreError::Corrupt(format!("bad day `{day}`: {e}")))?;
        let outcome = days.entry(day).or_insert(DailyOutcome {
            day,
            booked: 0,
            held: 0,
        });
        match state.as_str() {
            "booked" => outcome.booked += count,
            _ => outcome.held += count,
        }
    }
    Ok(days.into_values().collect())
}

/// A `LIKE` pattern that finds `text` anywhere, its own `%`, `_` and `\\` taken literally.
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// SQLite keeps timestamps as fixed-width RFC 3339 text, so that text order is time order.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp `{text}`: {e}")))
}
