use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use ledgerlink_engine::config::{self, Config};
use ledgerlink_engine::{Engine, Source};
use ledgerlink_rules::BookingSettings;
use ledgerlink_sources::{prestashop, woocommerce};
use ledgerlink_store::DocState;

use crate::{demo, Cli, Command, DemoTarget, KeyCommand, PlanSource, SandboxSystem};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo {
            database,
            target,
            tryton_url,
        } => {
            let ledger = match target {
                DemoTarget::Exact => demo::DemoLedger::Exact,
                DemoTarget::Tryton => demo::DemoLedger::Tryton { url: tryton_url },
            };
            demo::run(&database, ledger, &mut std::io::stdout()).await?;
            Ok(())
        }
        Command::Serve { config } => serve(&config).await,
        Command::Sync { config, once } => sync(&config, once).await,
        Command::Backfill {
            config,
            from,
            to,
            connection,
        } => backfill(&config, from, to, connection).await,
        Command::Plan {
            source,
            settings,
            document,
        } => plan(source, settings.as_deref(), &document),
        Command::Status { config } => status(&config).await,
        Command::Retry { config, document } => retry(&config, document).await,
        Command::ResetRules { config, connection } => reset_rules(&config, &connection).await,
        Command::Key { command } => key(command).await,
        Command::Sandbox { system, port } => sandbox(system, port).await,
        Command::Chaos {
            orders,
            workers,
            kills,
            fault_rate,
            exact_calls_per_minute,
            settle_within,
            seed,
            postgres,
            database_crashes,
            dir,
            json,
        } => {
            let binary = std::env::current_exe().context("finding the ledgerlink executable")?;
            let options = crate::chaos::ChaosOptions {
                workers,
                fault_rate,
                exact_calls_per_minute,
                settle_within: std::time::Duration::from_secs(settle_within),
                postgres,
                database_crashes,
                ..crate::chaos::options(&binary, &dir, orders, kills, seed)
            };
            let report = crate::chaos::run(options).await?;
            print!("{}", crate::chaos::describe(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
            }
            if !report.passed() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bench {
            only,
            json,
            quick,
            postgres,
            seed,
            backfill_orders,
            ledger_documents,
        } => {
            let options = crate::bench::BenchOptions {
                only,
                quick,
                postgres,
                binary: std::env::current_exe().context("finding the ledgerlink executable")?,
                seed,
                backfill_orders,
                ledger_documents,
            };
            let report = crate::bench::run(&options, &mut std::io::stdout()).await?;
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
            }
            Ok(())
        }
    }
}

/// The engine on the settings; `books` when it will book, and so read and write credentials:
/// then it needs a keyring that opens every credential in the ledger.
async fn engine_from(config_path: &Path, books: bool) -> anyhow::Result<(Config, Arc<Engine>)> {
    let config = Config::load(config_path)?;
    let store = config.open_store().await?;
    if books {
        let sealed = config::ready_credentials(&*store, config.keyring.as_ref()).await?;
        if sealed > 0 {
            eprintln!("encrypted the credentials of {sealed} connection(s) that an older ledgerlink stored unencrypted");
        }
    }
    let mut connections = Vec::new();
    for connection in &config.connections {
        connections.push(
            connection
                .build_with_vies(
                    store.clone(),
                    config.http_timeout(),
                    config.vies_url.clone(),
                )
                .await?,
        );
    }
    if connections.is_empty() && config.panel.is_none() {
        anyhow::bail!(
            "{} has no [[connections]] and no [panel] for shops added in the control panel; see docs/settings.md",
            config_path.display()
        );
    }
    let options = config.engine_options();
    let notifications = config
        .notify_settings()
        .map_err(|problems| anyhow::anyhow!("{}", problems.join("; ")))?;
    let engine = Engine::new(store, connections, options).with_notifications(notifications)?;
    if let Some(panel) = &config.panel {
        let keyring = config.keyring.clone().context(
            "shops added in the control panel keep their keys sealed: set `key_file` or LEDGERLINK_KEY",
        )?;
        engine.take_shops(ledgerlink_engine::added_shops::ShopApp {
            panel: panel.clone(),
            keyring,
            vies_url: config.vies_url.clone(),
            timeout: config.http_timeout(),
        });
        engine.install_added_shops().await?;
    }
    // Who hears of what, where a person set it in the panel.
    engine.reload_settings().await?;
    Ok((config, Arc::new(engine)))
}

