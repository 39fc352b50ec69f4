//! `ledgerlink` itself as a child process (`serve`, `backfill`) on a settings file of the
//! benchmark's, booking from emulated shops into the emulated Exact: what a merchant runs,
//! measured from outside (its memory in `/proc/<pid>/status`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use ledgerlink_sandbox::exact::{ExactConfig, ExactSandbox};
use ledgerlink_sandbox::woocommerce::{WooConfig, WooSandbox};
use ledgerlink_sandbox::Running;
use serde_json::json;
use tokio::process::{Child, Command};

const WEBHOOK_SECRET: &str = "bench-webhook-secret";

/// One shop booking into one Exact division.
struct Tenant {
    id: String,
    shop_url: String,
    shop: WooConfig,
    division: i32,
}

/// Emulated shops booking into one emulated Exact, with the settings file and SQLite ledger of
/// a `ledgerlink` process that connects them: each shop `shop<n>` books into division
/// 100001 + n, its Exact division connected already.
pub struct ChildWorld {
    pub exact: ExactSandbox,
    pub shops: Vec<WooSandbox>,
    pub dir: tempfile::TempDir,
    /// The ledger, `<dir>/ledger.sqlite`.
    pub database: PathBuf,
    config: PathBuf,
    tenants: Vec<Tenant>,
    _running: Vec<Running>,
}

impl ChildWorld {
    /// `shops` shops (webhooks held until delivered), each given its orders by `fill`.
    pub async fn start(
        exact_config: ExactConfig,
        shops: usize,
        fill: impl Fn(usize, &WooSandbox),
    ) -> anyhow::Result<ChildWorld> {
        let dir = tempfile::tempdir()?;
        let (exact_running, exact) = ExactSandbox::start(exact_config, 0).await?;
        let mut running = vec![exact_running];
        let (mut sandboxes, mut tenants) = (Vec::new(), Vec::new());
        for n in 0..shops {
            let division = super::DIVISION + i32::try_from(n)?;
            exact.add_division(division, &format!("Webshop {n} BV"));
            let (shop_running, shop) = WooSandbox::start(WooConfig::default(), 0).await?;
            shop.set_auto_deliver(false);
            fill(n, &shop);
            tenants.push(Tenant {
                id: format!("shop{n}"),
                shop_url: shop_running.base_url(),
                shop: shop.config().clone(),
                division,
            });
            sandboxes.push(shop);
            running.push(shop_running);
        }
        let database = dir.path().join("ledger.sqlite");
        let config = settings_file(
            dir.path(),
            &database.display().to_string(),
            &running[0].base_url(),
            exact.config(),
            &tenants,
        )?;
        crate::chaos::authorize(&config, &exact).await?;
        Ok(ChildWorld {
            exact,
            shops: sandboxes,
            dir,
            database,
            config,
            tenants,
            _running: running,
        })
    }

    /// `ledgerlink <command> --config <settings> <args>`.
    pub fn spawn(
        &self,
        binary: &Path,
        command: &str,
        args: &[&str],
        listen: Option<u16>,
    ) -> anyhow::Result<Child> {
        let config = self.config.display().to_string();
        let mut all = vec![command, "--config", &config];
        all.extend_from_slice(args);
        spawn(binary, self.dir.path(), command, &all, listen)
    }

    /// `ledgerlink serve`, listening, with every shop's webhooks going to it.
    pub async fn serve(&self, binary: &Path) -> anyhow::Result<Child> {
        let port = free_port()?;
        let serve = self.spawn(binary, "serve", &[], Some(port))?;
        wait_until_listening(port).await?;
        for (tenant, shop) in self.tenants.iter().zip(&self.shops) {
            crate::demo::subscribe_webhooks_with(
                &tenant.shop_url,
                shop.config(),
                &format!("http://127.0.0.1:{port}/webhooks/woocommerce/{}", tenant.id),
                WEBHOOK_SECRET,
            )
            .await?;
        }
        Ok(serve)
    }
}

/// Writes `<dir>/bench.toml` for `tenants` on `database` (a file or a PostgreSQL URL), with a
/// key file beside it, by the demo's booking rules without VIES (none runs here).
fn settings_file(
    dir: &Path,
    database: &str,
    exact_url: &str,
    exact: &ExactConfig,
    tenants: &[Tenant],
) -> anyhow::Result<PathBuf> {
    let key_file = dir.join("bench.key");
    if !key_file.exists() {
        ledgerlink_store::Keyring::create_file(&key_file)?;
    }
    let mut booking = serde_json::to_value(crate::demo::demo_settings())?;
    drop_nulls(&mut booking);
    booking["vies_check"] = json!(false);
    booking
        .as_object_mut()
        .context("the booking settings are a table")?
        .remove("own_vat_number");
    let connections: Vec<serde_json::Value> = tenants
        .iter()
        .map(|tenant| {
            json!({
                "id": tenant.id,
                "source": {
                    "type": "woocommerce",
                    "url": tenant.shop_url,
                    "consumer_key": tenant.shop.consumer_key,
                    "consumer_secret": tenant.shop.consumer_secret,
                    "webhook_secrets": [WEBHOOK_SECRET],
                },
                "target": {
                    "type": "exact",
                    "base_url": exact_url,
                    "division": tenant.division,
                    "client_id": exact.client_id,
                    "client_secret": exact.client_secret,
                    "redirect_uri": exact.redirect_uri,
                },
                "booking": booking,
            })
        })
        .collect();
    let settings = json!({
        "database": database,
        "key_file": key_file.display().to_string(),
        "http_timeout_seconds": 5,
        "retry_max_seconds": 10,
        "sweep_seconds": 60,
        "listen": "127.0.0.1:0",
        "connections": connections,
    });
    let path = dir.join("bench.toml");
    std::fs::write(&path, toml::to_string(&settings)?)?;
    Ok(path)
}

/// TOML has no null: a setting left out is one not set.
fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// `ledgerlink <args>` with its output in `<dir>/<name>.log`; `listen` sets where `serve`
/// listens.
fn spawn(
    binary: &Path,
    dir: &Path,
    name: &str,
    args: &[&str],
    listen: Option<u16>,
) -> anyhow::Result<Child> {
    let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    if let Some(port) = listen {
        command.env("LEDGERLINK_LISTEN", format!("127.0.0.1:{port}"));
    }
    command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until a `serve` on `port` answers.
async fn wait_until_listening(port: u16) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        let answer = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .timeout(Duration::from_millis(500))
            .send()
            .await;
        if answer.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("serve did not listen on port {port} within a minute")
}

/// (resident now, resident at its peak) in MB, from `/proc/<pid>/status`.
pub fn memory(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} for process {pid}"))?;
        let kb: f64 = line
            .split_whitespace()
            .nth(1)
            .context("a number of kB")?
            .parse()?;
        Ok(kb / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Waits for `child` to exit, reading its peak memory every 20 ms meanwhile (it is gone from
/// `/proc` once it has exited). Returns the peak in MB.
pub async fn peak_until_exit(child: &mut Child, what: &str) -> anyhow::Result<f64> {
    let pid = child.id().context("a running child")?;
    let mut peak = 0.0_f64;
    loop {
        if let Ok((_, hwm)) = memory(pid) {
            peak = peak.max(hwm);
        }
        if let Some(status) = child.try_wait()? {
            anyhow::ensure!(status.success(), "{what} failed: {status}");
            return Ok(peak);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
