//! The settings file (TOML) with `LEDGERLINK_` environment overrides, and building the
//! engine's connections from it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use ledgerlink_core::Email;
use ledgerlink_lookups::vies::{ViesClient, VIES_REST_API};
use ledgerlink_rules::BookingSettings;
use ledgerlink_sources::prestashop::{PrestaClient, PrestaCredentials};
use ledgerlink_sources::woocommerce::{WooClient, WooCredentials};
use ledgerlink_store::audit::Auditor;
use ledgerlink_store::crypto::{SealError, SETTINGS_PREFIX};
use ledgerlink_store::{ConnectionRecord, Keyring, Store};
use ledgerlink_targets::exact::{ExactApp, ExactSettings, ExactTarget};
use ledgerlink_targets::tryton::{TrytonSettings, TrytonTarget};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::notify::{self, EventKind, Recipients, ReportEvery, Route, SmtpTls, Webhook};
use crate::{Connection, LiveSettings, Source, Target};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the ledger is kept: a SQLite file, or a PostgreSQL URL for several processes.
    #[serde(default = "default_database")]
    pub database: Database,
    /// Where `serve` listens for webhooks.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Seconds between sweeps of each source (catches missed webhooks).
    #[serde(default = "default_sweep")]
    pub sweep_seconds: u64,
    /// Seconds before an HTTP call to a source or target is given up (its outcome then unknown).
    #[serde(default = "default_timeout")]
    pub http_timeout_seconds: u64,
    /// The longest wait before a document that keeps failing (the target down, faults) is
    /// tried again; waits double from 2 s up to this.
    #[serde(default = "default_retry_max")]
    pub retry_max_seconds: u64,
    /// The VIES REST API, for connections with `vies_check` on (the EC's:
    /// `https://ec.europa.eu/taxation_customs/vies/rest-api`).
    #[serde(default)]
    pub vies_url: Option<String>,
    /// The mail server that notifications are sent through.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// A file holding the keyring that seals credentials: one key a line, current first
    /// (`LEDGERLINK_KEY` holds the keys themselves instead).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub connections: Vec<ConnectionConfig>,
    /// Shops merchants add in the control panel, and the Exact Online app they book through.
    #[serde(default)]
    pub panel: Option<PanelConfig>,
    /// The keyring from `LEDGERLINK_KEY` or `key_file`, if either is set.
    #[serde(skip)]
    pub keyring: Option<Keyring>,
    /// The settings the file holds sealed, and the key of each.
    #[serde(skip)]
    pub sealed_settings: Vec<SealedSetting>,
}

/// A setting the file holds sealed (`enc:v1:<key id>:<data>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSetting {
    /// The connection it is sealed for; `None` for the file's own settings (`smtp.password`).
    pub connection: Option<String>,
    /// Its name within the connection (`source.consumer_secret`) or the file (`smtp.password`).
    pub field: String,
    pub key_id: String,
}

impl SealedSetting {
    /// The setting's full name, as errors name it.
    pub fn setting(&self) -> String {
        setting_name(self.connection.as_deref(), &self.field)
    }
}

fn setting_name(connection: Option<&str>, field: &str) -> String {
    match connection {
        Some(id) => format!("connections.{id}.{field}"),
        None => field.to_string(),
    }
}

/// The secrets of a connection that may be sealed, by their name within the connection.
pub const SEALABLE_CONNECTION_FIELDS: [&str; 7] = [
    "source.api_key",
    "source.consumer_key",
    "source.consumer_secret",
    "source.webhook_secrets",
    "target.client_secret",
    "target.password",
    "notifications.webhook_secret",
];
/// The file's own secrets that may be sealed; they belong to no connection.
pub const SEALABLE_FILE_FIELDS: [&str; 2] = ["smtp.password", "panel.exact_client_secret"];

/// `secret` sealed for `field` of `connection` (no connection for the file's own settings),
/// as the settings file takes it: `enc:v1:<key id>:<data>`.
pub fn seal_setting(
    keyring: &Keyring,
    connection: Option<&str>,
    field: &str,
    secret: &str,
) -> anyhow::Result<String> {
    match connection {
        Some(_) if SEALABLE_CONNECTION_FIELDS.contains(&field) => {}
        None if SEALABLE_FILE_FIELDS.contains(&field) => {}
        Some(_) if SEALABLE_FILE_FIELDS.contains(&field) => {
            anyhow::bail!("`{field}` belongs to no connection: leave out --connection")
        }
        None if SEALABLE_CONNECTION_FIELDS.contains(&field) => {
            anyhow::bail!("`{field}` is a connection's setting: name it with --connection")
        }
        _ => anyhow::bail!(
            "`{field}` is not a secret setting; these are: {}",
            SEALABLE_CONNECTION_FIELDS
                .iter()
                .chain(&SEALABLE_FILE_FIELDS)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    Ok(format!(
        "{SETTINGS_PREFIX}{}",
        keyring.seal(secret, connection.unwrap_or_default(), field)
    ))
}

/// The keyring from `LEDGERLINK_KEY` or from `key_file`. Both at once are refused, so that it
/// is never a question which one seals.
pub fn keyring(key_file: Option<&Path>) -> anyhow::Result<Option<Keyring>> {
    let from_env = Keyring::from_env()?;
    Ok(match (from_env, key_file) {
        (Some(_), Some(path)) => anyhow::bail!(
            "both {} and `key_file` ({}) are set: keep one of them",
            ledgerlink_store::crypto::KEY_ENV,
            path.display()
        ),
        (Some(keyring), None) => Some(keyring),
        (None, Some(path)) => Some(Keyring::from_file(path)?),
        (None, None) => None,
    })
}

/// The keyring of a settings file — `LEDGERLINK_KEY`, or the file's `key_file` — read without
/// the rest of its settings (which may need the key to load).
pub fn keyring_of_settings(path: &Path) -> anyhow::Result<Option<Keyring>> {
    let key_file = if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the settings file {}", path.display()))?;
        let table: toml::Table = text.parse().map_err(|_| {
            anyhow::anyhow!("the settings in {} are not valid TOML", path.display())
        })?;
        match table.get("key_file") {
            Some(toml::Value::String(file)) => Some(PathBuf::from(file)),
            Some(_) => anyhow::bail!(
                "the settings in {} are not valid: `key_file`: expected a path",
                path.display()
            ),
            None => None,
        }
    } else {
        None
    };
    keyring(key_file.as_deref())
}

/// Opens the sealed secrets of the settings in place, noting each; the problems name the
/// setting, never its value.
struct Unsealer<'k> {
    keyring: Option<&'k Keyring>,
    sealed: Vec<SealedSetting>,
    problems: Vec<String>,
}

