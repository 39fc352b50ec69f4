//! The commands of the `ledgerlink` binary; `main.rs` only parses and calls [`run`].

pub mod bench;
pub mod chaos;
mod commands;
pub mod demo;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use commands::run;

#[derive(Debug, Parser)]
#[command(
    name = "ledgerlink",
    version,
    about = "Books a merchant's sales into their accounting system, exactly once and to the cent."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the whole flow on this machine with no account anywhere: starts an emulated
    /// WooCommerce shop and Exact Online, creates a realistic mix of orders and refunds, books
    /// them and prints a summary. A second run on the same database books nothing new.
    Demo {
        /// The SQLite file holding the demo's ledger. Its credentials are encrypted with a key
        /// the demo makes beside it on the first run (`ledgerlink-demo.key`, mode 0600).
        #[arg(long, default_value = "ledgerlink-demo.sqlite")]
        database: PathBuf,
        /// The ledger to book into: the Exact Online emulator, or a real Tryton server
        /// (`tools/tryton/setup.sh` starts one).
        #[arg(long, value_enum, default_value = "exact")]
        target: DemoTarget,
        /// Where the Tryton server answers, with `--target tryton`.
        #[arg(long, default_value = "http://127.0.0.1:8000")]
        tryton_url: String,
    },
    /// Runs the service: webhook intake, the poll sweeper, the booking workers, and the control
    /// panel and JSON API (`/`, `/api/v1`) on the same address. Refuses to start on settings
    /// that name codes the target does not have, and without a key that opens every credential
    /// in the ledger (`key_file` or LEDGERLINK_KEY; `ledgerlink key`).
    Serve {
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
    },
    /// Polls every source for changes and books them, without taking webhooks: every
    /// `sweep_seconds`, or once with `--once`. Needs the key, as `serve` does.
    Sync {
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
        /// One pass: read what changed since the last pass, book it, print the status, exit.
        #[arg(long)]
        once: bool,
    },
    /// Takes in every order created in a date range (days in the shop's own time zone) and
    /// books it, with a progress bar. Needs the key, as `serve` does.
    Backfill {
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
        /// First day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// Last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: chrono::NaiveDate,
        /// Only this connection (default: all).
        #[arg(long)]
        connection: Option<String>,
    },
    /// Prints the booking plan of one source document as JSON, touching no network: the dry
    /// run of the rules, with every module's effect (format: docs/plan-format.md). The
    /// settings are checked first, naming any setting to fix.
    Plan {
        #[arg(long, value_enum, default_value = "woocommerce")]
        source: PlanSource,
        /// A TOML file with the booking settings (the `[booking]` table of a connection);
        /// defaults apply when left out.
        #[arg(long)]
        settings: Option<PathBuf>,
        /// The document as the source's API returns it (e.g. GET /orders/{id}).
        document: PathBuf,
    },
    /// Shows the state of every document per connection, with the reasons of held ones.
    Status {
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
    },
    /// Tries a held document again (after its data or the settings were fixed). Needs the key,
    /// as `serve` does.
    Retry {
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
        /// The document's ledger id, as `status` shows it.
        document: i64,
    },
    /// Puts the settings file's booking rules and notifications back in force for a connection
    /// whose rules or recipients were changed in the control panel (which otherwise outlast the
    /// file); a shop added in the panel gets the rules a new shop starts with. A running
    /// `serve` takes it up within seconds.
    ResetRules {
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
        /// The connection's id, as in the settings file.
        connection: String,
    },
    /// The keys that encrypt credentials at rest: the ledger's tokens and sealed settings.
    ///
    /// The OAuth tokens and sessions in the ledger, and secrets sealed in the settings file
    /// (docs/settings.md, "Keys and sealed secrets").
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Runs an emulator of a vendor API on this machine and prints the credentials to use.
    Sandbox {
        #[arg(value_enum)]
        system: SandboxSystem,
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Proves exactly-once under faults and crashes: two shops book into two emulated Exact
    /// companies through several `serve` processes while Exact fails calls at random, tokens
    /// expire, webhooks are duplicated, delayed and forged, and workers are killed with SIGKILL;
    /// then judges the result by what the emulators recorded (docs/reliability.md). Exits 1 when
    /// any document is lost, booked twice, off by a cent, or booked with another tenant's
    /// credentials.
    Chaos {
        #[arg(long, default_value_t = 300)]
        orders: usize,
        /// `ledgerlink serve` processes sharing the ledger.
        #[arg(long, default_value_t = 3)]
        workers: usize,
        /// Workers killed with SIGKILL (and restarted) during the run.
        #[arg(long, default_value_t = 20)]
        kills: usize,
        /// Share of Exact API calls that fail.
        #[arg(long, default_value_t = 0.3)]
        fault_rate: f64,
        /// Calls a minute each emulated Exact company allows, counted in five-second windows
        /// (Exact's own limit, 60, would make a large run a test of patience).
        #[arg(long, default_value_t = 600)]
        exact_calls_per_minute: u32,
        /// Seconds the system may take to settle once the faults stop: a larger run leaves a
        /// larger backlog.
        #[arg(long, default_value_t = 180)]
        settle_within: u64,
        /// Seeds the orders, faults and kills: the same seed replays the same run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A PostgreSQL database URL for the ledger; without it, a SQLite file in `--dir`.
        #[arg(long)]
        postgres: Option<String>,
        /// Run on a PostgreSQL cluster of the run's own (created in `--dir`) and stop it hard
        /// (`pg_ctl stop -m immediate`) this many times during the run.
        #[arg(long, conflicts_with = "postgres")]
        database_crashes: Option<usize>,
        /// Where the settings, the ledger and the workers' logs go.
        #[arg(long, default_value = "ledgerlink-chaos")]
        dir: PathBuf,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Measures how few Exact API calls an order costs and how much one machine carries, and
    /// prints a table per benchmark (docs/benchmarks.md).
    ///
    /// Against the emulators on this machine: calls per order in each posting mode; orders
    /// per second end to end (webhook, SQLite or PostgreSQL ledger, Exact) beside a bare loop
    /// POSTing the same entries; mapping alone per core; webhook-to-booked latency of a `serve`
    /// process; peak memory of `backfill` and idle memory of `serve` on a large ledger; and
    /// several companies under Exact's rate limits on a compressed clock. Build with
    /// `--release` for figures worth quoting; the full run takes a quarter of an hour or more
    /// (a 100,000-order backfill, a ledger of a million documents).
    Bench {
        /// Run only this benchmark.
        #[arg(long, value_enum)]
        only: Option<bench::BenchName>,
        /// Also write the results as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Small sizes: a smoke test of every benchmark, not figures.
        #[arg(long)]
        quick: bool,
        /// A PostgreSQL database for the throughput benchmark's second run (a schema of its
        /// own is made and dropped); without it that run is skipped.
        #[arg(long, env = "LEDGERLINK_TEST_POSTGRES")]
        postgres: Option<String>,
        /// Seeds the order mix: the same seed books the same orders.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The memory benchmark's backfill sizes (default 10000,50000,100000; with --quick
        /// 100,200). The emulators slow down as they fill, so the largest take the longest.
        #[arg(long, value_delimiter = ',')]
        backfill_orders: Vec<usize>,
        /// Booked documents in the ledger of the idle `serve` (default 1000000; with --quick
        /// 10000).
        #[arg(long)]
        ledger_documents: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Prints a new key as a keyring line, `<id>:<base64 of 32 random bytes>`.
    ///
    /// Keep it where only ledgerlink can read it: `(umask 077; ledgerlink key generate > ledgerlink.key)`,
    /// then `key_file = "ledgerlink.key"` in the settings, or the line in LEDGERLINK_KEY.
    /// To rotate, put a new line first (the first key encrypts, every key decrypts), restart
    /// the `serve` processes, run `ledgerlink key rotate`, then remove the old line.
    Generate {
        /// The key's id (letters, digits, `-`, `_`, `.`); by default its fingerprint.
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-encrypts every credential in the ledger with the current (first) key.
    ///
    /// In one transaction; says for how many connections. After it, the older keys can be removed (once no
    /// sealed setting names them: it lists those that do).
    Rotate {
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
    },
    /// Reads a secret from stdin and prints it sealed for one setting of one connection.
    ///
    /// It prints `enc:v1:<key id>:<data>` to paste into the settings file in place of the secret. The
    /// key is LEDGERLINK_KEY's or the settings file's `key_file`.
    Seal {
        /// The connection's id; left out for `smtp.password`, which belongs to none.
        #[arg(long)]
        connection: Option<String>,
        /// The setting, named within its connection: `source.consumer_key`,
        /// `source.consumer_secret`, `source.webhook_secrets` (each of them),
        /// `source.api_key`, `target.client_secret`, `target.password`,
        /// `notifications.webhook_secret`; or `smtp.password`.
        #[arg(long)]
        field: String,
        /// The settings file whose `key_file` holds the key (unless LEDGERLINK_KEY is set).
        #[arg(long, env = "LEDGERLINK_CONFIG", default_value = "ledgerlink.toml")]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DemoTarget {
    Exact,
    Tryton,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PlanSource {
    /// An order as `GET /wp-json/wc/v3/orders/{id}` returns it.
    Woocommerce,
    /// An order bundle as ledgerlink stores it for a PrestaShop order (the order with its
    /// rows, state, customer, addresses and taxes).
    Prestashop,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SandboxSystem {
    Woocommerce,
    Prestashop,
    Exact,
    Vies,
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings).
pub fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
