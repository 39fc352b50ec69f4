//! Shops a merchant adds in the control panel: their keys checked against the shop, kept in
//! the ledger sealed as the settings file seals secrets (bound to the connection and the
//! field), booking into Exact Online through the settings file's `[panel]` app — in the
//! division the merchant connects — once made live.

use std::time::Duration;

use ledgerlink_store::crypto::SETTINGS_PREFIX;
use ledgerlink_store::{ConnectionRecord, Keyring, PanelConnection};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::{self, ConnectionConfig, PanelConfig, SourceConfig, TargetConfig};
use crate::{Engine, Source};

/// What shops added in the panel need: the Exact app, the key that seals their credentials,
/// and the settings every connection shares.
#[derive(Clone, Debug)]
pub struct ShopApp {
    pub panel: PanelConfig,
    pub keyring: Keyring,
    pub vies_url: Option<String>,
    pub timeout: Duration,
}

/// A shop as a person enters it.
pub enum NewShop {
    Woocommerce {
        url: String,
        consumer_key: SecretString,
        consumer_secret: SecretString,
    },
    Prestashop {
        url: String,
        api_key: SecretString,
    },
}

/// The shop as the ledger keeps it: every secret sealed (`enc:v1:…`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StoredShop {
    Woocommerce {
        url: String,
        consumer_key: String,
        consumer_secret: String,
        /// Signs the webhooks ledgerlink subscribes to when the shop goes live.
        webhook_secret: String,
    },
    Prestashop {
        url: String,
        api_key: String,
    },
}

/// WooCommerce events that make an order (re)considered.
const WEBHOOK_TOPICS: [&str; 3] = ["order.created", "order.updated", "order.deleted"];

impl ShopApp {
    fn seal(&self, connection: &str, field: &str, secret: &str) -> String {
        format!(
            "{SETTINGS_PREFIX}{}",
            self.keyring.seal(secret, connection, field)
        )
    }

    fn open(&self, connection: &str, field: &str, sealed: &str) -> anyhow::Result<SecretString> {
        let data = sealed.strip_prefix(SETTINGS_PREFIX).unwrap_or(sealed);
        self.keyring
            .open(data, connection, field)
            .map(SecretString::from)
            .map_err(|e| anyhow::anyhow!("the shop's `{field}` of `{connection}` does not open: {e}; the key it was sealed with is needed"))
    }

    /// Where the shop's webhooks for `connection` go.
    pub fn webhook_url(&self, connection: &str) -> String {
        format!(
            "{}/webhooks/woocommerce/{connection}",
            self.panel.public_url.trim_end_matches('/')
        )
    }

    /// The settings file's form of the connection, secrets opened.
    fn connection_config(
        &self,
        added: &PanelConnection,
        name: &str,
    ) -> anyhow::Result<ConnectionConfig> {
        let id = added.connection_id.as_str();
        let shop: StoredShop = serde_json::from_value(added.source_json.clone())?;
        let (source, kind) = match shop {
            StoredShop::Woocommerce {
                url,
                consumer_key,
                consumer_secret,
                webhook_secret,
            } => (
                SourceConfig::Woocommerce {
                    url,
                    consumer_key: self.open(id, "source.consumer_key", &consumer_key)?,
                    consumer_secret: self.open(id, "source.consumer_secret", &consumer_secret)?,
                    webhook_secrets: vec![self.open(
                        id,
                        "source.webhook_secrets",
                        &webhook_secret,
                    )?],
                },
                "woocommerce",
            ),
            StoredShop::Prestashop { url, api_key } => (
                SourceConfig::Prestashop {
                    url,
                    api_key: self.open(id, "source.api_key", &api_key)?,
                },
                "prestashop",
            ),
        };
        Ok(ConnectionConfig {
            id: id.to_string(),
            name: name.to_string(),
            source,
            target: TargetConfig::Exact {
                base_url: self.panel.exact_base_url.clone(),
                // Until the merchant connects Exact Online, no division is known and nothing
                // is asked of Exact (there is no token either).
                division: added.division.unwrap_or(0),
                client_id: self.panel.exact_client_id.clone(),
                client_secret: self.panel.exact_client_secret.clone(),
                redirect_uri: self.panel.exact_redirect_uri.clone(),
            },
            // The ledger's rules win (they are the panel's from the start).
            booking: config::default_booking(kind),
            notifications: None,
            owner: None,
        })
    }
}