/// An engine that will book: its settings' codes checked against the targets first.
async fn booking_engine_from(config_path: &Path) -> anyhow::Result<(Config, Arc<Engine>)> {
    let (config, engine) = engine_from(config_path, true).await?;
    match engine.check_target_codes().await {
        Ok(warnings) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
        }
        Err(problems) => anyhow::bail!(
            "the settings in {} name codes the books do not have: {}",
            config_path.display(),
            problems.join("; ")
        ),
    }
    Ok((config, engine))
}

/// How soon a `serve` takes up rules changed through another process's panel.
const RULES_CHECK_EVERY: Duration = Duration::from_secs(10);

async fn serve(config_path: &Path) -> anyhow::Result<()> {
    let (config, engine) = booking_engine_from(config_path).await?;
    let server = ledgerlink_server::serve(engine.clone(), &config.listen).await?;
    println!("ledgerlink listens on http://{}", server.addr);
    for id in engine.connection_ids() {
        let connection = engine.connection(&id).context("a configured connection")?;
        match &connection.source {
            Source::Woocommerce { .. } => println!(
                "  {id}: webhooks to http://{}/webhooks/woocommerce/{id}",
                server.addr
            ),
            Source::Prestashop { .. } => println!(
                "  {id}: polled every {} s (PrestaShop sends no webhooks)",
                config.sweep_seconds
            ),
        }
        if connection.target.exact().is_some() {
            println!(
                "  {id}: connect Exact Online at {}",
                server.connect_url(&id)
            );
        }
    }
    let sweep_every = Duration::from_secs(config.sweep_seconds.max(1));
    let mut last_sweep: Option<std::time::Instant> = None;
    let mut last_report_check: Option<std::time::Instant> = None;
    let mut last_rules_check = std::time::Instant::now();
    loop {
        // Rules and recipients changed through another process's panel on the same ledger.
        if last_rules_check.elapsed() >= RULES_CHECK_EVERY {
            match engine.reload_settings().await {
                Ok(changed) => {
                    for id in changed {
                        tracing::info!(
                            connection = id,
                            "booking by the rules changed in the panel"
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "changed rules could not be read; retried shortly")
                }
            }
            last_rules_check = std::time::Instant::now();
        }
        if last_sweep.is_none_or(|at| at.elapsed() >= sweep_every) {
            for id in engine.live_connection_ids() {
                if let Err(error) = engine.sweep(&id).await {
                    tracing::warn!(connection = id, %error, "sweep failed; next pass retries");
                }
            }
            last_sweep = Some(std::time::Instant::now());
        }
        // Reports are due on the hour: a look a minute is enough.
        if last_report_check.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            if let Err(error) = engine
                .notifier()
                .queue_due_reports(chrono::Utc::now())
                .await
            {
                tracing::warn!(%error, "the transfer reports could not be made; retried in a minute");
            }
            last_report_check = Some(std::time::Instant::now());
        }
        match engine.run_due().await {
            Ok(0) => {
                // Idle: a webhook wakes the loop at once; the sweeper and retries are due
                // no sooner than a second.
                tokio::select! {
                    _ = engine.wait_for_work(Duration::from_secs(1)) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "worker round failed");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

async fn sync(config_path: &Path, once: bool) -> anyhow::Result<()> {
    let (config, engine) = booking_engine_from(config_path).await?;
    loop {
        // Rules changed in the panel since the last pass.
        engine.reload_settings().await?;
        for id in engine.live_connection_ids() {
            match engine.sweep(&id).await {
                Ok(seen) => println!("{id}: {seen} changed documents read"),
                // One shop being down must not stop the others; the next pass retries.
                Err(error) if !once => {
                    eprintln!("{id}: reading failed, retried next pass: {error:#}")
                }
                Err(error) => return Err(error.context(format!("reading connection `{id}`"))),
            }
        }
        engine.run_until_idle(1_000).await?;
        print_status(&engine).await?;
        engine.notifier().flush().await;
        if once {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(config.sweep_seconds.max(1))) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

async fn backfill(
    config_path: &Path,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    only: Option<String>,
) -> anyhow::Result<()> {
    if to < from {
        anyhow::bail!("--to ({to}) is before --from ({from})");
    }
    let (_, engine) = booking_engine_from(config_path).await?;
    let until = to.succ_opt().context("--to is too far in the future")?;
    for id in engine
        .connection_ids()
        .into_iter()
        .filter(|id| only.as_ref().is_none_or(|o| o == id))
    {
        let bar = ProgressBar::new(0).with_message(id.clone());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} orders ({eta} left)")?
                .progress_chars("=> "),
        );
        let progress = |done: u64, total: u64| {
            // A source that gives no total (PrestaShop) grows the bar as it reads.
            bar.set_length(total.max(done));
            bar.set_position(done);
        };
        let count = engine.backfill(&id, from, until, &progress).await?;
        bar.finish_with_message(format!("{id}: {count} orders taken in"));
    }
    // Until nothing is due, however many orders came in: a round books at most a batch.
    engine.run_until_idle(usize::MAX).await?;
    engine.notifier().flush().await;
    print_status(&engine).await
}

fn plan(
    source: PlanSource,
    settings_path: Option<&Path>,
    document_path: &Path,
) -> anyhow::Result<()> {
    let settings = match settings_path {
        Some(path) => read_booking_settings(path)?,
        None => BookingSettings::default(),
    };
    let text = std::fs::read_to_string(document_path)
        .with_context(|| format!("cannot read {}", document_path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", document_path.display()))?;
    let document = match source {
        PlanSource::Woocommerce => woocommerce::map_order(&value)?,
        PlanSource::Prestashop => {
            let bundle: prestashop::OrderBundle =
                serde_json::from_value(value).with_context(|| {
                    format!(
                        "{} is not a PrestaShop order bundle",
                        document_path.display()
                    )
                })?;
            prestashop::map_order(&bundle)?
        }
    };
    let decision = ledgerlink_rules::decide(&document, &settings);
    println!("{}", serde_json::to_string_pretty(&decision)?);
    Ok(())
}

/// A settings file may hold the booking table at the top or under `[booking]`.
fn read_booking_settings(path: &Path) -> anyhow::Result<BookingSettings> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let booking = match table.get("booking") {
        Some(toml::Value::Table(inner)) => inner.clone(),
        _ => table,
    };
    let settings: BookingSettings = booking
        .try_into()
        .with_context(|| format!("the booking settings in {} are not valid", path.display()))?;
    if let Err(problems) = settings.validate(chrono::Utc::now().date_naive()) {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "the booking settings in {} are not valid: {}",
            path.display(),
            problems.join("; ")
        );
    }
    Ok(settings)
}

async fn status(config_path: &Path) -> anyhow::Result<()> {
    let (_, engine) = engine_from(config_path, false).await?;
    print_status(&engine).await
}

async fn print_status(engine: &Engine) -> anyhow::Result<()> {
    for id in engine.connection_ids() {
        let counts = engine.store().state_counts(&id).await?;
        let summary: Vec<String> = counts
            .iter()
            .map(|(state, n)| format!("{state} {n}"))
            .collect();
        println!(
            "{id}: {}",
            if summary.is_empty() {
                "no documents yet".into()
            } else {
                summary.join(", ")
            }
        );
        for held in engine.store().documents(&id, Some(DocState::Held)).await? {
            println!(
                "  held #{} {} {}: {}",
                held.id,
                held.kind,
                held.number,
                held.reason.unwrap_or_default()
            );
        }
    }
    Ok(())
}

async fn retry(config_path: &Path, document: i64) -> anyhow::Result<()> {
    let (_, engine) = engine_from(config_path, true).await?;
    engine
        .store()
        .retry_held(document, chrono::Utc::now())
        .await
        .with_context(|| format!("document #{document} is not held"))?;
    engine.run_until_idle(100).await?;
    engine.notifier().flush().await;
    let row = engine
        .store()
        .document(document)
        .await?
        .context("the document disappeared")?;
    println!(
        "#{document} {} {}: {}{}",
        row.kind,
        row.number,
        row.state,
        row.reason.map(|r| format!(" ({r})")).unwrap_or_default()
    );
    Ok(())
}

/// Only the ledger is opened: rules that no longer load must not stand in the way. A shop added
/// in the panel has no settings file: it gets the rules a new shop of its kind starts with.
async fn reset_rules(config_path: &Path, connection: &str) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let store = config.open_store().await?;
    let from_file = config.connections.iter().find(|c| c.id == connection);
    let (rules, edit, said) = match from_file {
        Some(from_file) => (
            from_file.booking.clone(),
            None,
            "the settings file's booking rules and notifications again",
        ),
        None => {
            let record = store.connection(connection).await?.with_context(|| {
                format!("neither the settings file nor the ledger has a connection `{connection}`")
            })?;
            let edit = ledgerlink_store::SettingsEdit {
                by: "ledgerlink reset-rules".into(),
                at: chrono::Utc::now(),
            };
            (
                config::default_booking(&record.source_kind),
                Some(edit),
                "the rules a new shop starts with, and no notifications",
            )
        }
    };
    store
        .save_booking_settings(
            connection,
            &serde_json::to_value(&rules)?,
            edit.as_ref(),
            None,
        )
        .await
        .with_context(|| format!("connection `{connection}` is not in the ledger yet"))?;
    store.save_notifications(connection, None).await?;
    println!("{connection}: {said}");
    Ok(())
}

async fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Generate { id } => {
            println!(
                "{}",
                *ledgerlink_store::crypto::new_key_line(id.as_deref())?
            );
            Ok(())
        }
        KeyCommand::Rotate { config } => rotate(&config).await,
        KeyCommand::Seal {
            connection,
            field,
            config,
        } => {
            let keyring = config::keyring_of_settings(&config)?.with_context(|| {
                format!(
                    "no key to seal with: set {} or `key_file` in {}",
                    ledgerlink_store::crypto::KEY_ENV,
                    config.display()
                )
            })?;
            let mut secret = zeroize::Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut secret)
                .context("reading the secret from stdin")?;
            let secret = secret.strip_suffix('\n').unwrap_or(&secret);
            let secret = secret.strip_suffix('\r').unwrap_or(secret);
            if secret.is_empty() {
                anyhow::bail!(
                    "no secret on stdin: e.g. `printf %s 'the secret' | ledgerlink key seal ...`"
                );
            }
            println!(
                "{}",
                config::seal_setting(&keyring, connection.as_deref(), &field, secret)?
            );
            Ok(())
        }
    }
}

