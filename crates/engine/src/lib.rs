//! The engine: documents from sources into the sync ledger, through the rules, into targets —
//! under the exactly-once protocol (docs/ARCHITECTURE.md):
//!
//! 1. a document enters the ledger once, keyed by (connection, kind, source id);
//! 2. the plan and its reference are stored (`planned`);
//! 3. `posting` is committed before the call;
//! 4. success commits the target id (`booked`);
//! 5. after an uncertain outcome or a crash while `posting`, the target is searched by
//!    reference before anything is posted again; a document is only ever worked on under a
//!    lease whose fencing token makes a stale worker's writes fail;
//! 6. rejections are `held` with the target's words.
//!
//! Held documents and a target's failures are announced through the [`notify::Notifier`];
//! what the engine did is counted for `GET /metrics`.

pub mod added_shops;
pub mod config;
pub mod dry_run;
mod intake;
mod metrics;
pub mod notify;
mod poll;
pub mod rules_edit;
mod vies;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ledgerlink_lookups::vies::ViesClient;
use ledgerlink_rules::BookingSettings;
use ledgerlink_sources::prestashop::PrestaClient;
use ledgerlink_sources::woocommerce::WooClient;
use ledgerlink_store::Store;
pub use ledgerlink_targets::Target;
use metrics::Metrics;
use notify::Notifier;
use secrecy::SecretString;

pub use intake::WebhookReply;

/// A source as the engine uses it.
#[derive(Clone)]
pub enum Source {
    Prestashop {
        client: PrestaClient,
    },
    Woocommerce {
        client: WooClient,
        webhook_secrets: Vec<SecretString>,
    },
}

/// One shop booking into one ledger under one set of rules.
pub struct Connection {
    pub id: String,
    /// The panel user (e-mail address, lower case) whose account owns the connection.
    pub owner: Option<String>,
    pub settings: LiveSettings,
    pub source: Source,
    pub target: Target,
    /// Consulted before booking a reverse-charge sale, when the settings ask for it.
    pub vies: Option<ViesClient>,
}

/// A connection's booking rules, which a person may change in the panel while it runs: each
/// decision takes the rules in force at that moment.
pub struct LiveSettings {
    current: std::sync::RwLock<Arc<BookingSettings>>,
    /// The settings file's rules, which a reset in the panel goes back to.
    from_file: Arc<BookingSettings>,
}

impl LiveSettings {
    /// The settings file's rules, in force.
    pub fn new(from_file: BookingSettings) -> Self {
        let from_file = Arc::new(from_file);
        LiveSettings {
            current: std::sync::RwLock::new(from_file.clone()),
            from_file,
        }
    }

    /// In force: the rules set in the panel instead of the settings file's.
    pub fn with_rules_from_panel(self, settings: BookingSettings) -> Self {
        self.replace(Arc::new(settings));
        self
    }

    pub fn from_file(&self) -> &BookingSettings {
        &self.from_file
    }

    pub fn get(&self) -> Arc<BookingSettings> {
        // Nothing panics while holding it; a poisoned lock still holds whole settings.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, settings: Arc<BookingSettings>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = settings;
    }
}

#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How long a worker holds a document. A booking call is cut off (its outcome then
    /// uncertain) before the lease ends, so it must exceed the HTTP timeout.
    pub lease: Duration,
    /// Wait after an uncertain outcome before searching the target (reads may lag writes).
    pub settle_delay: Duration,
    /// First retry delay after a transient failure; doubles per attempt up to `max_backoff`.
    pub retry_base: Duration,
    pub max_backoff: Duration,
    /// Documents claimed per round.
    pub batch: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lease: Duration::from_secs(120),
            settle_delay: Duration::from_secs(5),
            retry_base: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            batch: 10,
        }
    }
}

