//! Notifications: a bookkeeper hears of what needs a person — a document held, a target
//! refusing access, the target's API budget used up — and gets a transfer report every day or
//! week, by e-mail (`email.rs`) and by webhook (`webhook.rs`).
//!
//! Sending never blocks or fails a booking: the worker hands an event to the [`Notifier`],
//! which decides at once whether it is worth sending (configured, not sent before) and queues
//! it; a background task sends it with retries, and what still cannot be sent is logged and
//! counted (`ledgerlink_notifications_failed_total`).

mod email;
mod report;
mod webhook;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use ledgerlink_core::{ConnectorError, Email, ErrorKind};
use ledgerlink_store::{LedgerRow, Store};
use ledgerlink_targets::TargetKind;
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::config::SmtpConfig;
use crate::metrics::Metrics;

pub(crate) use email::mailbox;
pub use email::SmtpTls;
pub use report::ReportEvery;

/// Events waiting to be sent; beyond this a new one is dropped (and logged), never waited for.
const QUEUE: usize = 1024;
/// An authentication failure or exhausted budget is announced at most this often per
/// connection: every document meets it until it is resolved.
const ALERT_INTERVAL: Duration = Duration::from_secs(3600);
/// A rate limit lifting sooner than this is the minutely window, which ledgerlink waits out;
/// beyond it the budget (e.g. the daily limit) is used up.
const BUDGET_ALERT_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What a connection can be notified of (`events`).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Held,
    AuthFailure,
    BudgetExhausted,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [
        EventKind::Held,
        EventKind::AuthFailure,
        EventKind::BudgetExhausted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Held => "held",
            EventKind::AuthFailure => "auth_failure",
            EventKind::BudgetExhausted => "budget_exhausted",
        }
    }
}

impl FromStr for EventKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or(())
    }
}

/// Where a webhook notification goes, and the secret it is signed with.
#[derive(Clone)]
pub struct Webhook {
    pub url: reqwest::Url,
    pub secret: Option<SecretString>,
}

/// Webhook addresses often carry a token in their path, so only the host is shown.
impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("host", &self.url.host_str())
            .field("signed", &self.secret.is_some())
            .finish()
    }
}

/// How one connection is notified: `[connections.notifications]`, checked.
#[derive(Clone, Debug)]
pub struct Route {
    /// The connection's name, for people.
    pub name: String,
    pub target: TargetKind,
    pub email: Vec<Email>,
    pub webhook: Option<Webhook>,
    pub events: BTreeSet<EventKind>,
    pub report: ReportEvery,
    /// The hour (UTC) the report is due.
    pub report_hour: u32,
}

impl Route {
    fn sends_anything(&self) -> bool {
        !self.email.is_empty() || self.webhook.is_some()
    }
}

/// How hard a notification is tried before it is given up (and logged).
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Retries after the first attempt.
    pub retries: usize,
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// One attempt (an SMTP session, a webhook request) is abandoned after this.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            retries: 5,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Each connection's route, which a person may change in the panel while the notifier runs;
/// the settings file's routes are kept to go back to.
#[derive(Default)]
struct RouteTable {
    current: std::sync::RwLock<HashMap<String, Arc<Route>>>,
    from_file: HashMap<String, Route>,
}

impl RouteTable {
    fn new(from_file: HashMap<String, Route>) -> Self {
        RouteTable {
            current: std::sync::RwLock::new(
                from_file
                    .iter()
                    .map(|(id, route)| (id.clone(), Arc::new(route.clone())))
                    .collect(),
            ),
            from_file,
        }
    }

    fn get(&self, connection: &str) -> Option<Arc<Route>> {
        self.read().get(connection).cloned()
    }

