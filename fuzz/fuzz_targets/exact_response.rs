//! What Exact Online answers, read as the client reads it. Input: an HTTP answer's headers,
//! one `name: value` a line, then an empty line and the body.
#![no_main]

use chrono::Utc;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use ledgerlink_targets::exact::{
    booking_ref, exact_message, invoice_ref, token_record, RateBudget,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|answer: &str| {
    let (head, body) = answer.split_once("\n\n").unwrap_or(("", answer));
    let mut headers = HeaderMap::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    if let Some(budget) = RateBudget::from_headers(&headers) {
        assert!(
            headers.contains_key("x-ratelimit-minutely-reset"),
            "{budget:?}"
        );
    }

    // An error answer's reason is shown to a person: never empty.
    assert!(!exact_message(body).trim().is_empty());

    // The token service's answer.
    let now = Utc::now();
    if let Ok(token) = token_record(body, now) {
        assert_eq!(token.issued_at, now);
    }

    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return;
    };
    // A list answer (`d.results`, as `get_all` reads it) and a created record (`d`, as `post`).
    let listed = value["d"]
        .get("results")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let created = value.get("d").cloned().unwrap_or_else(|| value.clone());
    for record in listed.iter().chain([&created]) {
        if let Ok(booked) = booking_ref(record) {
            assert_eq!(booked.id, record["EntryID"].as_str().unwrap_or_default());
            let stated = record.get("AmountFC").is_some_and(|a| !a.is_null());
            assert_eq!(booked.total.is_some(), stated);
        }
        if let Ok(booked) = invoice_ref(record) {
            assert_eq!(booked.id, record["InvoiceID"].as_str().unwrap_or_default());
        }
    }
});
