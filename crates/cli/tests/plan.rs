//! `ledgerlink plan`: the dry run of one document, as a bookkeeper would run it.

use std::process::Command;

use serde_json::Value;

fn project_file(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn plan(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ledgerlink"))
        .arg("plan")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_reference_example_order_gives_a_balanced_plan() {
    let (ok, stdout, stderr) = plan(&[
        "--settings",
        &project_file("examples/settings-us.toml"),
        &project_file("examples/woocommerce-order.json"),
    ]);
    assert!(ok, "{stderr}");
    let decision: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(decision["decision"], "book", "{stdout}");
    let plan = &decision["plan"];
    assert_eq!(plan["total"], "29.35");
    let lines = plan["lines"].as_array().unwrap();
    let sum: rust_decimal::Decimal = lines
        .iter()
        .map(|l| {
            l["amount"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap()
                + l["vat_amount"]
                    .as_str()
                    .unwrap()
                    .parse::<rust_decimal::Decimal>()
                    .unwrap()
        })
        .sum();
    assert_eq!(sum.to_string(), "29.35");
    assert_eq!(plan["reference"], "WC-727");
    assert!(lines
        .iter()
        .all(|l| l["vat_code"] == "CA" || l["vat_code"] == "0"));
}

#[test]
fn with_dutch_defaults_the_us_example_is_held_as_an_export_with_tax() {
    let (ok, stdout, _) = plan(&[&project_file("examples/woocommerce-order.json")]);
    assert!(ok);
    let decision: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(decision["decision"], "hold");
    assert!(
        decision["reason"]
            .as_str()
            .unwrap()
            .contains("outside the EU"),
        "{stdout}"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let (ok, _, stderr) = plan(&["/nonexistent/order.json"]);
    assert!(!ok);
    assert!(
        stderr.contains("cannot read /nonexistent/order.json"),
        "{stderr}"
    );
}
