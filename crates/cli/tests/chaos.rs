//! The chaos run at CI size (docs/reliability.md): two shops, two Exact companies, three
//! `serve` processes sharing the ledger, 30% of Exact's calls failing, tokens expiring,
//! webhooks duplicated, delayed and forged, twenty SIGKILLs (and on PostgreSQL three hard
//! database stops) — and every paid document booked exactly once, to the cent, with its own
//! tenant's credentials.

use std::path::Path;

use ledgerlink::chaos;

async fn run(dir: &Path, database_crashes: Option<usize>, seed: u64) {
    let options = chaos::ChaosOptions {
        database_crashes,
        ..chaos::options(
            Path::new(env!("CARGO_BIN_EXE_ledgerlink")),
            dir,
            150,
            20,
            seed,
        )
    };
    let report = chaos::run(options).await.expect("the chaos run ran");
    let described = chaos::describe(&report);
    println!("{described}");
    assert!(report.passed(), "{described}");
    assert_eq!(report.kills, 20);
    assert_eq!(report.database_crashes, database_crashes.unwrap_or(0));
    assert!(report.faults_injected > 0, "{described}");
    assert!(
        report.token_expiries > 0 && report.webhooks_forged > 0,
        "{described}"
    );
    assert!(report.verdict.booked > 100, "{described}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_survives_faults_and_kills_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), None, 7).await;
}

/// On a PostgreSQL cluster of the run's own, stopped hard three times during the run. Runs
/// where PostgreSQL is available to the tests (`LEDGERLINK_TEST_POSTGRES`, which `.ci/run` sets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_survives_faults_kills_and_database_crashes_on_postgresql() {
    if std::env::var(ledgerlink_testkit::postgres::POSTGRES_URL).is_err() {
        eprintln!("note: PostgreSQL is not available to the tests, so this run is skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), Some(3), 8).await;
}