    fn all(&self) -> Vec<(String, Arc<Route>)> {
        let mut all: Vec<_> = self
            .read()
            .iter()
            .map(|(id, route)| (id.clone(), route.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Route>>> {
        // Nothing panics while holding it; a poisoned lock still holds whole routes.
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, connection: &str, route: Option<Route>) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        match route {
            Some(route) => current.insert(connection.to_string(), Arc::new(route)),
            None => current.remove(connection),
        };
    }
}

/// Who hears of what: the part of a connection's notifications a person sets in the panel
/// (a webhook, with its secret, stays in the settings file).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recipients {
    pub email: Vec<Email>,
    pub events: BTreeSet<EventKind>,
    pub report: ReportEvery,
    /// The hour (UTC) the report is due.
    pub report_hour: u32,
}

impl Recipients {
    /// Recipients as a person writes them (settings file, panel, API); `Err` gives each
    /// problem with the setting it is about (`email`, `events`, `report`, `report_hour`).
    pub fn parse(
        email: &[String],
        events: &[String],
        report: &str,
        report_hour: u32,
    ) -> Result<Recipients, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let mut addresses = Vec::new();
        for address in email {
            match address.parse::<Email>() {
                Ok(parsed) => match email::mailbox(&parsed) {
                    Ok(_) => addresses.push(parsed),
                    Err(e) => problems.push(("email", e)),
                },
                Err(e) => problems.push(("email", e.to_string())),
            }
        }
        let mut kinds = BTreeSet::new();
        for event in events {
            match event.parse::<EventKind>() {
                Ok(kind) => {
                    kinds.insert(kind);
                }
                Err(()) => problems.push((
                    "events",
                    format!(
                        "`{event}` is not an event; choose from held, auth_failure, budget_exhausted"
                    ),
                )),
            }
        }
        let report = report.parse::<ReportEvery>().unwrap_or_else(|()| {
            problems.push((
                "report",
                format!("`{report}` is not one of off, daily, weekly"),
            ));
            ReportEvery::Off
        });
        if report_hour > 23 {
            problems.push((
                "report_hour",
                format!("{report_hour} is not an hour of the day (0 to 23, UTC)"),
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Recipients {
            email: addresses,
            events: kinds,
            report,
            report_hour,
        })
    }

    /// What a connection with no notifications set has: nobody, every event, a daily report.
    pub fn nobody() -> Self {
        Recipients {
            email: Vec::new(),
            events: EventKind::ALL.into_iter().collect(),
            report: ReportEvery::Daily,
            report_hour: 7,
        }
    }
}

/// Everything the notifier needs: the mail server and each connection's route.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub smtp: Option<SmtpConfig>,
    pub routes: HashMap<String, Route>,
    pub retry: Retry,
}

/// One notification, ready for every channel: a subject and plain text for e-mail, the same
/// facts as JSON for webhooks.
struct Outgoing {
    subject: String,
    text: String,
    json: serde_json::Value,
}

enum Job {
    Send {
        connection: String,
        message: Outgoing,
    },
    /// A transfer report; once it is sent, the connection's report cursor moves to `slot`.
    Report {
        connection: String,
        slot: DateTime<Utc>,
        message: Outgoing,
    },
    /// Answered once everything queued before it has been sent or given up.
    Flush(oneshot::Sender<()>),
}

/// What has been announced already.
#[derive(Default)]
struct Seen {
    /// (connection, document, reason): a held document is announced once per reason.
    held: HashSet<(String, i64, String)>,
    alerts: HashMap<(String, EventKind), Instant>,
    /// Connections whose report is queued and not sent yet.
    reports_queued: HashSet<String>,
}

/// The engine's handle for notifications; cheap to clone. Without settings it sends nothing.
#[derive(Clone, Default)]
pub struct Notifier {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    queue: mpsc::Sender<Job>,
    routes: Arc<RouteTable>,
    /// A mail server is set, so routes may have e-mail addresses.
    sends_mail: bool,
    seen: Arc<Mutex<Seen>>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl Notifier {
    /// Starts the background task that sends. Needs a tokio runtime.
    pub(crate) fn start(
        settings: Settings,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Notifier> {
        let mailer = settings
            .smtp
            .as_ref()
            .map(|smtp| email::Mailer::new(smtp, settings.retry.timeout))
            .transpose()?;
        let sends_mail = mailer.is_some();
        let routes = Arc::new(RouteTable::new(settings.routes));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (queue, jobs) = mpsc::channel(QUEUE);
        let sender = Sender {
            mailer,
            webhooks: webhook::Poster::new(settings.retry.timeout)?,
            routes: routes.clone(),
            retry: settings.retry,
            metrics: metrics.clone(),
        };
        tokio::spawn(sender.run(jobs, seen.clone(), store.clone()));
        Ok(Notifier {
            inner: Some(Arc::new(Inner {
                queue,
                routes,
                sends_mail,
                seen,
                store,
                metrics,
            })),
        })
    }

    /// A document was held: announced once per reason.
    pub(crate) fn held(&self, row: &LedgerRow, reason: &str) {
        let Some((inner, route)) = self.route(&row.connection_id, EventKind::Held) else {
            return;
        };
        let key = (row.connection_id.clone(), row.id, reason.to_string());
        if !inner.seen().held.insert(key) {
            return;
        }
        let (kind, number) = (&row.kind, &row.number);
        let text = format!(
            "ledgerlink holds {kind} {number} of {name} ({connection}): it is not booked until a person acts.\n\n\
             Reason: {reason}\n\n\
             Fix the cause in the shop or in the settings, then run `ledgerlink retry {id}`; a newer version of the document from the shop re-opens it too.\n",
            name = route.name,
            connection = row.connection_id,
            id = row.id,
        );
        let message = Outgoing {
            subject: format!("[ledgerlink] {}: {kind} {number} is held", route.name),
            text,
            json: json!({
                "event": EventKind::Held.as_str(),
                "connection": row.connection_id,
                "name": route.name,
                "at": Utc::now(),
                "document": { "id": row.id, "kind": kind, "number": number },
                "reason": reason,
            }),
        };
        inner.queue(&row.connection_id, message);
    }

    /// A call to the connection's target failed: announced when the target refused access or
    /// its budget is used up, at most once an hour for each.
    pub(crate) fn target_failed(&self, connection: &str, error: &ConnectorError) {
        let event = match error.kind {
            ErrorKind::Auth => EventKind::AuthFailure,
            ErrorKind::RateLimited { until } if until - Utc::now() > BUDGET_ALERT_AFTER => {
                EventKind::BudgetExhausted
            }
            _ => return,
        };
        let Some((inner, route)) = self.route(connection, event) else {
            return;
        };
        {
            let mut seen = inner.seen();
            let key = (connection.to_string(), event);
            if seen
                .alerts
                .get(&key)
                .is_some_and(|at| at.elapsed() < ALERT_INTERVAL)
            {
                return;
            }
            seen.alerts.insert(key, Instant::now());
        }
        let system = system_name(route.target);
        let name = &route.name;
        let mut json = json!({
            "event": event.as_str(),
            "connection": connection,
            "name": name,
            "at": Utc::now(),
            "system": route.target.as_str(),
            "message": error.message_for_user,
        });
        let message = match error.kind {
            ErrorKind::RateLimited { until } => {
                json["until"] = json!(until);
                let until = until.format("%Y-%m-%d %H:%M UTC");
                Outgoing {
                    subject: format!(
                        "[ledgerlink] {name}: the {system} API budget is used up until {until}"
                    ),
                    text: format!(
                        "{}\n\nBookings of {name} ({connection}) wait until {until} and then \
                         continue by themselves; nothing is lost. This is sent at most once an hour.\n",
                        error.message_for_user
                    ),
                    json,
                }
            }
            _ => Outgoing {
                subject: format!("[ledgerlink] {name}: {system} refused access"),
                text: format!(
                    "{system} refused the access of {name} ({connection}):\n\n{}\n\n\
                     Nothing is booked into {system} for this connection until this is fixed; \
                     the documents wait and nothing is lost. This is sent at most once an hour.\n",
                    error.message_for_user
                ),
                json,
            },
        };
        inner.queue(connection, message);
    }

    /// Waits until everything queued so far has been sent (or given up): before a one-shot
    /// command exits, and in tests.
    pub async fn flush(&self) {
        let Some(inner) = &self.inner else { return };
        let (done, sent) = oneshot::channel();
        if inner.queue.send(Job::Flush(done)).await.is_ok() {
            let _ = sent.await;
        }
    }

    /// The notifier and the connection's route, if the connection wants this event.
    fn route(&self, connection: &str, event: EventKind) -> Option<(&Inner, Arc<Route>)> {
        let inner = self.inner.as_deref()?;
        let route = inner.routes.get(connection)?;
        (route.sends_anything() && route.events.contains(&event)).then_some((inner, route))
    }

    /// Whether notifications are sent by this process at all, and e-mail among them.
    pub fn running(&self) -> Option<bool> {
        self.inner.as_ref().map(|inner| inner.sends_mail)
    }

    /// Who hears of what for `connection` now.
    pub fn recipients(&self, connection: &str) -> Recipients {
        let route = self.inner.as_ref().and_then(|i| i.routes.get(connection));
        route.map_or_else(Recipients::nobody, |route| Recipients {
            email: route.email.clone(),
            events: route.events.clone(),
            report: route.report,
            report_hour: route.report_hour,
        })
    }

    /// The connection's webhook's host, if the settings file gives it one.
    pub fn webhook_host(&self, connection: &str) -> Option<String> {
        let route = self.inner.as_ref()?.routes.get(connection)?;
        route
            .webhook
            .as_ref()
            .and_then(|hook| hook.url.host_str().map(str::to_string))
    }

    /// Puts `recipients` in force for `connection` (its webhook stays the settings file's), or
    /// with `None` the settings file's route again. `name` and `target` name the connection
    /// when the file gives it no route.
    pub(crate) fn set_recipients(
        &self,
        connection: &str,
        name: &str,
        target: TargetKind,
        recipients: Option<Recipients>,
    ) {
        let Some(inner) = &self.inner else { return };
        let from_file = inner.routes.from_file.get(connection).cloned();
        let Some(recipients) = recipients else {
            inner.routes.set(connection, from_file);
            return;
        };
        let base = from_file.unwrap_or(Route {
            name: name.to_string(),
            target,
            email: Vec::new(),
            webhook: None,
            events: BTreeSet::new(),
            report: ReportEvery::Off,
            report_hour: 0,
        });
        inner.routes.set(
            connection,
            Some(Route {
                email: recipients.email,
                events: recipients.events,
                report: recipients.report,
                report_hour: recipients.report_hour,
                ..base
            }),
        );
    }
}

impl Inner {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A panic elsewhere while holding the lock leaves plain sets behind: still usable.
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queue(&self, connection: &str, message: Outgoing) {
        let job = Job::Send {
            connection: connection.to_string(),
            message,
        };
        if self.queue.try_send(job).is_err() {
            tracing::error!(
                connection,
                "a notification was dropped: too many are waiting to be sent"
            );
            self.metrics.notification_failed(connection, "queue");
        }
    }
}

/// How people call a target.
fn system_name(target: TargetKind) -> &'static str {
    match target {
        TargetKind::Exact => "Exact Online",
        TargetKind::Tryton => "Tryton",
    }
}

/// The background task's side: sends each job on every channel of its connection.
struct Sender {
    mailer: Option<email::Mailer>,
    webhooks: webhook::Poster,
    routes: Arc<RouteTable>,
    retry: Retry,
    metrics: Arc<Metrics>,
}

impl Sender {
    async fn run(
        self,
        mut jobs: mpsc::Receiver<Job>,
        seen: Arc<Mutex<Seen>>,
        store: Arc<dyn Store>,
    ) {
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Send {
                    connection,
                    message,
                } => self.send(&connection, &message).await,
                Job::Report {
                    connection,
                    slot,
                    message,
                } => {
                    self.send(&connection, &message).await;
                    // Moved on also when a channel gave up (logged and counted): a report
                    // is not resent every second while a mail server is down.
                    if let Err(error) = store
                        .set_cursor(&connection, report::CURSOR, &slot.to_rfc3339(), Utc::now())
                        .await
                    {
                        tracing::error!(connection, %error, "the report was sent but its cursor could not be stored; it may be sent again");
                    }
                    seen.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .reports_queued
                        .remove(&connection);
                }
                Job::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    async fn send(&self, connection: &str, message: &Outgoing) {
        let Some(route) = self.routes.get(connection) else {
            return;
        };
        if let (false, Some(mailer)) = (route.email.is_empty(), &self.mailer) {
            let sent = match mailer.compose(&route.email, &message.subject, &message.text) {
                Ok(mail) => {
                    self.retried(connection, "email", || mailer.send(&mail))
                        .await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = sent {
                self.gave_up(connection, "email", &error);
            }
        }
        if let Some(hook) = &route.webhook {
            let body = message.json.to_string();
            let sent = self
                .retried(connection, "webhook", || self.webhooks.post(hook, &body))
                .await;
            if let Err(error) = sent {
                self.gave_up(connection, "webhook", &error);
            }
        }
    }

    async fn retried<F, Fut>(
        &self,
        connection: &str,
        channel: &'static str,
        attempt: F,
    ) -> Result<(), String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let policy = ExponentialBuilder::default()
            .with_min_delay(self.retry.first_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.retries);
        attempt
            .retry(policy)
            .sleep(tokio::time::sleep)
            .notify(|error, delay| {
                tracing::warn!(connection, channel, %error, ?delay, "a notification failed; retrying");
            })
            .await
    }

    fn gave_up(&self, connection: &str, channel: &'static str, error: &str) {
        tracing::error!(
            connection,
            channel,
            error,
            "a notification could not be sent after its retries"
        );
        self.metrics.notification_failed(connection, channel);
    }
}

#[cfg(test)]
mod tests {
    use ledgerlink_store::{DocState, SqliteStore};

    use super::*;

    /// A webhook receiver keeping the bodies it gets.
    async fn receiver() -> (reqwest::Url, Arc<Mutex<Vec<serde_json::Value>>>) {
        let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post({
                let received = received.clone();
                move |axum::Json(body): axum::Json<serde_json::Value>| async move {
                    received.lock().unwrap().push(body);
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url.parse().unwrap(), received)
    }

    async fn notifier(events: &[EventKind]) -> (Notifier, Arc<Mutex<Vec<serde_json::Value>>>) {
        let (url, received) = receiver().await;
        let route = Route {
            name: "Shop".into(),
            target: TargetKind::Exact,
            email: Vec::new(),
            webhook: Some(Webhook { url, secret: None }),
            events: events.iter().copied().collect(),
            report: ReportEvery::Off,
            report_hour: 7,
        };
        let settings = Settings {
            routes: HashMap::from([("shop".to_string(), route)]),
            ..Settings::default()
        };
        let store = Arc::new(SqliteStore::in_memory().await.unwrap());
        let notifier = Notifier::start(settings, store, Arc::default()).unwrap();
        (notifier, received)
    }

    fn row(id: i64) -> LedgerRow {
        LedgerRow {
            id,
            connection_id: "shop".into(),
            kind: "order".into(),
            source_id: id.to_string(),
            number: format!("10{id}"),
            state: DocState::Held,
            reason: None,
            document_json: json!({}),
            plan_json: None,
            reference: None,
            target_id: None,
            summary_id: None,
            attempts: 0,
            fencing_token: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn events(received: &Mutex<Vec<serde_json::Value>>) -> Vec<String> {
        received
            .lock()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["event"].as_str().unwrap(),
                    e["document"]["number"]
                        .as_str()
                        .or(e["message"].as_str())
                        .unwrap()
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn a_held_document_is_announced_once_per_reason() {
        let (notifier, received) = notifier(&EventKind::ALL).await;
        for (id, why) in [(1, "A"), (1, "A"), (1, "B"), (1, "A"), (2, "A")] {
            notifier.held(&row(id), why);
        }
        notifier.flush().await;
        assert_eq!(events(&received), ["held 101", "held 101", "held 102"]);
        let reasons: Vec<_> = received
            .lock()
            .unwrap()
            .iter()
            .map(|e| e["reason"].clone())
            .collect();
        assert_eq!(reasons, ["A", "B", "A"]);
    }

    #[tokio::test]
    async fn access_refused_and_a_used_up_budget_are_announced_at_most_hourly() {
        let (notifier, received) = notifier(&EventKind::ALL).await;
        let error = |kind| ConnectorError::new(kind, "what to do", "cause");
        let later = |minutes| ErrorKind::RateLimited {
            until: Utc::now() + chrono::TimeDelta::minutes(minutes),
        };
        for kind in [
            ErrorKind::Auth,
            ErrorKind::Auth,
            // The minutely window: waited out, not worth a word.
            later(1),
            later(300),
            later(300),
            ErrorKind::Rejected,
            ErrorKind::Transient { retry_after: None },
        ] {
            notifier.target_failed("shop", &error(kind));
        }
        notifier.target_failed("elsewhere", &error(ErrorKind::Auth));
        notifier.flush().await;
        assert_eq!(
            events(&received),
            ["auth_failure what to do", "budget_exhausted what to do"]
        );
        let budget = &received.lock().unwrap()[1];
        assert_eq!(budget["system"], "exact");
        assert!(budget["until"].is_string());
    }

    #[tokio::test]
    async fn only_the_events_a_connection_asks_for_are_sent() {
        let (notifier, received) = notifier(&[EventKind::BudgetExhausted]).await;
        notifier.held(&row(1), "A");
        notifier.target_failed("shop", &ConnectorError::new(ErrorKind::Auth, "m", "c"));
        notifier.flush().await;
        assert!(received.lock().unwrap().is_empty());
    }
}
