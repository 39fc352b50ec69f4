//! What a merchant account may see and do, the same for the pages and the JSON API: every
//! function takes the account and answers only about its own connections. A document of
//! another account is "not found", exactly like one that does not exist.

use chrono::{DateTime, Utc};
use ledgerlink_store::{DocState, LedgerRow, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// At most this many documents in one page of the transfer log.
pub const PAGE: i64 = 200;

/// A failure the person asking can act on (`message`), and one for the log.
#[derive(Debug)]
pub enum ViewError {
    NotFound,
    /// The request cannot be done as asked; the message says why.
    Refused(String),
    /// What was sent is not valid: each problem names what to correct. Nothing was changed.
    Invalid(Vec<String>),
    Internal(String),
}

impl From<StoreError> for ViewError {
    fn from(error: StoreError) -> Self {
        ViewError::Internal(error.to_string())
    }
}

/// The engine's failures (the ledger or a target unavailable) are ours, not the person's.
impl From<anyhow::Error> for ViewError {
    fn from(error: anyhow::Error) -> Self {
        ViewError::Internal(error.to_string())
    }
}

/// One connection and how many of its documents are in each state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionSummary {
    pub id: String,
    pub booked: i64,
    pub held: i64,
    /// Below the trigger status, or waiting for their day's summary.
    pub waiting: i64,
    /// Received, planned, being booked, or being looked up after an uncertain answer.
    pub in_progress: i64,
    pub skipped: i64,
    /// Calls made to the ledger's API since midnight UTC (Exact Online allows 5,000 a day per
    /// company).
    pub calls_today: i64,
}

/// A row of the transfer log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentSummary {
    pub id: i64,
    pub connection: String,
    /// `order`, `refund`, `summary`, …
    pub kind: String,
    /// The shop's number.
    pub number: String,
    /// What the ledger carries to find it (e.g. `WC-1001`).
    pub reference: String,
    pub state: String,
    /// Why it is held or skipped: what to do about it.
    pub reason: String,
    pub updated: DateTime<Utc>,
}

/// How the pages show a moment: to the minute, in UTC.
pub fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl DocumentSummary {
    pub fn updated_text(&self) -> String {
        minute(self.updated)
    }
}

/// A change of state in a document's life.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateChange {
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
    pub reason: String,
}

impl StateChange {
    pub fn at_text(&self) -> String {
        self.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

/// A document with everything known about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentDetail {
    #[serde(flatten)]
    pub summary: DocumentSummary,
    /// Where the ledger booked it (e.g. Exact's EntryID), once booked.
    pub target_id: String,
    pub attempts: i64,
    /// The document as the shop sent it, mapped.
    pub document: serde_json::Value,
    /// The booking plan: lines, VAT codes, accounts, totals.
    pub plan: Option<serde_json::Value>,
    pub history: Vec<StateChange>,
    /// The calls to the ledger that carried its reference (secrets redacted), oldest first.
    pub exchanges: Vec<LedgerExchange>,
}

/// One request to the ledger and its answer, as the audit log kept it (secrets redacted).
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerExchange {
    pub at: DateTime<Utc>,
    pub system: String,
    pub method: String,
    pub url: String,
    pub request: Option<String>,
    pub status: Option<u16>,
    pub response: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl LedgerExchange {
    pub fn at_text(&self) -> String {
        minute(self.at)
    }
}

/// At most this many of a document's calls to the ledger are shown.
const EXCHANGES_SHOWN: i64 = 20;

/// Filters of the transfer log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentFilter {
    /// Only this connection's documents.
    pub connection: Option<String>,
    /// Only documents in this state (`booked`, `held`, …).
    pub state: Option<String>,
    /// Part of the reference, number or shop id.
    pub q: Option<String>,
}

impl DocumentFilter {
    /// Empty form fields mean "any".
    fn normalised(&self) -> DocumentFilter {
        let keep = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        DocumentFilter {
            connection: keep(&self.connection),
            state: keep(&self.state),
            q: keep(&self.q),
        }
    }
}

fn summary(row: &LedgerRow) -> DocumentSummary {
    DocumentSummary {
        id: row.id,
        connection: row.connection_id.clone(),
        kind: row.kind.clone(),
        number: row.number.clone(),
        reference: row.reference.clone().unwrap_or_default(),
        state: row.state.as_str().to_string(),
        reason: row.reason.clone().unwrap_or_default(),
        updated: row.updated_at,
    }
}

pub async fn connection_ids(store: &dyn Store, account: i64) -> Result<Vec<String>, ViewError> {
    Ok(store.account_connections(account).await?)
}

pub async fn connections(
    store: &dyn Store,
    account: i64,
) -> Result<Vec<ConnectionSummary>, ViewError> {
    let mut summaries = Vec::new();
    for id in connection_ids(store, account).await? {
        let mut summary = ConnectionSummary {
            id: id.clone(),
            booked: 0,
            held: 0,
            waiting: 0,
            in_progress: 0,
            skipped: 0,
            calls_today: 0,
        };
        if let Some(record) = store.connection(&id).await? {
            let now = Utc::now();
            let midnight = now
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|m| m.and_utc())
                .unwrap_or(now);
            summary.calls_today = store
                .audit_count(&id, &record.target_kind, midnight, now)
                .await?;
        }
        for (state, count) in store.state_counts(&id).await? {
            let bucket = match state {
                DocState::Booked => &mut summary.booked,
                DocState::Held => &mut summary.held,
                DocState::Skipped => &mut summary.skipped,
                DocState::Waiting | DocState::Collecting => &mut summary.waiting,
                DocState::Received
                | DocState::Planned
                | DocState::Posting
                | DocState::Uncertain
                | DocState::Pooled => &mut summary.in_progress,
            };
            *bucket += count;
        }
        summaries.push(summary);
    }
    Ok(summaries)
}