impl Unsealer<'_> {
    fn unseal(&mut self, secret: &mut SecretString, connection: Option<&str>, field: &str) {
        let Some(sealed) = secret.expose_secret().strip_prefix(SETTINGS_PREFIX) else {
            return;
        };
        let setting = setting_name(connection, field);
        let seal_again = match connection {
            Some(id) => format!("ledgerlink key seal --connection {id} --field {field}"),
            None => format!("ledgerlink key seal --field {field}"),
        };
        let Some(keyring) = self.keyring else {
            self.problems.push(format!(
                "`{setting}`: sealed, but no key is set: set {} or `key_file`",
                ledgerlink_store::crypto::KEY_ENV
            ));
            return;
        };
        match keyring.open(sealed, connection.unwrap_or_default(), field) {
            Ok(plain) => {
                self.sealed.push(SealedSetting {
                    connection: connection.map(str::to_string),
                    field: field.to_string(),
                    key_id: Keyring::key_id(sealed).unwrap_or_default().to_string(),
                });
                *secret = plain.into();
            }
            Err(SealError::Malformed) => self.problems.push(format!(
                "`{setting}`: starts with `{SETTINGS_PREFIX}` but is not a sealed value; seal the secret with `{seal_again}`"
            )),
            Err(SealError::UnknownKey(id)) => self.problems.push(format!(
                "`{setting}`: sealed with key `{id}`, which the keyring lacks: add that key, or seal the secret again with `{seal_again}`"
            )),
            Err(SealError::Mismatch(_)) => self.problems.push(format!(
                "`{setting}`: the sealed value is not for this setting (it was sealed for another connection or setting, or altered): seal the secret with `{seal_again}`"
            )),
        }
    }

    fn unseal_all(&mut self, config: &mut Config) {
        if let Some(password) = config.smtp.as_mut().and_then(|smtp| smtp.password.as_mut()) {
            self.unseal(password, None, "smtp.password");
        }
        if let Some(panel) = config.panel.as_mut() {
            self.unseal(
                &mut panel.exact_client_secret,
                None,
                "panel.exact_client_secret",
            );
        }
        for connection in &mut config.connections {
            let id = Some(connection.id.as_str());
            match &mut connection.source {
                SourceConfig::Prestashop { api_key, .. } => {
                    self.unseal(api_key, id, "source.api_key")
                }
                SourceConfig::Woocommerce {
                    consumer_key,
                    consumer_secret,
                    webhook_secrets,
                    ..
                } => {
                    self.unseal(consumer_key, id, "source.consumer_key");
                    self.unseal(consumer_secret, id, "source.consumer_secret");
                    for secret in webhook_secrets {
                        self.unseal(secret, id, "source.webhook_secrets");
                    }
                }
            }
            match &mut connection.target {
                TargetConfig::Tryton { password, .. } => {
                    self.unseal(password, id, "target.password")
                }
                TargetConfig::Exact { client_secret, .. } => {
                    self.unseal(client_secret, id, "target.client_secret")
                }
            }
            if let Some(secret) = connection
                .notifications
                .as_mut()
                .and_then(|n| n.webhook_secret.as_mut())
            {
                self.unseal(secret, id, "notifications.webhook_secret");
            }
        }
    }
}

/// Before anything is booked: every credential the ledger holds must open with `keyring`,
/// and new ones must be sealed, so a keyring is needed. Credentials an older ledgerlink
/// stored in plaintext are sealed now; returns for how many connections.
pub async fn ready_credentials(
    store: &dyn Store,
    keyring: Option<&Keyring>,
) -> anyhow::Result<usize> {
    let keys = store.credential_keys().await?;
    let set_key = format!(
        "set {} or `key_file` (docs/settings.md)",
        ledgerlink_store::crypto::KEY_ENV
    );
    let Some(keyring) = keyring else {
        if keys.sealed_with.is_empty() {
            anyhow::bail!(
                "no key to encrypt the credentials ledgerlink keeps (OAuth tokens, sessions) with: \
                 make one with `(umask 077; ledgerlink key generate > ledgerlink.key)`, then \
                 name it in the settings (`key_file = \"ledgerlink.key\"`) or {set_key}"
            );
        }
        anyhow::bail!(
            "the ledger holds credentials encrypted with key {}, and no key is set: {set_key} \
             to the keyring they were encrypted with",
            quoted(keys.sealed_with.keys())
        );
    };
    let missing: Vec<(&String, &Vec<String>)> = keys
        .sealed_with
        .iter()
        .filter(|(id, _)| !keyring.contains(id))
        .collect();
    if !missing.is_empty() {
        let found: Vec<String> = missing
            .iter()
            .map(|(id, connections)| {
                format!("connection {} with key `{id}`", quoted(connections.iter()))
            })
            .collect();
        anyhow::bail!(
            "the ledger holds credentials encrypted with keys the keyring lacks ({}): add those \
             keys after the current one, then `ledgerlink key rotate` re-encrypts them with it",
            found.join("; ")
        );
    }
    if keys.unsealed.is_empty() {
        return Ok(0);
    }
    Ok(store.reseal_credentials().await?)
}