pub struct Engine {
    store: Arc<dyn Store>,
    /// Shops added in the panel join while it runs.
    connections: std::sync::RwLock<HashMap<String, Arc<Connection>>>,
    /// Shops added in the panel that do not book yet: their webhooks are not taken in, they
    /// are not swept, and nothing of theirs is claimed — until a person makes them live.
    not_live: std::sync::Mutex<std::collections::HashSet<String>>,
    worker_id: String,
    options: EngineOptions,
    notifier: Notifier,
    metrics: Arc<Metrics>,
    /// Woken when a webhook delivery is kept, so an idle worker starts on it at once.
    work_arrived: tokio::sync::Notify,
    /// Connections whose target's budget is used up for the minute, until when: their
    /// documents are not claimed meanwhile, so a large backlog of one company is not walked
    /// through (and put back) every minute while the others wait.
    paused: std::sync::Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
    /// Per connection, the revision of its panel-set rules and recipients taken up.
    taken_up: std::sync::Mutex<HashMap<String, i64>>,
    /// Held while the panel's changes are taken up.
    reloading: tokio::sync::Mutex<()>,
    /// How shops added in the panel book, if this ledgerlink takes them.
    shop_app: std::sync::OnceLock<added_shops::ShopApp>,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        connections: Vec<Connection>,
        options: EngineOptions,
    ) -> Self {
        let metrics = Arc::new(Metrics::default());
        for connection in &connections {
            metrics.add_connection(&connection.id);
        }
        Engine {
            store,
            connections: std::sync::RwLock::new(
                connections
                    .into_iter()
                    .map(|c| (c.id.clone(), Arc::new(c)))
                    .collect(),
            ),
            not_live: std::sync::Mutex::default(),
            worker_id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            options,
            notifier: Notifier::default(),
            metrics,
            work_arrived: tokio::sync::Notify::new(),
            paused: std::sync::Mutex::default(),
            taken_up: std::sync::Mutex::default(),
            reloading: tokio::sync::Mutex::new(()),
            shop_app: std::sync::OnceLock::new(),
        }
    }

    /// Wakes an idle worker: there is work now.
    pub(crate) fn notify_work(&self) {
        self.work_arrived.notify_one();
    }

    /// Waits until a webhook delivery arrives (or arrived since the last wait), at most
    /// `longest`: the idle loop's pause, which a new order cuts short.
    pub async fn wait_for_work(&self, longest: Duration) {
        let _ = tokio::time::timeout(longest, self.work_arrived.notified()).await;
    }

    /// Sends notifications as `settings` say, from a background task (needs a tokio runtime).
    pub fn with_notifications(mut self, settings: notify::Settings) -> anyhow::Result<Self> {
        self.notifier = Notifier::start(settings, self.store.clone(), self.metrics.clone())?;
        Ok(self)
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// The metrics in Prometheus's text format, with the ledger's numbers read now.
    pub async fn render_metrics(&self) -> anyhow::Result<String> {
        let now = chrono::Utc::now();
        for id in self.connection_ids() {
            let Some(connection) = self.connection(&id) else {
                continue;
            };
            let id = &id;
            self.metrics
                .documents(id, &self.store.state_counts(id).await?);
            let system = connection.target.kind().as_str();
            let calls = self
                .store
                .audit_count(id, system, chrono::DateTime::UNIX_EPOCH, now)
                .await?;
            self.metrics.target_calls(id, system, calls);
        }
        Ok(self.metrics.render())
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn connection(&self, id: &str) -> Option<Arc<Connection>> {
        self.read_connections().get(id).cloned()
    }

    pub fn connection_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.read_connections().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The connections that book: all but shops added in the panel and not made live yet.
    pub fn live_connection_ids(&self) -> Vec<String> {
        let not_live = self.not_live();
        let mut ids = self.connection_ids();
        ids.retain(|id| !not_live.contains(id));
        ids
    }

    pub fn is_live(&self, id: &str) -> bool {
        !self.not_live().contains(id)
    }

    /// Adds a connection while running (a shop added in the panel), or replaces it (connected
    /// to its Exact division); `live` says whether it books yet.
    pub fn install(&self, connection: Connection, live: bool) {
        let id = connection.id.clone();
        self.metrics.add_connection(&id);
        if live {
            self.not_live().remove(&id);
        } else {
            self.not_live().insert(id.clone());
        }
        self.connections
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Arc::new(connection));
    }

    fn not_live_ids(&self) -> Vec<String> {
        self.not_live().iter().cloned().collect()
    }

    /// The connection books from now on.
    pub fn make_live(&self, id: &str) {
        self.not_live().remove(id);
    }

    fn read_connections(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Connection>>> {
        // Nothing panics while holding it; a poisoned lock still holds whole connections.
        self.connections.read().unwrap_or_else(|e| e.into_inner())
    }

    fn not_live(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.not_live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks every account, journal and VAT code the settings name against the target's
    /// own lists, so that an unknown code is reported at start, naming its setting. `Ok`
    /// carries warnings for targets that could not be asked (e.g. not connected yet); `Err`
    /// the problems found.
    pub async fn check_target_codes(&self) -> Result<Vec<String>, Vec<String>> {
        let mut warnings = Vec::new();
        let mut problems = Vec::new();
        for id in self.connection_ids() {
            let Some(connection) = self.connection(&id) else {
                continue;
            };
            let settings = connection.settings.get();
            let vat_codes: Vec<(String, String)> = settings
                .vat_codes
                .iter()
                .map(|(key, code)| (format!("vat_codes.\"{key}\""), code.clone()))
                .collect();
            match connection
                .target
                .unknown_codes(&settings.account_codes(), &settings.journal_codes(), &vat_codes)
                .await
            {
                Ok(unknown) => problems.extend(unknown.into_iter().map(|(setting, code)| {
                    format!(
                        "`connections.{id}.booking.{setting}`: `{code}` does not exist in the {} books; correct the setting or create it there",
                        connection.target.kind().as_str()
                    )
                })),
                Err(error) => warnings.push(format!(
                    "{id}: the settings' codes could not be checked against the target yet ({}); they are checked before each booking",
                    error.message_for_user
                )),
            }
        }
        if problems.is_empty() {
            Ok(warnings)
        } else {
            Err(problems)
        }
    }

    /// Takes up the shops, rules and recipients set in the panel (by this process or another
    /// on the same ledger) that it has not taken up yet; returns the connections whose rules
    /// or recipients changed. A connection whose stored rules do not load keeps the ones in
    /// force, and says so in the log, without holding up the others.
    pub async fn reload_settings(&self) -> anyhow::Result<Vec<String>> {
        // One at a time: a slower reload must not put older rules back after a newer one.
        let _one_at_a_time = self.reloading.lock().await;
        if self.shop_app().is_some() {
            self.sync_added_shops().await;
        }
        let mut changed = Vec::new();
        for id in self.connection_ids() {
            match self.reload_connection(&id).await {
                Ok(true) => changed.push(id),
                Ok(false) => {}
                Err(error) => tracing::error!(
                    connection = %id,
                    %error,
                    "the rules or recipients set in the panel are not taken up; those in force stay"
                ),
            }
        }
        Ok(changed)
    }

    /// `true` when the connection's rules or recipients changed (not at the first reading).
    async fn reload_connection(&self, id: &str) -> anyhow::Result<bool> {
        let Some(connection) = self.connection(id) else {
            return Ok(false);
        };
        let Some(record) = self.store.connection(id).await? else {
            return Ok(false);
        };
        let taken_up = self.taken_up().get(id).copied();
        if taken_up.is_some_and(|taken| taken >= record.settings_revision) {
            return Ok(false);
        }
        let settings: BookingSettings = serde_json::from_value(record.settings_json).map_err(|e| {
            anyhow::anyhow!("the booking rules of `{id}` set in the panel do not load ({e}): `ledgerlink reset-rules {id}` puts the default ones back")
        })?;
        let recipients = record
            .notifications
            .map(|(json, _)| serde_json::from_value::<notify::Recipients>(json))
            .transpose()
            .map_err(|e| {
                anyhow::anyhow!("the notifications of `{id}` set in the panel do not load ({e}): `ledgerlink reset-rules {id}` puts the default ones back")
            })?;
        self.notifier
            .set_recipients(id, &record.name, connection.target.kind(), recipients);
        connection.settings.replace(Arc::new(settings));
        self.taken_up()
            .insert(id.to_string(), record.settings_revision);
        Ok(taken_up.is_some())
    }

    fn taken_up(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.taken_up.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Works until no document is due, or `max_rounds` rounds have passed. Returns the number
    /// of documents worked on.
    pub async fn run_until_idle(&self, max_rounds: usize) -> anyhow::Result<usize> {
        let mut worked = 0;
        for _ in 0..max_rounds {
            let done = self.run_due().await?;
            if done == 0 {
                break;
            }
            worked += done;
        }
        Ok(worked)
    }
}