/// The newest documents that match, at most [`PAGE`]; `true` when there are more.
pub async fn documents(
    store: &dyn Store,
    account: i64,
    filter: &DocumentFilter,
) -> Result<(Vec<DocumentSummary>, bool), ViewError> {
    let filter = filter.normalised();
    let state = match filter.state.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<DocState>().map_err(|_| {
            ViewError::Refused(format!(
                "`{text}` is not a state; use one of {}",
                DocState::ALL.map(DocState::as_str).join(", ")
            ))
        })?),
    };
    let mut rows = Vec::new();
    for id in connection_ids(store, account).await? {
        if filter
            .connection
            .as_ref()
            .is_some_and(|wanted| *wanted != id)
        {
            continue;
        }
        rows.extend(
            store
                .recent_documents(&id, state, filter.q.as_deref(), PAGE + 1)
                .await?,
        );
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.id));
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    Ok((rows.iter().map(summary).collect(), more))
}

/// The document, if it belongs to one of the account's connections.
async fn owned(store: &dyn Store, account: i64, id: i64) -> Result<LedgerRow, ViewError> {
    let row = store.document(id).await?.ok_or(ViewError::NotFound)?;
    if connection_ids(store, account)
        .await?
        .contains(&row.connection_id)
    {
        Ok(row)
    } else {
        Err(ViewError::NotFound)
    }
}