impl StoredShop {
    /// Every sealed secret, by its field.
    fn secrets_mut(&mut self) -> Vec<(&'static str, &mut String)> {
        match self {
            StoredShop::Woocommerce {
                consumer_key,
                consumer_secret,
                webhook_secret,
                ..
            } => vec![
                ("source.consumer_key", consumer_key),
                ("source.consumer_secret", consumer_secret),
                ("source.webhook_secrets", webhook_secret),
            ],
            StoredShop::Prestashop { api_key, .. } => vec![("source.api_key", api_key)],
        }
    }
}

/// Seals the secrets of every shop added in the panel with the keyring's current key (after
/// `key rotate`); returns how many shops were sealed anew.
pub async fn reseal_added_shops(
    store: &dyn ledgerlink_store::Store,
    keyring: &Keyring,
) -> anyhow::Result<usize> {
    let mut resealed = 0;
    for added in store.panel_connections().await? {
        let id = added.connection_id.as_str();
        let mut shop: StoredShop = serde_json::from_value(added.source_json)?;
        let mut changed = false;
        for (field, sealed) in shop.secrets_mut() {
            let data = sealed.strip_prefix(SETTINGS_PREFIX).unwrap_or(sealed);
            if Keyring::key_id(data) == Some(keyring.current_id()) {
                continue;
            }
            let plain = keyring.open(data, id, field).map_err(|e| {
                anyhow::anyhow!("the shop's `{field}` of `{id}` does not open ({e}): the key it was sealed with must stay in the keyring")
            })?;
            *sealed = format!("{SETTINGS_PREFIX}{}", keyring.seal(&plain, id, field));
            changed = true;
        }
        if changed {
            store
                .set_panel_source(id, &serde_json::to_value(&shop)?)
                .await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// Why ledgerlink will not call a shop at `url`: not https (the keys go with every request),
/// not found, or on this machine or a private network.
async fn shop_address_problem(url: &reqwest::Url) -> Option<String> {
    if url.scheme() != "https" {
        return Some(
            "`url`: the shop must be reached over https: its keys go with every request".into(),
        );
    }
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses = match tokio::net::lookup_host((host, port)).await {
        Ok(addresses) => addresses.collect::<Vec<_>>(),
        Err(_) => return Some(format!("`url`: `{host}` is not found")),
    };
    if addresses.is_empty() || addresses.iter().any(|a| !is_public(a.ip())) {
        return Some(
            "`url`: the shop's address is on this machine or a private network, which ledgerlink does not call for a merchant".into(),
        );
    }
    None
}

fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                // Carrier-grade NAT, 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// A connection id from a shop's name: lower-case letters, digits and dashes.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        "shop".into()
    } else {
        slug
    }
}

fn random_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// Takes shops added in the panel, booking through `app` (set once; without it, none
    /// can be added). `false` when it was set before.
    pub fn take_shops(&self, app: ShopApp) -> bool {
        self.shop_app.set(app).is_ok()
    }

    pub fn shop_app(&self) -> Option<&ShopApp> {
        self.shop_app.get()
    }

    /// Adds a shop for `account`: its keys are tried by reading from the shop, then it is kept
    /// (credentials sealed) and runs — not live — under a new connection id, returned. `Err`
    /// says in words what to correct.
    pub async fn add_shop(
        &self,
        account: i64,
        by: &str,
        name: &str,
        shop: NewShop,
    ) -> anyhow::Result<Result<String, Vec<String>>> {
        let Some(app) = self.shop_app() else {
            return Ok(Err(vec![
                "This ledgerlink takes no shops from the panel: its operator has not set the `[panel]` Exact Online app in the settings file.".into(),
            ]));
        };
        let name = name.trim();
        if name.is_empty() {
            return Ok(Err(vec!["`name`: give the shop a name".into()]));
        }
        let url = match &shop {
            NewShop::Woocommerce { url, .. } | NewShop::Prestashop { url, .. } => url.trim(),
        };
        let parsed = match reqwest::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => parsed,
            _ => {
                return Ok(Err(vec![
                    "`url`: the shop's address, as https://shop.example.nl".into(),
                ]))
            }
        };
        if !app.panel.allow_private_shops {
            if let Some(problem) = shop_address_problem(&parsed).await {
                return Ok(Err(vec![problem]));
            }
        }
        // A random part: an id says nothing of other accounts' shops, and no one can take an id
        // a settings file may name later.
        let base = slug(name);
        let now = chrono::Utc::now();
        for _ in 0..5 {
            let id = format!("{base}-{}", &random_secret()[..6]);
            let (stored, kind) = match &shop {
                NewShop::Woocommerce {
                    consumer_key,
                    consumer_secret,
                    ..
                } => (
                    StoredShop::Woocommerce {
                        url: url.to_string(),
                        consumer_key: app.seal(
                            &id,
                            "source.consumer_key",
                            consumer_key.expose_secret(),
                        ),
                        consumer_secret: app.seal(
                            &id,
                            "source.consumer_secret",
                            consumer_secret.expose_secret(),
                        ),
                        webhook_secret: app.seal(&id, "source.webhook_secrets", &random_secret()),
                    },
                    "woocommerce",
                ),
                NewShop::Prestashop { api_key, .. } => (
                    StoredShop::Prestashop {
                        url: url.to_string(),
                        api_key: app.seal(&id, "source.api_key", api_key.expose_secret()),
                    },
                    "prestashop",
                ),
            };
            let added = PanelConnection {
                connection_id: id.clone(),
                account_id: account,
                source_json: serde_json::to_value(&stored)?,
                division: None,
                live_since: None,
                created_by: by.to_string(),
                created_at: now,
            };
            // Tried before anything is kept: keys that do not read the shop are refused.
            let candidate = app.connection_config(&added, name)?.build_clients(
                self.store.clone(),
                app.timeout,
                app.vies_url.clone(),
            )?;
            let tried = match &candidate.source {
                Source::Woocommerce { client, .. } => client
                    .orders_modified_after(&now.format("%Y-%m-%dT%H:%M:%S").to_string(), 1)
                    .await
                    .map(|_| ()),
                Source::Prestashop { client } => client.order_states().await.map(|_| ()),
            };
            if let Err(error) = tried {
                return Ok(Err(vec![format!(
                    "The shop could not be read with these keys: {}",
                    error.message_for_user
                )]));
            }
            let record = ConnectionRecord {
                id: id.clone(),
                name: name.to_string(),
                source_kind: kind.into(),
                target_kind: "exact".into(),
                settings_json: serde_json::to_value(config::default_booking(kind))?,
                ..ConnectionRecord::default()
            };
            if self.store.add_panel_connection(&added, &record).await? {
                self.install_added(&added).await?;
                return Ok(Ok(id));
            }
        }
        anyhow::bail!("no free connection id for `{base}` after five random tries")
    }

    /// Builds and runs a shop added in the panel, live or not as the ledger says.
    async fn install_added(&self, added: &PanelConnection) -> anyhow::Result<()> {
        let app = self
            .shop_app()
            .ok_or_else(|| anyhow::anyhow!("shops were added in the panel, and the settings file has no `[panel]` app to book them through"))?;
        let name = self
            .store
            .connection(&added.connection_id)
            .await?
            .map(|record| record.name)
            .unwrap_or_else(|| added.connection_id.clone());
        let connection = app
            .connection_config(added, &name)?
            .build_with_vies(self.store.clone(), app.timeout, app.vies_url.clone())
            .await?;
        self.install(connection, added.live_since.is_some());
        Ok(())
    }

    /// Runs every shop added in the panel (at start); returns how many run. One that cannot be
    /// built is left out and logged; the others run. A settings file connection with the id of
    /// a shop added in the panel is refused: one id, one connection.
    pub async fn install_added_shops(&self) -> anyhow::Result<usize> {
        let added = self.store.panel_connections().await?;
        if let Some(twice) = added
            .iter()
            .find(|shop| self.connection(&shop.connection_id).is_some())
        {
            anyhow::bail!(
                "connection `{}` is in the settings file and was also added in the control panel: give the settings file's another id",
                twice.connection_id
            );
        }
        let mut running = 0;
        for shop in &added {
            match self.install_added(shop).await {
                Ok(()) => running += 1,
                Err(error) => tracing::error!(
                    connection = %shop.connection_id,
                    %error,
                    "a shop added in the panel cannot run"
                ),
            }
        }
        Ok(running)
    }

    /// Takes up shops added, connected or made live through another process's panel.
    pub(crate) async fn sync_added_shops(&self) {
        let added = match self.store.panel_connections().await {
            Ok(added) => added,
            Err(error) => {
                tracing::warn!(%error, "the shops added in the panel could not be read; next round");
                return;
            }
        };
        for shop in added {
            let id = shop.connection_id.as_str();
            let running = self.connection(id);
            let division = running
                .as_ref()
                .and_then(|c| c.target.exact())
                .map(|exact| exact.division());
            if running.is_none() || division != Some(shop.division.unwrap_or(0)) {
                if let Err(error) = self.install_added(&shop).await {
                    tracing::error!(connection = id, %error, "a shop added in the panel cannot run");
                }
            } else if shop.live_since.is_some() && !self.is_live(id) {
                self.make_live(id);
            }
        }
    }

    /// A shop added in the panel, if `connection` is one.
    async fn added(&self, connection: &str) -> anyhow::Result<Option<PanelConnection>> {
        Ok(self
            .store
            .panel_connections()
            .await?
            .into_iter()
            .find(|added| added.connection_id == connection))
    }

    /// Exact Online was connected for `connection`: a shop added in the panel books into the
    /// division the person works in — the first time. Afterwards it stays in its division
    /// (a document in flight is looked up there, and a credit note finds its sale there); the
    /// note returned then says so.
    pub async fn exact_connected(
        &self,
        connection: &str,
        division: i32,
    ) -> anyhow::Result<Option<String>> {
        let Some(mut added) = self.added(connection).await? else {
            return Ok(None);
        };
        match added.division {
            Some(current) if current == division => return Ok(None),
            Some(current) => {
                return Ok(Some(format!(
                    "This shop keeps booking into Exact Online division {current}, where its bookings are; the user you connected works in division {division} now. To book into another company, add the shop again."
                )))
            }
            None => {}
        }
        self.store.set_panel_division(connection, division).await?;
        added.division = Some(division);
        self.install_added(&added).await?;
        Ok(None)
    }

    /// What a shop added in the panel still needs before it can go live; empty when ready.
    pub async fn not_ready(&self, connection: &str) -> anyhow::Result<Vec<String>> {
        let Some(added) = self.added(connection).await? else {
            return Ok(Vec::new());
        };
        let mut missing = Vec::new();
        if added.division.is_none() {
            missing.push("Connect Exact Online first.".to_string());
        }
        Ok(missing)
    }

    /// The shop books from now on: a WooCommerce shop is subscribed to send its order events
    /// here, and the sweeper reads it. `Err` says what stands in the way.
    pub async fn go_live(&self, connection: &str) -> anyhow::Result<Result<(), Vec<String>>> {
        let (Some(added), Some(app)) = (self.added(connection).await?, self.shop_app()) else {
            return Ok(Err(vec![
                "Only a shop added in the panel is made live here; the settings file's book from the start.".into(),
            ]));
        };
        if added.live_since.is_some() {
            // Made live through another process's panel.
            self.make_live(connection);
            return Ok(Ok(()));
        }
        let missing = self.not_ready(connection).await?;
        if !missing.is_empty() {
            return Ok(Err(missing));
        }
        let Some(running) = self.connection(connection) else {
            anyhow::bail!("connection `{connection}` is not running");
        };
        if let Source::Woocommerce {
            client,
            webhook_secrets,
        } = &running.source
        {
            let url = app.webhook_url(connection);
            for topic in WEBHOOK_TOPICS {
                if let Err(error) = client
                    .create_webhook(topic, &url, &webhook_secrets[0])
                    .await
                {
                    return Ok(Err(vec![format!(
                        "The shop did not take ledgerlink's webhook for {topic}: {}",
                        error.message_for_user
                    )]));
                }
            }
        }
        self.store.set_live(connection, chrono::Utc::now()).await?;
        self.make_live(connection);
        self.notify_work();
        Ok(Ok(()))
    }

    /// Whether the connection was added in the panel, and since when it is live.
    pub async fn added_shop(
        &self,
        connection: &str,
    ) -> anyhow::Result<Option<Option<chrono::DateTime<chrono::Utc>>>> {
        Ok(self.added(connection).await?.map(|added| added.live_since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_merchant_cannot_make_ledgerlink_call_into_a_private_network() {
        let problem = |url: &str| {
            let url = reqwest::Url::parse(url).unwrap();
            async move { shop_address_problem(&url).await }
        };
        assert!(problem("http://shop.example.nl")
            .await
            .unwrap()
            .contains("https"));
        for private in [
            "https://127.0.0.1:8443",
            "https://10.1.2.3",
            "https://192.168.0.10",
            "https://169.254.169.254",
            "https://[::1]",
            "https://[fd00::1]",
            "https://[::ffff:127.0.0.1]",
            "https://100.64.0.1",
        ] {
            let said = problem(private).await;
            assert!(
                said.as_deref()
                    .is_some_and(|s| s.contains("private network")),
                "{private}: {said:?}"
            );
        }
        assert_eq!(problem("https://93.184.215.14").await, None);
    }

    #[test]
    fn a_shops_name_makes_a_readable_connection_id() {
        assert_eq!(
            slug("Bakkerij Jansen — Webshop!"),
            "bakkerij-jansen-webshop"
        );
        assert_eq!(slug("  ***  "), "shop");
        assert_eq!(slug(&"x".repeat(80)).len(), 40);
    }
}