fn quoted<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn default_database() -> Database {
    Database::Sqlite(PathBuf::from("ledgerlink.sqlite"))
}

/// The ledger's database: a SQLite file (the embedded default, one process), or PostgreSQL
/// (`postgres://…`), which many `serve` processes on one or many machines share. The URL may
/// hold a password, so it is kept secret and never printed.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(SecretString),
}

impl<'de> Deserialize<'de> for Database {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(
            if text.starts_with("postgres://") || text.starts_with("postgresql://") {
                Database::Postgres(text.into())
            } else {
                Database::Sqlite(PathBuf::from(text))
            },
        )
    }
}

impl Database {
    /// Opens the store, bringing its schema up to date; its credentials sealed with
    /// `keyring`, or neither read nor written without one.
    pub async fn open(&self, keyring: Option<&Keyring>) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            Database::Sqlite(path) => {
                let store = ledgerlink_store::SqliteStore::open(path)
                    .await
                    .with_context(|| {
                        format!("cannot open the ledger database {}", path.display())
                    })?;
                Arc::new(match keyring {
                    Some(keyring) => store.with_keyring(keyring.clone()),
                    None => store,
                })
            }
            Database::Postgres(url) => {
                let store = ledgerlink_store::PostgresStore::connect(url.expose_secret())
                    .await
                    // The error may quote the URL, and with it the password.
                    .map_err(|_| anyhow::anyhow!("cannot open the ledger database on PostgreSQL: check that it runs and that `database` names a database the user may use"))?;
                Arc::new(match keyring {
                    Some(keyring) => store.with_keyring(keyring.clone()),
                    None => store,
                })
            }
        })
    }

    /// How to name it to a person: the file, or "PostgreSQL" without the URL.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(_) => "PostgreSQL".into(),
        }
    }
}
fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_sweep() -> u64 {
    300
}
fn default_retry_max() -> u64 {
    600
}
fn default_timeout() -> u64 {
    30
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub source: SourceConfig,
    pub target: TargetConfig,
    #[serde(default)]
    pub booking: BookingSettings,
    /// Who hears of held documents and failures, and gets the transfer report.
    #[serde(default)]
    pub notifications: Option<NotificationsConfig>,
    /// The e-mail address of the panel user whose merchant account owns this connection: it
    /// joins that account when the user signs up or in.
    #[serde(default)]
    pub owner: Option<Email>,
}

/// `[panel]`: merchants may add shops in the control panel; those book into Exact Online
/// through this app (registered at Exact's App Center), each into the division its merchant
/// connects.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelConfig {
    /// `https://start.exactonline.nl` (or `.be`, …).
    pub exact_base_url: String,
    pub exact_client_id: String,
    pub exact_client_secret: SecretString,
    /// This server's `/oauth/exact/callback` as browsers reach it: the app's redirect URI.
    pub exact_redirect_uri: String,
    /// This server's address as the shops reach it (`https://ledgerlink.example.nl`): their
    /// webhooks go to `<public_url>/webhooks/woocommerce/<connection>`.
    pub public_url: String,
    /// Shops on this machine or a private network, or over plain http, may be added (to try
    /// ledgerlink out with its emulators); off, a merchant's address cannot make ledgerlink
    /// call into the operator's own network.
    #[serde(default)]
    pub allow_private_shops: bool,
}

/// `[smtp]`: the mail server notifications go out through.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 25 without TLS, 587 with STARTTLS, 465 with TLS.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretString>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// The sender of the notifications.
    pub from: Email,
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.tls.default_port())
    }
}

/// `[connections.notifications]`, as written; [`notify_settings`] checks it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Addresses that get the e-mails (through `[smtp]`).
    #[serde(default)]
    pub email: Vec<String>,
    /// Where the same facts are POSTed as JSON.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Signs each webhook body (`X-Ledgerlink-Signature`).
    #[serde(default)]
    pub webhook_secret: Option<SecretString>,
    /// `held`, `auth_failure`, `budget_exhausted`; all by default.
    #[serde(default = "all_events")]
    pub events: Vec<String>,
    /// `off`, `daily` or `weekly` (Mondays).
    #[serde(default = "daily")]
    pub report: String,
    /// The hour (UTC) the report is due.
    #[serde(default = "report_hour")]
    pub report_hour: u32,
}

/// Webhook addresses often carry a token in their path, so only the host is shown.
impl std::fmt::Debug for NotificationsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let webhook_host = self.webhook_url.as_deref().map(|url| {
            reqwest::Url::parse(url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_string))
        });
        f.debug_struct("NotificationsConfig")
            .field("email", &self.email)
            .field("webhook_host", &webhook_host)
            .field("webhook_secret", &self.webhook_secret)
            .field("events", &self.events)
            .field("report", &self.report)
            .field("report_hour", &self.report_hour)
            .finish()
    }
}

fn all_events() -> Vec<String> {
    EventKind::ALL
        .iter()
        .map(|e| e.as_str().to_string())
        .collect()
}
fn daily() -> String {
    ReportEvery::Daily.as_str().into()
}
fn report_hour() -> u32 {
    7
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            email: Vec::new(),
            webhook_url: None,
            webhook_secret: None,
            events: all_events(),
            report: daily(),
            report_hour: report_hour(),
        }
    }
}