pub async fn document(
    store: &dyn Store,
    account: i64,
    id: i64,
) -> Result<DocumentDetail, ViewError> {
    let row = owned(store, account, id).await?;
    let history = store
        .transitions(id)
        .await?
        .into_iter()
        .map(|t| StateChange {
            at: t.at,
            from: t
                .from_state
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            to: t.to_state.as_str().to_string(),
            reason: t.reason.unwrap_or_default(),
        })
        .collect();
    let exchanges = match row.reference.as_deref().filter(|r| !r.is_empty()) {
        Some(reference) => store
            .audit_entries_mentioning(&row.connection_id, reference, EXCHANGES_SHOWN)
            .await?
            .into_iter()
            // The shop's own answers mention the order too; the ledger's calls are the story.
            .filter(|e| e.system != "woocommerce" && e.system != "prestashop")
            .map(|e| LedgerExchange {
                at: e.at,
                system: e.system,
                method: e.method,
                url: e.url,
                request: e.request_body,
                status: e.status,
                response: e.response_body,
                error: e.error,
                duration_ms: e.duration_ms,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(DocumentDetail {
        summary: summary(&row),
        target_id: row.target_id.clone().unwrap_or_default(),
        attempts: row.attempts,
        document: row.document_json.clone(),
        plan: row.plan_json.clone(),
        history,
        exchanges,
    })
}

/// A held document is not to be booked: a person says so, and the ledger keeps who did.
pub async fn skip(store: &dyn Store, account: i64, id: i64, by: &str) -> Result<(), ViewError> {
    let row = owned(store, account, id).await?;
    if row.state != DocState::Held {
        return Err(ViewError::Refused(format!(
            "document {id} is {}, not held: only a held document can be skipped",
            row.state.as_str()
        )));
    }
    let reason =
        format!("Skipped by {by}: not to be booked. A newer version from the shop re-opens it.");
    store.skip_held(id, &reason, Utc::now()).await?;
    Ok(())
}

/// A held document is tried again by the next worker round.
pub async fn retry(store: &dyn Store, account: i64, id: i64) -> Result<(), ViewError> {
    let row = owned(store, account, id).await?;
    if row.state != DocState::Held {
        return Err(ViewError::Refused(format!(
            "document {id} is {}, not held: only a held document can be retried",
            row.state.as_str()
        )));
    }
    store.retry_held(id, Utc::now()).await?;
    Ok(())
}

/// Booked and held documents of one day, over the account's connections.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayActivity {
    pub day: chrono::NaiveDate,
    pub booked: i64,
    pub held: i64,
}

/// The last `days` days (today included), oldest first, every day present.
pub async fn activity(
    store: &dyn Store,
    account: i64,
    days: i64,
) -> Result<Vec<DayActivity>, ViewError> {
    let today = Utc::now().date_naive();
    let first = today - chrono::Duration::days(days - 1);
    let mut activity: Vec<DayActivity> = first
        .iter_days()
        .take(days as usize)
        .map(|day| DayActivity {
            day,
            booked: 0,
            held: 0,
        })
        .collect();
    let from = first.and_time(chrono::NaiveTime::MIN).and_utc();
    for id in connection_ids(store, account).await? {
        for outcome in store.daily_outcomes(&id, from).await? {
            let index = (outcome.day - first).num_days();
            if let Some(day) = usize::try_from(index)
                .ok()
                .and_then(|i| activity.get_mut(i))
            {
                day.booked += outcome.booked;
                day.held += outcome.held;
            }
        }
    }
    Ok(activity)
}

/// What was booked in the last `days` days, per currency: documents and amount (refunds count
/// negative), from the booked plans — each equal to its source document to the cent.
/// Sold and booked in one currency over a period, over the account's connections.
pub struct Amounts {
    pub currency: String,
    /// Documents the shops gave in the period, and their totals.
    pub sold_documents: i64,
    pub sold: ledgerlink_core::Money,
    /// Documents booked in the period (each equal to the shop's total to the cent).
    pub booked_documents: i64,
    pub booked: ledgerlink_core::Money,
}

/// Sold against booked over the last `days` days, per currency.
pub async fn amounts(
    store: &dyn Store,
    account: i64,
    days: i64,
) -> Result<Vec<Amounts>, ViewError> {
    let now = Utc::now();
    let from = now - chrono::Duration::days(days);
    let mut sums: std::collections::BTreeMap<String, Amounts> = Default::default();
    let row = |currency: String| Amounts {
        currency,
        sold_documents: 0,
        sold: ledgerlink_core::Money::ZERO,
        booked_documents: 0,
        booked: ledgerlink_core::Money::ZERO,
    };
    for id in connection_ids(store, account).await? {
        for total in store.taken_in_totals(&id, from, now).await? {
            let sum = sums
                .entry(total.currency.clone())
                .or_insert_with(|| row(total.currency));
            sum.sold_documents += total.documents;
            sum.sold += total.total;
        }
        for total in store.booked_totals(&id, from, now).await? {
            let sum = sums
                .entry(total.currency.clone())
                .or_insert_with(|| row(total.currency));
            sum.booked_documents += total.documents;
            sum.booked += total.total;
        }
    }
    Ok(sums.into_values().collect())
}

/// The longest period a test run reads at once.
pub const DRY_RUN_MAX_DAYS: i64 = 92;

/// Test mode over the shop-local days [from, until) of one of the account's connections.
pub async fn dry_run(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
    from: chrono::NaiveDate,
    until: chrono::NaiveDate,
) -> Result<ledgerlink_engine::dry_run::DryRun, ViewError> {
    owned_connection(engine, account, connection).await?;
    let days = (until - from).num_days();
    if days < 1 {
        return Err(ViewError::Refused(
            "The period is empty: `until` must come after `from` (it is not included).".into(),
        ));
    }
    if days > DRY_RUN_MAX_DAYS {
        return Err(ViewError::Refused(format!(
            "A test run reads at most {DRY_RUN_MAX_DAYS} days at once; choose a shorter period."
        )));
    }
    engine
        .dry_run(connection, from, until)
        .await
        .map_err(|error| {
            ViewError::Refused(format!(
                "The shop could not be read for the test run: {error}. Check the connection \
                 and try again."
            ))
        })
}

/// A connection's booking rules in force, and where they come from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rules {
    pub connection: String,
    /// `settings_file`, or `panel` once a person changed them here (they then outlast the
    /// settings file's until reset).
    pub from: &'static str,
    /// The settings file defines the connection (else it was added in the panel, and its
    /// rules live in the ledger only).
    pub in_settings_file: bool,
    pub edited_by: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
    /// The `[connections.booking]` table of docs/settings.md, every key present.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Raised by every change: a change sent with the revision it was made on is refused when
    /// someone else changed the rules meanwhile.
    pub revision: i64,
}

/// One of the account's running connections, or "not found".
async fn owned_connection(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
) -> Result<std::sync::Arc<ledgerlink_engine::Connection>, ViewError> {
    if !connection_ids(&**engine.store(), account)
        .await?
        .iter()
        .any(|id| id == connection)
    {
        return Err(ViewError::NotFound);
    }
    engine.connection(connection).ok_or(ViewError::NotFound)
}

pub async fn rules(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
) -> Result<Rules, ViewError> {
    let running = owned_connection(engine, account, connection).await?;
    let record = engine
        .store()
        .connection(connection)
        .await?
        .ok_or(ViewError::NotFound)?;
    let edited = record.settings_edited;
    Ok(Rules {
        in_settings_file: !added_in_panel(engine, connection).await?,
        connection: connection.to_string(),
        from: if edited.is_some() {
            "panel"
        } else {
            "settings_file"
        },
        edited_by: edited.as_ref().map(|e| e.by.clone()),
        edited_at: edited.as_ref().map(|e| e.at),
        settings: serde_json::to_value(&*running.settings.get())
            .map_err(|e| ViewError::Internal(e.to_string()))?,
        revision: record.settings_revision,
    })
}

async fn added_in_panel(
    engine: &ledgerlink_engine::Engine,
    connection: &str,
) -> Result<bool, ViewError> {
    Ok(engine.added_shop(connection).await?.is_some())
}

/// Puts `settings` in force for one of the account's connections, once they pass every check
/// the settings file's pass and every code they name exists in the ledger.
pub async fn change_rules(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
    settings: ledgerlink_rules::BookingSettings,
    by: &str,
    read_at: Option<i64>,
) -> Result<(), ViewError> {
    owned_connection(engine, account, connection).await?;
    refused_or_done(
        engine
            .change_rules(connection, settings, by, read_at)
            .await?,
    )
}

/// The settings file's rules in force again for one of the account's connections.
pub async fn reset_rules(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
) -> Result<(), ViewError> {
    owned_connection(engine, account, connection).await?;
    engine.reset_rules(connection).await?;
    Ok(())
}

/// Who hears of what for one connection: the e-mail addresses, the events, the transfer
/// report's schedule — the settings file's, or set through the panel or the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notifications {
    pub connection: String,
    /// `settings_file`, or `panel` once a person set them here.
    pub from: &'static str,
    /// The settings file defines the connection (else it was added in the panel).
    pub in_settings_file: bool,
    pub edited_by: Option<String>,
    pub edited_at: Option<DateTime<Utc>>,
    pub email: Vec<String>,
    /// Of `held`, `auth_failure`, `budget_exhausted`.
    pub events: Vec<String>,
    /// `off`, `daily` or `weekly` (Mondays).
    pub report: String,
    /// The hour of the day (UTC) the report is due.
    pub report_hour: u32,
    /// The host the settings file's webhook notifications go to, if any (set there only).
    pub webhook_host: Option<String>,
    /// This ledgerlink has a mail server, so e-mail addresses can be given.
    pub sends_mail: bool,
}

