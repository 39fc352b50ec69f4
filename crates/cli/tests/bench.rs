//! `ledgerlink bench --quick` as a smoke test: every benchmark runs and reports sane figures.
//! Correctness only — how fast anything is, is the benchmark's business, never a test's.

use serde_json::Value;

fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {value}"))
}

fn positive(value: &Value, what: &str) {
    let n = number(value, what);
    assert!(n.is_finite() && n > 0.0, "{what} is {n}");
}

#[test]
fn every_benchmark_reports_sane_figures() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ledgerlink"))
        .args(["bench", "--quick", "--json"])
        .arg(&json)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    let modes = report["calls"]["modes"].as_array().expect("calls per mode");
    assert_eq!(modes.len(), 3);
    for mode in modes {
        let name = mode["mode"].as_str().unwrap();
        assert_eq!(mode["not_booked"], 0, "{name}: every document is booked");
        positive(&mode["calls_per_order"], name);
        positive(&mode["setup_calls"], name);
    }
    // One POST per booked document is the least any booking can cost.
    assert!(number(&modes[0]["calls_per_order"], "per document") >= 1.0);
    // A summary books many orders in one entry.
    assert!(
        number(&modes[2]["entry_calls"], "summary entries")
            < number(&modes[0]["entry_calls"], "per-document entries")
    );

    let runs = report["throughput"]["runs"].as_array().expect("throughput");
    assert!(!runs.is_empty());
    for run in runs {
        for field in ["orders_per_second", "bare_loop_orders_per_second", "ratio"] {
            positive(&run[field], field);
        }
    }
    if std::env::var("LEDGERLINK_TEST_POSTGRES").is_ok() {
        assert!(runs.iter().any(|r| r["backend"] == "postgresql"));
    }

    let mapping = report["mapping"]["runs"].as_array().expect("mapping");
    assert_eq!(mapping.len(), 2);
    for run in mapping {
        positive(&run["orders_per_second_per_core"], "mapping orders/s");
    }

    let latency = &report["latency"];
    positive(&latency["p50_ms"], "p50");
    assert!(number(&latency["p99_ms"], "p99") >= number(&latency["p50_ms"], "p50"));

    let memory = &report["memory"];
    for run in memory["backfill"].as_array().expect("backfill runs") {
        positive(&run["peak_rss_mb"], "backfill peak");
    }
    positive(&memory["idle_serve_rss_mb"], "idle serve");

    let companies = report["rate_limits"]["companies"]
        .as_array()
        .expect("companies");
    assert!(companies.len() >= 2);
    assert!(companies.iter().any(|c| number(&c["calls"], "calls") > 0.0));
}
