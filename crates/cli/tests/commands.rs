//! The operator's commands as a person runs them: `sync --once`, `status`, `retry` after
//! fixing a mapping — the binary against emulators, on a settings file.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use ledgerlink_engine::config::Config;
use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::woocommerce::{
    AddressSpec, CustomerSpec, LineSpec, OrderSpec, WooConfig, WooSandbox,
};
use ledgerlink_store::{DocState, Keyring, SqliteStore, Store};
use rust_decimal_macros::dec;

fn settings_file(
    dir: &Path,
    shop: &str,
    exact: &str,
    woo: &WooConfig,
    app: &ExactConfig,
    booking_extra: &str,
    extra_vat_codes: &str,
) -> std::path::PathBuf {
    let path = dir.join("ledgerlink.toml");
    let key_file = dir.join("ledgerlink.key");
    if !key_file.exists() {
        Keyring::create_file(&key_file).unwrap();
    }
    let text = format!(
        r#"
database = "{db}"
key_file = "{key_file}"
http_timeout_seconds = 5
listen = "127.0.0.1:0"
sweep_seconds = 3600

[[connections]]
id = "shop"
[connections.source]
type = "woocommerce"
url = "{shop}"
consumer_key = "{ck}"
consumer_secret = "{cs}"
webhook_secrets = ["serve-test-secret"]
[connections.target]
type = "exact"
base_url = "{exact}"
division = 100001
client_id = "{client_id}"
client_secret = "{client_secret}"
redirect_uri = "{redirect}"
[connections.booking]
{booking_extra}
[connections.booking.vat_codes]
"domestic/21" = "1"
"domestic/9" = "2"
"domestic/0" = "0"
"reverse_charge" = "4"
"export" = "3"
"none" = "0"
{extra_vat_codes}
"#,
        db = dir.join("ledger.sqlite").display(),
        key_file = key_file.display(),
        ck = woo.consumer_key,
        cs = woo.consumer_secret,
        client_id = app.client_id,
        client_secret = app.client_secret,
        redirect = app.redirect_uri,
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn ledgerlink(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ledgerlink"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn order(email: &str, rate: rust_decimal::Decimal) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Noor".into(),
            last_name: "Visser".into(),
            email: email.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Lange Nieuwstraat 2".into(),
            city: "Utrecht".into(),
            postcode: "3512 PH".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Kaars".into(),
            quantity: 3,
            unit_price: dec!(4.10),
            tax_rate: rate,
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

#[tokio::test]
async fn sync_status_and_retry_after_fixing_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let (exact_running, exact) = ExactSandbox::start(ExactConfig::default(), 0)
        .await
        .unwrap();
    let (shop_running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
    shop.set_auto_deliver(false);
    let config_path = settings_file(
        dir.path(),
        &shop_running.base_url(),
        &exact_running.base_url(),
        shop.config(),
        exact.config(),
        "",
        "",
    );
    let config = config_path.to_str().unwrap();

    // A treatment without a VAT code is named when the settings are loaded; nothing starts.
    let complete = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        complete.replace("\"domestic/9\" = \"2\"\n", ""),
    )
    .unwrap();
    let (ok, out) = ledgerlink(&["sync", "--once", "--config", config]);
    assert!(!ok);
    assert!(
        out.contains("`connections.shop.booking.vat_codes.\"domestic/9\"`: no VAT code is mapped"),
        "{out}"
    );
    // A code the books do not have is named before anything is booked, once Exact is
    // connected.
    std::fs::write(
        &config_path,
        complete.replace("\"domestic/9\" = \"2\"", "\"domestic/9\" = \"Z9\""),
    )
    .unwrap();

    // Authorise once, as the OAuth callback of `serve` would.
    {
        let config = Config::load(&config_path).unwrap();
        let store = config.open_store().await.unwrap();
        let connection = config.connections[0]
            .build(store, Duration::from_secs(5))
            .await
            .unwrap();
        let target = connection
            .target
            .exact()
            .expect("an Exact Online connection");
        target
            .connect_with_code(&exact.issue_authorization_code())
            .await
            .unwrap();
    }
    let (ok, out) = tokio::task::spawn_blocking({
        let config = config.to_string();
        move || ledgerlink(&["sync", "--once", "--config", &config])
    })
    .await
    .unwrap();
    assert!(!ok);
    assert!(
        out.contains("`connections.shop.booking.vat_codes.\"domestic/9\"`: `Z9` does not exist in the exact books"),
        "{out}"
    );
    std::fs::write(&config_path, &complete).unwrap();

    shop.create_order(order("noor@example.nl", dec!(21)));
    let mut german = order("lena@example.de", dec!(19));
    german.billing.country = "DE".into();
    german.billing.postcode = "10115".into();
    german.billing.city = "Berlin".into();
    shop.create_order(german);

    let (ok, out) = tokio::task::spawn_blocking({
        let config = config.to_string();
        move || ledgerlink(&["sync", "--once", "--config", &config])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("shop: 2 changed documents read"), "{out}");
    assert!(out.contains("booked 1") && out.contains("held 1"), "{out}");
    assert!(
        out.contains("not registered for the One-Stop Shop"),
        "{out}"
    );
    assert_eq!(exact.sales_entries(100001).len(), 1);

    // The merchant registers for OSS and maps its codes, then retries the held document.
    let store = SqliteStore::open(&dir.path().join("ledger.sqlite"))
        .await
        .unwrap();
    let held = store.documents("shop", Some(DocState::Held)).await.unwrap();
    assert_eq!(held.len(), 1);
    let held_id = held[0].id.to_string();
    settings_file(
        dir.path(),
        &shop_running.base_url(),
        &exact_running.base_url(),
        shop.config(),
        exact.config(),
        "oss_registered = true\noss_countries = [\"DE\"]",
        "\"oss/DE/19\" = \"ODE\"\n\"oss/DE/7\" = \"RDE\"",
    );
    let (ok, out) = tokio::task::spawn_blocking({
        let config = config.to_string();
        move || ledgerlink(&["retry", "--config", &config, &held_id])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains(": booked"), "{out}");
    assert_eq!(exact.sales_entries(100001).len(), 2);

    let (ok, out) = tokio::task::spawn_blocking({
        let config = config.to_string();
        move || ledgerlink(&["status", "--config", &config])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("shop: booked 2"), "{out}");

    let (ok, out) = ledgerlink(&["retry", "--config", config, "999"]);
    assert!(!ok);
    assert!(out.contains("document #999 is not held"), "{out}");
}

#[test]
fn a_missing_settings_file_says_where_to_look() {
    let (ok, out) = ledgerlink(&["status", "--config", "/nonexistent/ledgerlink.toml"]);
    assert!(!ok);
    assert!(
        out.contains("does not exist; see docs/settings.md"),
        "{out}"
    );
}

/// `serve` as an operator starts it: it prints where it listens and the connect link, takes
/// the shop's webhooks, and books.
#[tokio::test]
async fn serve_takes_webhooks_and_books() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().unwrap();
    let (exact_running, exact) = ExactSandbox::start(ExactConfig::default(), 0)
        .await
        .unwrap();
    let (shop_running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
    shop.set_auto_deliver(false);
    let config_path = settings_file(
        dir.path(),
        &shop_running.base_url(),
        &exact_running.base_url(),
        shop.config(),
        exact.config(),
        "",
        "",
    );
    {
        let config = Config::load(&config_path).unwrap();
        let sqlite = SqliteStore::open(&dir.path().join("ledger.sqlite"))
            .await
            .unwrap()
            .with_keyring(
                config
                    .keyring
                    .clone()
                    .expect("the settings name a key file"),
            );
        let store: Arc<dyn Store> = Arc::new(sqlite.clone());
        let connection = config.connections[0]
            .build(store, Duration::from_secs(5))
            .await
            .unwrap();
        let target = connection
            .target
            .exact()
            .expect("an Exact Online connection");
        target
            .connect_with_code(&exact.issue_authorization_code())
            .await
            .unwrap();
        // `serve` opens the same file next: let go of it first.
        drop(connection);
        sqlite.close().await;
    }

    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_ledgerlink"))
            .args(["serve", "--config", config_path.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("serve.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut stdout = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line);
    }
    let Some(addr) = lines[0]
        .trim()
        .strip_prefix("ledgerlink listens on ")
        .map(str::to_string)
    else {
        let _ = child.0.kill();
        let stderr = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
        panic!("serve did not start: {lines:?}\n{stderr}");
    };
    assert!(
        lines[2].contains("/oauth/exact/shop/start?key="),
        "{lines:?}"
    );

    let hook = reqwest::Client::new()
        .post(format!("{}/wp-json/wc/v3/webhooks", shop_running.base_url()))
        .basic_auth(&shop.config().consumer_key, Some(&shop.config().consumer_secret))
        .json(&serde_json::json!({"name": "ledgerlink", "topic": "order.created", "delivery_url": format!("{addr}/webhooks/woocommerce/shop"), "secret": "serve-test-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 201);
    assert!(
        shop.deliveries()
            .iter()
            .any(|d| d.topic == "ping" && d.status == Some(200)),
        "the creation ping is answered"
    );

    shop.create_order(order("serve@example.nl", dec!(21)));
    let delivered = shop.deliver_pending_webhooks().await;
    assert_eq!(
        delivered.iter().map(|d| d.status).collect::<Vec<_>>(),
        vec![Some(200)]
    );
    // The worker books within its next round; give it a bounded while.
    let mut booked = 0;
    for _ in 0..100 {
        booked = exact.sales_entries(100001).len();
        if booked > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(child);
    assert_eq!(booked, 1);
}

/// Stops the `serve` process however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_environment_overrides_the_database_path() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("from-env.sqlite");
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ledgerlink.toml"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_ledgerlink"))
        .args(["status", "--config", example])
        .env("LEDGERLINK_DATABASE", &elsewhere)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("my-shop: no documents yet"));
    assert!(
        elsewhere.exists(),
        "the ledger was opened where the environment said"
    );
}

#[tokio::test]
async fn a_postgresql_ledger_is_chosen_by_its_url_and_books_the_same() {
    let Some(schema) = ledgerlink_testkit::postgres::Schema::from_env().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (exact_running, exact) = ExactSandbox::start(ExactConfig::default(), 0)
        .await
        .unwrap();
    let (shop_running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
    shop.set_auto_deliver(false);
    let config_path = settings_file(
        dir.path(),
        &shop_running.base_url(),
        &exact_running.base_url(),
        shop.config(),
        exact.config(),
        "",
        "",
    );
    let sqlite_line = format!(
        "database = \"{}\"",
        dir.path().join("ledger.sqlite").display()
    );
    let text = std::fs::read_to_string(&config_path).unwrap();
    assert!(text.contains(&sqlite_line));
    std::fs::write(
        &config_path,
        text.replace(&sqlite_line, &format!("database = \"{}\"", schema.url)),
    )
    .unwrap();
    {
        let config = Config::load(&config_path).unwrap();
        let store = config.open_store().await.unwrap();
        let connection = config.connections[0]
            .build(store, Duration::from_secs(5))
            .await
            .unwrap();
        let target = connection.target.exact().expect("Exact Online");
        target
            .connect_with_code(&exact.issue_authorization_code())
            .await
            .unwrap();
    }
    shop.create_order(order("noor@example.nl", dec!(21)));
    let config = config_path.to_str().unwrap().to_string();
    let (ok, out) = tokio::task::spawn_blocking({
        let config = config.clone();
        move || ledgerlink(&["sync", "--once", "--config", &config])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("booked 1"), "{out}");
    assert_eq!(exact.sales_entries(100001).len(), 1);

    // The ledger is in PostgreSQL, and a second pass books nothing again.
    let store = ledgerlink_store::PostgresStore::connect(&schema.url)
        .await
        .unwrap();
    let booked = store
        .documents("shop", Some(DocState::Booked))
        .await
        .unwrap();
    assert_eq!(booked.len(), 1);
    let (ok, out) =
        tokio::task::spawn_blocking(move || ledgerlink(&["sync", "--once", "--config", &config]))
            .await
            .unwrap();
    assert!(ok, "{out}");
    assert_eq!(exact.sales_entries(100001).len(), 1);
    assert!(
        !out.contains("postgres://"),
        "the URL is not printed: {out}"
    );
}

/// `ledgerlink` with extra environment and, if given, text on stdin.
fn ledgerlink_with(
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledgerlink"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A key line from `ledgerlink key generate`.
fn generated_key(id: &str) -> String {
    let (ok, out, err) = ledgerlink_with(&["key", "generate", "--id", id], &[], None);
    assert!(ok, "{err}");
    let line = out.trim().to_string();
    assert!(
        line.starts_with(&format!("{id}:")) && line.len() > 40,
        "{line}"
    );
    line
}

/// Writes the key lines to the key file, for its owner only.
fn write_keys(path: &Path, lines: &[&str]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The keys as an operator handles them: no key (refused, saying how to make one), a key
/// generated into a file, secrets sealed into the settings, a rotation to a new key after
/// which the old one can go.
#[tokio::test]
async fn keys_are_made_sealed_into_the_settings_and_rotated() {
    let dir = tempfile::tempdir().unwrap();
    let (exact_running, exact) = ExactSandbox::start(ExactConfig::default(), 0)
        .await
        .unwrap();
    let (shop_running, shop) = WooSandbox::start(WooConfig::default(), 0).await.unwrap();
    shop.set_auto_deliver(false);
    let config_path = settings_file(
        dir.path(),
        &shop_running.base_url(),
        &exact_running.base_url(),
        shop.config(),
        exact.config(),
        "",
        "",
    );
    let config = config_path.to_str().unwrap().to_string();
    let keys = dir.path().join("ledgerlink.key");
    let with_key_file = std::fs::read_to_string(&config_path).unwrap();
    let key_line = format!("key_file = \"{}\"\n", keys.display());
    assert!(with_key_file.contains(&key_line));
    let run = |args: &[&str], env: &[(&str, &str)], stdin: Option<&str>| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", &config]);
        ledgerlink_with(&all, env, stdin)
    };

    // No key: a new ledger is refused, saying how to make one.
    std::fs::write(&config_path, with_key_file.replace(&key_line, "")).unwrap();
    let (ok, _, err) = run(&["sync", "--once"], &[], None);
    assert!(!ok);
    assert!(
        err.contains("no key to encrypt the credentials")
            && err.contains("ledgerlink key generate"),
        "{err}"
    );

    // A key in LEDGERLINK_KEY and one in the file: which one seals would be a question.
    let a = generated_key("a");
    std::fs::write(&config_path, &with_key_file).unwrap();
    let (ok, _, err) = run(&["status"], &[("LEDGERLINK_KEY", &a)], None);
    assert!(!ok);
    assert!(err.contains("both LEDGERLINK_KEY and `key_file`"), "{err}");
    assert!(!err.contains(&a[2..]), "the key is not shown: {err}");

    // A key file others may read is refused.
    std::fs::write(&keys, format!("{a}\n")).unwrap();
    std::fs::set_permissions(&keys, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (ok, _, err) = run(&["status"], &[], None);
    assert!(!ok);
    assert!(err.contains("chmod 600"), "{err}");
    write_keys(&keys, &[&a]);

    // The shop's secret sealed for this connection goes into the settings; the app's secret
    // sealed for another connection is refused there, naming the setting.
    let consumer_secret = shop.config().consumer_secret.clone();
    let client_secret = exact.config().client_secret.clone();
    let seal = |connection: &str, field: &str, secret: &str| {
        let (ok, out, err) = run(
            &["key", "seal", "--connection", connection, "--field", field],
            &[],
            Some(&format!("{secret}\n")),
        );
        assert!(ok, "{err}");
        assert!(!out.contains(secret) && !err.contains(secret));
        out.trim().to_string()
    };
    let sealed_secret = seal("shop", "source.consumer_secret", &consumer_secret);
    assert!(sealed_secret.starts_with("enc:v1:a:"), "{sealed_secret}");
    let elsewhere = seal("other", "target.client_secret", &client_secret);
    let plain_secrets = std::fs::read_to_string(&config_path).unwrap();
    let sealed_settings_with = |consumer: &str, client: &str| {
        plain_secrets
            .replace(
                &format!("\"{consumer_secret}\""),
                &format!("\"{consumer}\""),
            )
            .replace(&format!("\"{client_secret}\""), &format!("\"{client}\""))
    };
    let sealed_settings = |client: &str| sealed_settings_with(&sealed_secret, client);
    std::fs::write(&config_path, sealed_settings(&elsewhere)).unwrap();
    let (ok, _, err) = run(&["status"], &[], None);
    assert!(!ok);
    assert!(
        err.contains(
            "`connections.shop.target.client_secret`: the sealed value is not for this setting"
        ) && err.contains("ledgerlink key seal --connection shop --field target.client_secret"),
        "{err}"
    );
    assert!(
        !err.contains(&elsewhere) && !err.contains(&client_secret),
        "{err}"
    );
    std::fs::write(
        &config_path,
        sealed_settings(&seal("shop", "target.client_secret", &client_secret)),
    )
    .unwrap();

    // Connected on the sealed settings, as an older ledgerlink did: its tokens in plaintext.
    {
        let config = Config::load(&config_path).unwrap();
        let store = config.open_store().await.unwrap();
        let connection = config.connections[0]
            .build(store.clone(), Duration::from_secs(5))
            .await
            .unwrap();
        let target = connection.target.exact().expect("Exact Online");
        target
            .connect_with_code(&exact.issue_authorization_code())
            .await
            .unwrap();
        let token = store.token("shop").await.unwrap().unwrap();
        use sqlx::Connection;
        let mut ledger = sqlx::SqliteConnection::connect(&format!(
            "sqlite:{}",
            dir.path().join("ledger.sqlite").display()
        ))
        .await
        .unwrap();
        sqlx::query(
            "UPDATE oauth_tokens SET access_token = ?, refresh_token = ?, sealed = 0 \
             WHERE connection_id = 'shop'",
        )
        .bind(&token.access_token)
        .bind(&token.refresh_token)
        .execute(&mut ledger)
        .await
        .unwrap();
    }
    shop.create_order(order("noor@example.nl", dec!(21)));
    let sync = || {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            ledgerlink_with(&["sync", "--once", "--config", &config], &[], None)
        })
    };
    // The first booking run seals them, and books.
    let (ok, out, err) = sync().await.unwrap();
    assert!(ok && out.contains("booked 1"), "{out}{err}");
    assert!(
        err.contains("encrypted the credentials of 1 connection(s) that an older ledgerlink stored unencrypted"),
        "{err}"
    );

    // Rotation: `b` first, `a` still there to open. The ledger no longer needs `a` after it,
    // but the settings do, until their secret is sealed again.
    let b = generated_key("b");
    write_keys(&keys, &[&b, &a]);
    let (ok, out, err) = run(&["key", "rotate"], &[], None);
    assert!(ok, "{err}");
    assert!(
        out.contains("re-encrypted the credentials of 1 connection(s) with key `b`"),
        "{out}"
    );
    assert!(
        out.contains("`connections.shop.source.consumer_secret` in")
            && out.contains("is sealed with key `a`: seal it again with `ledgerlink key seal --connection shop --field source.consumer_secret`"),
        "{out}"
    );
    assert!(!out.contains("no longer need"), "{out}");
    let resealed = sealed_settings_with(
        &seal("shop", "source.consumer_secret", &consumer_secret),
        &seal("shop", "target.client_secret", &client_secret),
    );
    std::fs::write(&config_path, resealed).unwrap();
    let (ok, out, err) = run(&["key", "rotate"], &[], None);
    assert!(ok, "{err}");
    assert!(
        out.contains("the ledger and the settings no longer need key `a`"),
        "{out}"
    );

    // Without `a`, everything still opens. With `a` alone, neither the sealed settings nor
    // the ledger's tokens do, and nothing starts.
    write_keys(&keys, &[&b]);
    shop.create_order(order("lotte@example.nl", dec!(21)));
    let (ok, out, err) = sync().await.unwrap();
    assert!(ok && out.contains("booked 2"), "{out}{err}");
    write_keys(&keys, &[&a]);
    let (ok, _, err) = sync().await.unwrap();
    assert!(!ok);
    assert!(
        err.contains("`connections.shop.source.consumer_secret`: sealed with key `b`, which the keyring lacks"),
        "{err}"
    );
    std::fs::write(&config_path, &plain_secrets).unwrap();
    let (ok, _, err) = sync().await.unwrap();
    assert!(!ok);
    assert!(
        err.contains("keys the keyring lacks (connection `shop` with key `b`)"),
        "{err}"
    );
}