/// Who hears of what, as sent by a person or a program.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NotificationsChange {
    #[serde(default)]
    pub email: Vec<String>,
    #[serde(default)]
    pub events: Vec<String>,
    pub report: String,
    pub report_hour: u32,
}

pub async fn notifications(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
) -> Result<Notifications, ViewError> {
    owned_connection(engine, account, connection).await?;
    let record = engine
        .store()
        .connection(connection)
        .await?
        .ok_or(ViewError::NotFound)?;
    let edited = record.notifications.map(|(_, edit)| edit);
    let notifier = engine.notifier();
    let recipients = notifier.recipients(connection);
    Ok(Notifications {
        in_settings_file: !added_in_panel(engine, connection).await?,
        connection: connection.to_string(),
        from: if edited.is_some() {
            "panel"
        } else {
            "settings_file"
        },
        edited_by: edited.as_ref().map(|e| e.by.clone()),
        edited_at: edited.as_ref().map(|e| e.at),
        email: recipients.email.iter().map(|e| e.to_string()).collect(),
        events: recipients
            .events
            .iter()
            .map(|e| e.as_str().to_string())
            .collect(),
        report: recipients.report.as_str().to_string(),
        report_hour: recipients.report_hour,
        webhook_host: notifier.webhook_host(connection),
        sends_mail: notifier.running() == Some(true),
    })
}