/// The notifier's settings from the file's `[smtp]` and each connection's
/// `[connections.notifications]`; `Err` names every setting to fix.
pub fn notify_settings(
    smtp: Option<&SmtpConfig>,
    connections: &[ConnectionConfig],
) -> Result<notify::Settings, Vec<String>> {
    let mut problems = Vec::new();
    if let Some(smtp) = smtp {
        if smtp.host.trim().is_empty() {
            problems.push("`smtp.host`: empty; name the mail server".to_string());
        }
        match (&smtp.username, &smtp.password) {
            (Some(_), None) => {
                problems.push("`smtp.password`: missing, and `smtp.username` is set".into())
            }
            (None, Some(_)) => {
                problems.push("`smtp.username`: missing, and `smtp.password` is set".into())
            }
            _ => {}
        }
        if let Err(e) = notify::mailbox(&smtp.from) {
            problems.push(format!("`smtp.from`: {e}"));
        }
    }
    let mut routes = std::collections::HashMap::new();
    for connection in connections {
        let Some(wanted) = &connection.notifications else {
            continue;
        };
        match route(connection, wanted, smtp.is_some()) {
            Ok(route) => {
                routes.insert(connection.id.clone(), route);
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(notify::Settings {
            smtp: smtp.cloned(),
            routes,
            retry: notify::Retry::default(),
        })
    } else {
        Err(problems)
    }
}

fn route(
    connection: &ConnectionConfig,
    wanted: &NotificationsConfig,
    has_smtp: bool,
) -> Result<Route, Vec<String>> {
    let mut problems = Vec::new();
    let mut problem = |key: &str, text: String| {
        problems.push(format!(
            "`connections.{}.notifications.{key}`: {text}",
            connection.id
        ))
    };
    let recipients = Recipients::parse(
        &wanted.email,
        &wanted.events,
        &wanted.report,
        wanted.report_hour,
    );
    if let Err(found) = &recipients {
        for (key, text) in found {
            problem(key, text.clone());
        }
    }
    if !wanted.email.is_empty() && !has_smtp {
        problem(
            "email",
            "e-mail needs a mail server: add an `[smtp]` table (see docs/settings.md)".into(),
        );
    }
    // The address is not quoted: webhook addresses often carry a token.
    let url = match &wanted.webhook_url {
        Some(url) => match reqwest::Url::parse(url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            _ => {
                problem("webhook_url", "not an http:// or https:// address".into());
                None
            }
        },
        None => None,
    };
    if wanted.webhook_secret.is_some() && wanted.webhook_url.is_none() {
        problem(
            "webhook_secret",
            "set, but there is no `webhook_url` to sign for".into(),
        );
    }
    let recipients = match recipients {
        Ok(recipients) if problems.is_empty() => recipients,
        _ => return Err(problems),
    };
    Ok(Route {
        name: if connection.name.is_empty() {
            connection.id.clone()
        } else {
            connection.name.clone()
        },
        target: connection.target.kind(),
        email: recipients.email,
        webhook: url.map(|url| Webhook {
            url,
            secret: wanted.webhook_secret.clone(),
        }),
        events: recipients.events,
        report: recipients.report,
        report_hour: recipients.report_hour,
    })
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// A PrestaShop shop's webservice; it has no webhooks, so it is polled every
    /// `sweep_seconds`.
    Prestashop {
        url: String,
        /// The webservice key (Advanced Parameters > Webservice) with read access to orders,
        /// order_details, order_histories, order_states, order_slip, customers, addresses,
        /// countries, currencies and taxes (and products and categories for revenue rules by
        /// product category).
        api_key: SecretString,
    },
    Woocommerce {
        url: String,
        consumer_key: SecretString,
        consumer_secret: SecretString,
        /// Secrets the shop's webhooks are signed with (old and new during a rotation).
        #[serde(default)]
        webhook_secrets: Vec<SecretString>,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetConfig {
    /// A Tryton server (JSON-RPC), e.g. the one `tools/tryton/setup.sh` starts.
    Tryton {
        url: String,
        database: String,
        username: String,
        password: SecretString,
    },
    Exact {
        base_url: String,
        division: i32,
        client_id: String,
        client_secret: SecretString,
        redirect_uri: String,
    },
}

/// Describes what is wrong with the settings without quoting values: a misplaced secret would
/// otherwise be printed in the error.
fn describe(errors: figment::Error) -> String {
    use figment::error::Kind;
    errors
        .into_iter()
        .map(|error| {
            // figment names the field in the path for some kinds and not for others.
            let at = |field: &str| {
                let mut path = error.path.clone();
                if path.last().map(String::as_str) != Some(field) {
                    path.push(field.to_string());
                }
                path.join(".")
            };
            match &error.kind {
                Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
                    format!("`{}`: expected {expected}", error.path.join("."))
                }
                Kind::UnknownField(field, _) => format!("unknown key `{}`", at(field)),
                Kind::MissingField(field) => format!("missing `{}`", at(field)),
                other => format!("`{}`: {other}", error.path.join(".")),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The bookkeeping defaults that depend on the shop: `BookingSettings::default()` has
/// WooCommerce's status slugs and prefix; a PrestaShop shop's statuses are its own, so it
/// books at any status flagged paid, skips the standard Canceled (6) and Payment error (8)
/// statuses, and its references start with `PS-`. Only keys the file leaves out are added.
fn add_source_defaults(file: &mut toml::Table) {
    let Some(toml::Value::Array(connections)) = file.get_mut("connections") else {
        return;
    };
    for connection in connections.iter_mut().filter_map(toml::Value::as_table_mut) {
        let source = connection
            .get("source")
            .and_then(|s| s.get("type"))
            .and_then(toml::Value::as_str);
        if source != Some("prestashop") {
            continue;
        }
        let Some(booking) = connection
            .entry("booking")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
        else {
            continue;
        };
        let strings = |items: &[&str]| {
            toml::Value::Array(
                items
                    .iter()
                    .map(|i| toml::Value::String(i.to_string()))
                    .collect(),
            )
        };
        for (key, value) in [
            ("triggers", strings(&["flag:paid"])),
            ("skip_statuses", strings(&["state:6", "state:8"])),
            ("reference_prefix", toml::Value::String("PS-".into())),
        ] {
            booking.entry(key).or_insert(value);
        }
    }
}

/// The bookkeeping rules a new connection to a shop of kind `source` (`woocommerce`,
/// `prestashop`) starts with: what the settings file gives when its table is left out.
pub fn default_booking(source: &str) -> BookingSettings {
    let mut shop = toml::Table::new();
    shop.insert("type".into(), toml::Value::String(source.into()));
    let mut connection = toml::Table::new();
    connection.insert("source".into(), toml::Value::Table(shop));
    let mut file = toml::Table::new();
    file.insert(
        "connections".into(),
        toml::Value::Array(vec![toml::Value::Table(connection)]),
    );
    add_source_defaults(&mut file);
    file["connections"][0]
        .get("booking")
        .cloned()
        .and_then(|booking| booking.try_into().ok())
        .unwrap_or_default()
}

/// Settings that `LEDGERLINK_<NAME>` environment variables override.
const OVERRIDABLE: [&str; 6] = [
    "database",
    "listen",
    "sweep_seconds",
    "http_timeout_seconds",
    "retry_max_seconds",
    "vies_url",
];

impl Config {
    /// Reads the file, then applies the `LEDGERLINK_*` variables that name a top-level
    /// setting (e.g. `LEDGERLINK_DATABASE=/var/lib/ledgerlink.sqlite`); others, such as
    /// `LEDGERLINK_CONFIG`, belong to the command line and are not settings.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        if !path.exists() {
            anyhow::bail!(
                "the settings file {} does not exist; see docs/settings.md for an example",
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the settings file {}", path.display()))?;
        let mut config = Config::parse(&text).map_err(|e| {
            anyhow::anyhow!("the settings in {} are not valid: {e}", path.display())
        })?;
        let keyring = keyring(config.key_file.as_deref())?;
        let mut unsealer = Unsealer {
            keyring: keyring.as_ref(),
            sealed: Vec::new(),
            problems: Vec::new(),
        };
        unsealer.unseal_all(&mut config);
        let mut problems = unsealer.problems;
        config.sealed_settings = unsealer.sealed;
        config.keyring = keyring;
        problems.extend(config.check_booking().err());
        problems.extend(config.notify_settings().err().unwrap_or_default());
        if !problems.is_empty() {
            anyhow::bail!(
                "the settings in {} are not valid: {}",
                path.display(),
                problems.join("; ")
            );
        }
        Ok(config)
    }

    /// The settings a file's text holds, with the `LEDGERLINK_*` overrides, as written: not
    /// unsealed and not checked yet (that is [`Config::load`]'s). `Err` says what is wrong
    /// without quoting a value.
    pub fn parse(text: &str) -> Result<Config, String> {
        // A file that is not valid TOML is left to figment, which reports it without quoting.
        let text = match text.parse::<toml::Table>() {
            Ok(mut table) => {
                add_source_defaults(&mut table);
                table.to_string()
            }
            Err(_) => text.to_string(),
        };
        Figment::new()
            .merge(Toml::string(&text))
            .merge(Env::prefixed("LEDGERLINK_").only(&OVERRIDABLE))
            .extract()
            .map_err(describe)
    }

    /// Opens the ledger with the keyring, if there is one.
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.database.open(self.keyring.as_ref()).await
    }

    /// What the notifier needs from `[smtp]` and the connections' notifications.
    pub fn notify_settings(&self) -> Result<notify::Settings, Vec<String>> {
        notify_settings(self.smtp.as_ref(), &self.connections)
    }

    /// Misconfigured bookkeeping rules are reported now, naming the setting, rather than as
    /// held documents (or a target's error) later.
    pub fn check_booking(&self) -> Result<(), String> {
        let today = chrono::Utc::now().date_naive();
        let mut problems = Vec::new();
        for connection in &self.connections {
            if let Err(found) = connection.booking.validate(today) {
                problems.extend(found.iter().map(|p| {
                    format!(
                        "`connections.{}.booking.{}`: {}",
                        connection.id, p.setting, p.problem
                    )
                }));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_seconds)
    }

    /// The engine's timing from the settings: the longest retry wait, and a lease four HTTP
    /// timeouts long — long enough for a booking call to end under it, short enough that a
    /// killed worker's documents are taken up soon (120 s with the default 30 s timeout).
    pub fn engine_options(&self) -> crate::EngineOptions {
        let defaults = crate::EngineOptions::default();
        let max_backoff = Duration::from_secs(self.retry_max_seconds.max(1));
        crate::EngineOptions {
            // Saturating, and at most a day (as far ahead as a worker schedules anything): a
            // timeout of any size in the file must still give a lease a worker can hold.
            lease: (self.http_timeout().saturating_mul(4))
                .clamp(Duration::from_secs(10), Duration::from_secs(86_400)),
            max_backoff,
            retry_base: defaults.retry_base.min(max_backoff),
            ..defaults
        }
    }
}

impl SourceConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Prestashop { .. } => "prestashop",
            SourceConfig::Woocommerce { .. } => "woocommerce",
        }
    }
}

impl TargetConfig {
    pub fn kind(&self) -> ledgerlink_targets::TargetKind {
        match self {
            TargetConfig::Tryton { .. } => ledgerlink_targets::TargetKind::Tryton,
            TargetConfig::Exact { .. } => ledgerlink_targets::TargetKind::Exact,
        }
    }
}

impl ConnectionConfig {
    /// The booking rules the ledger holds for the connection: the file's, or those a person
    /// set in the panel, which outlast the file until reset there.
    async fn settings_in_force(&self, store: &dyn Store) -> anyhow::Result<LiveSettings> {
        let record = store
            .connection(&self.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("connection `{}` is not in the ledger", self.id))?;
        let from_file = LiveSettings::new(self.booking.clone());
        let Some(edit) = &record.settings_edited else {
            return Ok(from_file);
        };
        let settings = serde_json::from_value(record.settings_json).map_err(|e| {
            anyhow::anyhow!(
                "the booking settings of `{}` that {} set in the panel do not load ({e}): `ledgerlink reset-rules {}` puts the settings file's back",
                self.id,
                edit.by,
                self.id
            )
        })?;
        tracing::info!(
            connection = %self.id,
            edited_by = %edit.by,
            edited_at = %edit.at,
            "booking by the rules set in the panel; the settings file's [connections.booking] for this connection is not used until they are reset there"
        );
        Ok(from_file.with_rules_from_panel(settings))
    }

    /// Records the connection in the store and builds its clients.
    pub async fn build(
        &self,
        store: Arc<dyn Store>,
        timeout: Duration,
    ) -> anyhow::Result<Connection> {
        self.build_with_vies(store, timeout, None).await
    }

    /// [`ConnectionConfig::build`], with the VIES service to consult when `vies_check` is on.
    pub async fn build_with_vies(
        &self,
        store: Arc<dyn Store>,
        timeout: Duration,
        vies_url: Option<String>,
    ) -> anyhow::Result<Connection> {
        let connection = self.build_clients(store.clone(), timeout, vies_url)?;
        store
            .upsert_connection(&ConnectionRecord {
                id: self.id.clone(),
                name: if self.name.is_empty() {
                    self.id.clone()
                } else {
                    self.name.clone()
                },
                source_kind: self.source.kind().into(),
                target_kind: self.target.kind().as_str().into(),
                settings_json: serde_json::to_value(&self.booking)?,
                ..ConnectionRecord::default()
            })
            .await?;
        let settings = self.settings_in_force(store.as_ref()).await?;
        if connection.vies.is_none() && settings.get().vies_check {
            anyhow::bail!(
                "connection `{}` has vies_check on but the settings name no vies_url (the EC's is {VIES_REST_API})",
                self.id
            );
        }
        Ok(Connection {
            settings,
            ..connection
        })
    }

    /// The connection's clients, under the settings file's rules, without the ledger: what
    /// [`ConnectionConfig::build_with_vies`] builds, and what trying a shop's keys needs.
    pub fn build_clients(
        &self,
        store: Arc<dyn Store>,
        timeout: Duration,
        vies_url: Option<String>,
    ) -> anyhow::Result<Connection> {
        let source = match &self.source {
            SourceConfig::Prestashop { url, api_key } => {
                let credentials = PrestaCredentials {
                    url: url.clone(),
                    api_key: api_key.clone(),
                };
                let auditor = Auditor::new(store.clone(), &self.id, "prestashop");
                let client = PrestaClient::new(credentials, auditor, timeout)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Source::Prestashop { client }
            }
            SourceConfig::Woocommerce {
                url,
                consumer_key,
                consumer_secret,
                webhook_secrets,
            } => {
                let credentials = WooCredentials {
                    url: url.clone(),
                    consumer_key: consumer_key.clone(),
                    consumer_secret: consumer_secret.clone(),
                };
                let auditor = Auditor::new(store.clone(), &self.id, "woocommerce");
                let client = WooClient::new(credentials, auditor, timeout)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let webhook_secrets = webhook_secrets.clone();
                Source::Woocommerce {
                    client,
                    webhook_secrets,
                }
            }
        };
        let target = match &self.target {
            TargetConfig::Tryton {
                url,
                database,
                username,
                password,
            } => {
                let settings = TrytonSettings {
                    url: url.clone(),
                    database: database.clone(),
                    username: username.clone(),
                    password: password.clone(),
                };
                let target = TrytonTarget::new(settings, store.clone(), &self.id, timeout)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Target::Tryton(Box::new(target))
            }
            TargetConfig::Exact {
                base_url,
                division,
                client_id,
                client_secret,
                redirect_uri,
            } => {
                let app = ExactApp {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    redirect_uri: redirect_uri.clone(),
                };
                let settings = ExactSettings {
                    base_url: base_url.clone(),
                    division: *division,
                };
                let target = ExactTarget::new(app, settings, store.clone(), &self.id, timeout)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Target::Exact(Box::new(target))
            }
        };
        // Built whenever there is a service to ask, so that the rules may turn the check on
        // while running; it is consulted only while `vies_check` is on.
        let vies = match &vies_url {
            Some(url) => {
                let auditor = Auditor::new(store.clone(), &self.id, "vies");
                Some(ViesClient::new(url, auditor, timeout).map_err(|e| anyhow::anyhow!("{e}"))?)
            }
            None => None,
        };
        Ok(Connection {
            id: self.id.clone(),
            owner: self.owner.as_ref().map(|o| o.as_str().to_lowercase()),
            settings: LiveSettings::new(self.booking.clone()),
            source,
            target,
            vies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_settings_file_is_valid() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/ledgerlink.toml"
        ));
        let config = Config::load(path).unwrap();
        assert_eq!(config.connections.len(), 1);
        let booking = &config.connections[0].booking;
        assert_eq!(booking.vat_codes["domestic/21"], "1");
        assert_eq!(booking.rounding_tolerance.to_string(), "0.02");
        assert_eq!(config.http_timeout(), Duration::from_secs(30));
        let smtp = config.smtp.as_ref().unwrap();
        assert_eq!((smtp.tls, smtp.port()), (SmtpTls::Starttls, 587));
        let notify = config.notify_settings().unwrap();
        let route = &notify.routes["my-shop"];
        assert_eq!(route.email[0].as_str(), "bookkeeper@example.nl");
        assert_eq!(route.events.len(), 3);
        assert_eq!((route.report, route.report_hour), (ReportEvery::Daily, 7));
    }

    #[test]
    fn notification_settings_are_checked_when_loaded_naming_each_setting_and_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        let example = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/ledgerlink.toml"
        ))
        .unwrap();
        let bad = example
            .replace("password = \"the mail account's password\"\n", "")
            .replace(
                "username = \"ledgerlink@example.nl\"",
                "username = \"ledgerlink@example.nl\"\npassword = \"SUPERSECRET\"\nport = 2525",
            )
            .replace(
                "email = [\"bookkeeper@example.nl\"]",
                "email = [\"bookkeeper@example.nl\", \"not-an-address\"]",
            )
            .replace("\"budget_exhausted\"]", "\"budget_gone\"]")
            .replace("report = \"daily\"", "report = \"hourly\"")
            .replace("report_hour = 7", "report_hour = 24")
            .replace(
                "# webhook_secret = \"signs",
                "webhook_secret = \"WHSECRET\"\n# \"",
            );
        std::fs::write(&path, &bad).unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        let id = "`connections.my-shop.notifications";
        for expected in [
            format!("{id}.email`: `not-an-address` is not an e-mail address"),
            format!("{id}.events`: `budget_gone` is not an event"),
            format!("{id}.report`: `hourly` is not one of off, daily, weekly"),
            format!("{id}.report_hour`: 24 is not an hour of the day"),
            format!("{id}.webhook_secret`: set, but there is no `webhook_url`"),
        ] {
            assert!(error.contains(&expected), "{expected} in {error}");
        }
        assert!(
            !error.contains("SUPERSECRET") && !error.contains("WHSECRET"),
            "{error}"
        );

        // E-mail needs a mail server; a webhook must be one.
        let without_smtp = example
            .split_once("[smtp]")
            .map(|(head, tail)| format!("{head}{}", &tail[tail.find("[[connections]]").unwrap()..]))
            .unwrap()
            .replace("# webhook_url = ", "webhook_url = ")
            .replace("https://hooks.example.nl", "ftp://hooks.example.nl");
        std::fs::write(&path, without_smtp).unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains(&format!("{id}.email`: e-mail needs a mail server")),
            "{error}"
        );
        assert!(
            error.contains(&format!(
                "{id}.webhook_url`: not an http:// or https:// address"
            )),
            "{error}"
        );
        assert!(!error.contains("ftp://"), "{error}");

        let bad_sender =
            example.replace("from = \"ledgerlink@example.nl\"", "from = \"ledgerlink\"");
        std::fs::write(&path, bad_sender).unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("`smtp.from`: `ledgerlink` is not an e-mail address"),
            "{error}"
        );
    }

    #[test]
    fn a_secret_in_the_wrong_place_is_not_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        let example = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/ledgerlink.toml"
        ))
        .unwrap();
        let wrong = example.replace(
            "webhook_secrets = [\"the secret entered on the shop's webhook\"]",
            "webhook_secrets = \"whsec_SUPERSECRET\"",
        );
        assert_ne!(wrong, example);
        std::fs::write(&path, wrong).unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("`connections.0.source`: expected a sequence"),
            "{error}"
        );
        assert!(!error.contains("SUPERSECRET"), "{error}");
    }

    #[test]
    fn a_treatment_without_a_vat_code_is_named_when_the_settings_are_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        let example = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/ledgerlink.toml"
        ))
        .unwrap();
        let without = example.replace("\"reverse_charge\" = \"4\"\n", "");
        assert_ne!(without, example);
        std::fs::write(&path, without).unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains(
                "`connections.my-shop.booking.vat_codes.\"reverse_charge\"`: no VAT code is mapped"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_prestashop_shop_gets_its_own_status_defaults_unless_the_file_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ps.toml");
        let connection = |id: &str, booking: &str| {
            format!(
                "[[connections]]\nid = \"{id}\"\n[connections.source]\ntype = \"prestashop\"\nurl = \"http://127.0.0.1:1\"\napi_key = \"K\"\n\
                 [connections.target]\ntype = \"tryton\"\nurl = \"http://127.0.0.1:2\"\ndatabase = \"d\"\nusername = \"u\"\npassword = \"p\"\n{booking}"
            )
        };
        let file = connection("plain", "")
            + &connection("own", "[connections.booking]\ntriggers = [\"state:4\"]\n");
        std::fs::write(&path, file).unwrap();
        let config = Config::load(&path).unwrap();
        let plain = &config.connections[0].booking;
        assert_eq!(plain.triggers, ["flag:paid"]);
        assert_eq!(plain.skip_statuses, ["state:6", "state:8"]);
        assert_eq!(plain.reference_prefix, "PS-");
        let own = &config.connections[1].booking;
        assert_eq!(own.triggers, ["state:4"], "what the file says wins");
        assert_eq!(own.reference_prefix, "PS-");
    }

    /// A settings file with every secret it can hold, each a distinct text that contains
    /// `SECRET`, and a key file beside it.
    fn fully_populated(dir: &Path, secrets: &[(&str, &str)]) -> PathBuf {
        let key_file = dir.join("ledgerlink.key");
        if !key_file.exists() {
            Keyring::create_file(&key_file).unwrap();
        }
        let value = |field: &str| {
            secrets
                .iter()
                .find(|(name, _)| *name == field)
                .map(|(_, value)| value.to_string())
                .unwrap_or_else(|| format!("SECRET-{field}"))
        };
        let text = format!(
            r#"
database = "postgres://ledger:SECRET-database@db.example.nl/ledger"
key_file = "{key_file}"
[smtp]
host = "smtp.example.nl"
username = "ledgerlink@example.nl"
password = "{smtp}"
from = "ledgerlink@example.nl"

[[connections]]
id = "woo"
[connections.source]
type = "woocommerce"
url = "https://shop.example.nl"
consumer_key = "{consumer_key}"
consumer_secret = "{consumer_secret}"
webhook_secrets = ["{webhook_secret}", "SECRET-webhook-old"]
[connections.target]
type = "exact"
base_url = "https://start.exactonline.nl"
division = 1
client_id = "app"
client_secret = "{client_secret}"
redirect_uri = "https://ledgerlink.example.nl/oauth/exact/callback"
[connections.notifications]
webhook_url = "https://hooks.example.nl/SECRET-hook-token"
webhook_secret = "{notifications_secret}"

[[connections]]
id = "presta"
[connections.source]
type = "prestashop"
url = "https://presta.example.nl"
api_key = "{api_key}"
[connections.target]
type = "tryton"
url = "http://127.0.0.1:8000"
database = "tryton"
username = "connector"
password = "{password}"
"#,
            key_file = key_file.display(),
            smtp = value("smtp.password"),
            consumer_key = value("woo.source.consumer_key"),
            consumer_secret = value("woo.source.consumer_secret"),
            webhook_secret = value("woo.source.webhook_secrets"),
            client_secret = value("woo.target.client_secret"),
            notifications_secret = value("woo.notifications.webhook_secret"),
            api_key = value("presta.source.api_key"),
            password = value("presta.target.password"),
        );
        let path = dir.join("ledgerlink.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn no_secret_shows_in_the_debug_output_of_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&fully_populated(dir.path(), &[])).unwrap();
        let Some(TargetConfig::Tryton { password, .. }) =
            config.connections.get(1).map(|c| &c.target)
        else {
            panic!("the second connection books into Tryton");
        };
        assert_eq!(password.expose_secret(), "SECRET-presta.target.password");
        let key = std::fs::read_to_string(dir.path().join("ledgerlink.key")).unwrap();
        let (_, key) = key.trim().split_once(':').unwrap();
        for shown in [format!("{config:?}"), format!("{config:#?}")] {
            assert!(!shown.contains("SECRET"), "{shown}");
            assert!(!shown.contains(key), "the key: {shown}");
            assert!(shown.contains("key_ids"), "{shown}");
        }
    }

    #[test]
    fn a_sealed_secret_opens_for_its_own_connection_and_setting_only() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Keyring::create_file(&dir.path().join("ledgerlink.key")).unwrap();
        let sealed = |connection: Option<&str>, field: &str, secret: &str| {
            seal_setting(&keyring, connection, field, secret).unwrap()
        };
        let consumer_secret = sealed(Some("woo"), "source.consumer_secret", "SECRET-cs");
        let password = sealed(Some("presta"), "target.password", "SECRET-pw");
        let smtp = sealed(None, "smtp.password", "SECRET-smtp");
        assert!(consumer_secret.starts_with(&format!("enc:v1:{}:", keyring.current_id())));
        let path = fully_populated(
            dir.path(),
            &[
                ("woo.source.consumer_secret", &consumer_secret),
                ("presta.target.password", &password),
                ("smtp.password", &smtp),
            ],
        );
        let config = Config::load(&path).unwrap();
        let SourceConfig::Woocommerce {
            consumer_secret: opened,
            ..
        } = &config.connections[0].source
        else {
            panic!("a WooCommerce shop");
        };
        assert_eq!(opened.expose_secret(), "SECRET-cs");
        let smtp_password = config.smtp.as_ref().unwrap().password.as_ref().unwrap();
        assert_eq!(smtp_password.expose_secret(), "SECRET-smtp");
        assert_eq!(
            config
                .sealed_settings
                .iter()
                .map(SealedSetting::setting)
                .collect::<Vec<_>>(),
            [
                "smtp.password",
                "connections.woo.source.consumer_secret",
                "connections.presta.target.password"
            ]
        );

        // Sealed for another connection, for another setting, altered, or with no key set:
        // refused, naming the setting and never the value.
        let cases = [
            ("woo.source.consumer_secret", password.clone(), "`connections.woo.source.consumer_secret`: the sealed value is not for this setting"),
            ("woo.target.client_secret", consumer_secret.clone(), "`connections.woo.target.client_secret`: the sealed value is not for this setting"),
            ("presta.source.api_key", "enc:nonsense".to_string(), "`connections.presta.source.api_key`: starts with `enc:` but is not a sealed value"),
        ];
        for (field, value, expected) in cases {
            let path = fully_populated(dir.path(), &[(field, &value)]);
            let error = Config::load(&path).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
            assert!(
                error.contains("ledgerlink key seal --connection"),
                "says how to fix it: {error}"
            );
            assert!(
                !error.contains("SECRET") && !error.contains(&value),
                "{error}"
            );
        }
        let path = fully_populated(dir.path(), &[("smtp.password", &smtp)]);
        let without_key = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with("key_file"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&path, without_key).unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("`smtp.password`: sealed, but no key is set"),
            "{error}"
        );
    }

    #[test]
    fn sealing_names_the_settings_that_can_be_sealed() {
        let keyring = Keyring::ephemeral();
        let error = |connection, field| {
            seal_setting(&keyring, connection, field, "x")
                .unwrap_err()
                .to_string()
        };
        assert!(error(Some("shop"), "smtp.password").contains("leave out --connection"));
        assert!(error(None, "target.password").contains("name it with --connection"));
        let unknown = error(Some("shop"), "target.url");
        assert!(
            unknown.contains("`target.url` is not a secret setting")
                && unknown.contains("source.consumer_secret"),
            "{unknown}"
        );
    }

    /// Found by fuzzing: four times a huge timeout overflowed, and a lease of years could
    /// not be added to the clock.
    #[test]
    fn any_timeout_gives_a_lease_a_worker_can_hold() {
        for seconds in ["9000000000000000000", "1000000000000", "0", "30"] {
            let config = Config::parse(&format!("http_timeout_seconds = {seconds}")).unwrap();
            let lease = chrono::Duration::from_std(config.engine_options().lease).unwrap();
            assert!(
                chrono::Utc::now().checked_add_signed(lease).is_some(),
                "{seconds}"
            );
        }
        let config = Config::parse("http_timeout_seconds = 30").unwrap();
        assert_eq!(config.engine_options().lease, Duration::from_secs(120));
    }

    #[test]
    fn a_misspelt_key_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "databse = \"x.sqlite\"\n").unwrap();
        let error = Config::load(&path).unwrap_err().to_string();
        assert!(error.contains("unknown key `databse`"), "{error}");
        assert!(Config::load(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
    }
}