/// Re-encrypts the ledger's credentials with the current key, and says which keys are still
/// needed.
async fn rotate(config_path: &Path) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let keyring = config.keyring.as_ref().with_context(|| {
        format!(
            "no key is set: set {} or `key_file` in {} to the keyring, the new key first",
            ledgerlink_store::crypto::KEY_ENV,
            config_path.display()
        )
    })?;
    let store = config.open_store().await?;
    let count = store.reseal_credentials().await?;
    println!(
        "re-encrypted the credentials of {count} connection(s) with key `{}`",
        keyring.current_id()
    );
    let shops = ledgerlink_engine::added_shops::reseal_added_shops(&*store, keyring).await?;
    if shops > 0 {
        println!("re-encrypted the keys of {shops} shop(s) added in the control panel");
    }
    let stale: Vec<_> = config
        .sealed_settings
        .iter()
        .filter(|sealed| sealed.key_id != keyring.current_id())
        .collect();
    for sealed in &stale {
        let connection = sealed
            .connection
            .as_ref()
            .map(|id| format!("--connection {id} "))
            .unwrap_or_default();
        println!(
            "`{}` in {} is sealed with key `{}`: seal it again with `ledgerlink key seal {connection}--field {}`",
            sealed.setting(),
            config_path.display(),
            sealed.key_id,
            sealed.field
        );
    }
    let still_needed: std::collections::BTreeSet<&str> =
        stale.iter().map(|sealed| sealed.key_id.as_str()).collect();
    let removable: Vec<&str> = keyring
        .ids()
        .skip(1)
        .filter(|id| !still_needed.contains(id))
        .collect();
    if !removable.is_empty() {
        println!(
            "the ledger and the settings no longer need key {}: remove it from the keyring once every ledgerlink process runs with `{}` first",
            removable
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", "),
            keyring.current_id()
        );
    }
    Ok(())
}