/// Puts new recipients in force for one of the account's connections.
pub async fn change_notifications(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
    change: &NotificationsChange,
    by: &str,
) -> Result<(), ViewError> {
    owned_connection(engine, account, connection).await?;
    let recipients = ledgerlink_engine::notify::Recipients::parse(
        &change.email,
        &change.events,
        &change.report,
        change.report_hour,
    )
    .map_err(|found| {
        ViewError::Invalid(
            found
                .into_iter()
                .map(|(key, text)| format!("`{key}`: {text}"))
                .collect(),
        )
    })?;
    refused_or_done(engine.change_recipients(connection, recipients, by).await?)
}

/// The settings file's notifications in force again for one of the account's connections.
pub async fn reset_notifications(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
) -> Result<(), ViewError> {
    owned_connection(engine, account, connection).await?;
    engine.reset_recipients(connection).await?;
    Ok(())
}

fn refused_or_done(
    outcome: Result<(), ledgerlink_engine::rules_edit::RulesRefused>,
) -> Result<(), ViewError> {
    match outcome {
        Ok(()) => Ok(()),
        Err(ledgerlink_engine::rules_edit::RulesRefused::Problems(problems)) => {
            Err(ViewError::Invalid(problems))
        }
        Err(ledgerlink_engine::rules_edit::RulesRefused::Changed) => Err(ViewError::Refused(
            "Someone changed these rules since this page was shown: here are theirs; make your change again."
                .into(),
        )),
        Err(ledgerlink_engine::rules_edit::RulesRefused::UnknownConnection) => {
            Err(ViewError::NotFound)
        }
    }
}

/// Adds a shop to the account (not live); its connection id.
pub async fn add_shop(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    by: &str,
    name: &str,
    shop: ledgerlink_engine::added_shops::NewShop,
) -> Result<String, ViewError> {
    engine
        .add_shop(account, by, name, shop)
        .await?
        .map_err(ViewError::Invalid)
}

/// One of the account's shops added in the panel books from now on.
pub async fn go_live(
    engine: &ledgerlink_engine::Engine,
    account: i64,
    connection: &str,
) -> Result<(), ViewError> {
    owned_connection(engine, account, connection).await?;
    engine
        .go_live(connection)
        .await?
        .map_err(ViewError::Invalid)
}

/// A user of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountUser {
    pub email: String,
    pub since: DateTime<Utc>,
}

pub async fn users(store: &dyn Store, account: i64) -> Result<Vec<AccountUser>, ViewError> {
    Ok(store
        .account_users(account)
        .await?
        .into_iter()
        .map(|(email, since)| AccountUser { email, since })
        .collect())
}

/// An invitation to join the account: the link (a path on this panel) works once.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationLink {
    pub email: String,
    /// `/join/<token>` on the panel's address; shown only now.
    pub link: String,
    pub expires_at: DateTime<Utc>,
}

/// How long an invitation link works.
const INVITATION_DAYS: i64 = 7;

/// Invites `email` to the account, by `by`.
pub async fn invite(
    store: &dyn Store,
    account: i64,
    by: &str,
    email: &str,
) -> Result<InvitationLink, ViewError> {
    let email = email.trim().to_lowercase();
    if email.parse::<ledgerlink_core::Email>().is_err() {
        return Err(ViewError::Invalid(vec![
            "`email`: not an e-mail address; check it".into(),
        ]));
    }
    if store.user_by_email(&email).await?.is_some() {
        return Err(ViewError::Refused(
            "This address signs in to ledgerlink already.".into(),
        ));
    }
    let token = super::auth::random_token();
    let now = Utc::now();
    let expires_at = now + chrono::Duration::days(INVITATION_DAYS);
    store
        .invite(
            &super::auth::token_hash(&token),
            account,
            &email,
            by,
            now,
            expires_at,
        )
        .await?;
    Ok(InvitationLink {
        email,
        link: format!("/join/{token}"),
        expires_at,
    })
}
