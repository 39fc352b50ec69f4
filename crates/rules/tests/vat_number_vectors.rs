//! Every reference vector in `tests/data/vat-number-test-vectors.json` against
//! `ledgerlink_rules::vat_number`: each valid number accepted, each invalid one rejected with
//! the error class the vector expects. All failures are reported together.

use std::collections::BTreeMap;

use ledgerlink_rules::vat_number::{check_str, VatNumberError};
use serde::Deserialize;

const VECTORS: &str = include_str!("data/vat-number-test-vectors.json");

#[derive(Deserialize)]
struct Vectors {
    valid: BTreeMap<String, Vec<String>>,
    invalid: Vec<Invalid>,
}

#[derive(Deserialize)]
struct Invalid {
    number: String,
    expect: String,
}

/// Vectors that `ledgerlink_core::VatNumber` cannot read, so `check_str` stops with
/// [`VatNumberError::Parse`] before any country rule runs: how core would have to receive the
/// number for the rules to see it (`None` when core cannot hold it at all), and why.
const CORE_CANNOT_READ: &[(&str, Option<&str>, &str)] = &[
    (
        "RO 1630615123457",
        None,
        "a 13-digit personal CNP is longer than core's 12 characters",
    ),
    (
        "EU372022452",
        None,
        "EU (OSS non-union scheme) is not a prefix core accepts",
    ),
];

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("the test-vector file is valid JSON")
}

fn core_cannot_read(number: &str) -> Option<(Option<&'static str>, &'static str)> {
    CORE_CANNOT_READ
        .iter()
        .find(|(written, _, _)| *written == number)
        .map(|&(_, as_read, why)| (as_read, why))
}

/// The vector's class (python-stdnum's exception name) for an error of ours.
fn class_of(error: &VatNumberError) -> &'static str {
    match error {
        VatNumberError::Parse(_) => "Parse",
        VatNumberError::Length { .. } => "InvalidLength",
        VatNumberError::Format { .. } => "InvalidFormat",
        VatNumberError::Component { .. } => "InvalidComponent",
        VatNumberError::Checksum { .. } => "InvalidChecksum",
        VatNumberError::RepeatedPrefix { .. } => "DuplicatedPrefix",
    }
}

/// Whether core's refusal to parse fits the class the vector expects: core refuses numbers
/// that are not shaped like a VAT number (unknown prefix, too long, odd characters), never
/// because of check digits.
fn parse_error_fits(expect: &str) -> bool {
    matches!(
        expect,
        "InvalidFormat" | "InvalidLength" | "InvalidComponent" | "DuplicatedPrefix"
    )
}

fn report(failures: &[String], checked: usize, what: &str) {
    assert!(
        failures.is_empty(),
        "{} of {checked} {what} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_vector_file_is_complete() {
    let vectors = vectors();
    assert_eq!(vectors.valid.values().map(Vec::len).sum::<usize>(), 642);
    assert_eq!(vectors.invalid.len(), 115);
}

#[test]
fn every_valid_vector_is_accepted() {
    let vectors = vectors();
    let mut failures = Vec::new();
    let mut checked = 0;
    for number in vectors.valid.values().flatten() {
        checked += 1;
        let result = check_str(number);
        match (core_cannot_read(number), result) {
            (None, Ok(_)) => {}
            (None, Err(error)) => failures.push(format!("{number:?} rejected: {error}")),
            (Some((as_read, why)), Err(VatNumberError::Parse(_))) => {
                if let Some(as_read) = as_read {
                    if let Err(error) = check_str(as_read) {
                        failures.push(format!("{number:?} ({why}) as {as_read:?}: {error}"));
                    }
                }
            }
            (Some(_), result) => failures.push(format!(
                "{number:?} is listed in CORE_CANNOT_READ but core reads it now ({result:?}): \
                 remove it from the list"
            )),
        }
    }
    report(&failures, checked, "valid");
}

#[test]
fn every_invalid_vector_is_rejected_with_its_class() {
    let vectors = vectors();
    let mut failures = Vec::new();
    for Invalid { number, expect } in &vectors.invalid {
        let outcome = match (core_cannot_read(number), check_str(number)) {
            (_, Ok(parsed)) => Err(format!("accepted as {parsed}")),
            (Some((Some(as_read), why)), Err(VatNumberError::Parse(_))) => {
                match check_str(as_read) {
                    Err(error) if class_of(&error) == expect => Ok(()),
                    other => Err(format!("({why}) as {as_read:?}: {other:?}")),
                }
            }
            (None, Err(VatNumberError::Parse(_))) if parse_error_fits(expect) => Ok(()),
            (_, Err(error)) if class_of(&error) == expect => Ok(()),
            (_, Err(error)) => Err(format!("{}: {error}", class_of(&error))),
        };
        if let Err(problem) = outcome {
            failures.push(format!("{number:?} (expected {expect}): {problem}"));
        }
    }
    report(&failures, vectors.invalid.len(), "invalid");
}

#[test]
fn every_rejection_names_the_number_and_the_country() {
    let vectors = vectors();
    let mut failures = Vec::new();
    for Invalid { number, .. } in &vectors.invalid {
        let text = match check_str(number) {
            Ok(_) => continue,
            Err(error) => error.to_string(),
        };
        // Core's own message quotes the input as written; ours start with the normalised
        // number (prefix and body) and name the country in words.
        let named = match number.parse::<ledgerlink_core::VatNumber>() {
            Err(_) => text.contains(number.as_str()),
            Ok(parsed) => text.starts_with(&format!("{parsed}: ")) && text.contains(" from "),
        };
        if !named {
            failures.push(format!("{number:?}: {text}"));
        }
    }
    report(&failures, vectors.invalid.len(), "invalid");
}