async fn sandbox(system: SandboxSystem, port: u16) -> anyhow::Result<()> {
    use ledgerlink_sandbox::{exact, prestashop, vies, woocommerce};
    match system {
        SandboxSystem::Woocommerce => {
            let (running, shop) =
                woocommerce::WooSandbox::start(woocommerce::WooConfig::default(), port).await?;
            let config = shop.config();
            println!("WooCommerce sandbox on {}", running.base_url());
            println!("  REST API:        {}/wp-json/wc/v3/", running.base_url());
            println!("  consumer key:    {}", config.consumer_key);
            println!("  consumer secret: {}", config.consumer_secret);
            println!(
                "  admin:           POST {}/__sandbox/demo-mix creates demo orders",
                running.base_url()
            );
            tokio::signal::ctrl_c().await?;
            drop(running);
        }
        SandboxSystem::Prestashop => {
            let (running, shop) =
                prestashop::PrestaSandbox::start(prestashop::PrestaConfig::default(), port).await?;
            println!("PrestaShop sandbox on {}", running.base_url());
            println!("  webservice: {}/api/", running.base_url());
            println!("  API key:    {}", shop.config().api_key);
            println!(
                "  admin:      POST {}/__sandbox/demo-mix creates demo orders",
                running.base_url()
            );
            tokio::signal::ctrl_c().await?;
            drop(running);
        }
        SandboxSystem::Vies => {
            let (running, _vies) =
                vies::ViesSandbox::start(vies::ViesConfig::default(), port).await?;
            println!("VIES sandbox on {}", running.base_url());
            println!(
                "  check:        POST {}/check-vat-number",
                running.base_url()
            );
            println!("  test service: POST {}/check-vat-test-service (100 valid, 200 invalid, 201-601 errors)", running.base_url());
            tokio::signal::ctrl_c().await?;
            drop(running);
        }
        SandboxSystem::Exact => {
            let (running, sandbox) =
                exact::ExactSandbox::start(exact::ExactConfig::default(), port).await?;
            let config = sandbox.config();
            println!("Exact Online sandbox on {}", running.base_url());
            println!("  authorize:     {}/api/oauth2/auth", running.base_url());
            println!("  token:         {}/api/oauth2/token", running.base_url());
            println!("  client id:     {}", config.client_id);
            println!("  client secret: {}", config.client_secret);
            println!("  redirect uri:  {}", config.redirect_uri);
            println!("  division:      100001");
            tokio::signal::ctrl_c().await?;
            drop(running);
        }
    }
    Ok(())
}
