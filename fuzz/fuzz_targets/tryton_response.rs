//! What Tryton's JSON-RPC answers, read as the client reads it: the login's session hidden
//! from the audit log, invoices, and the `__class__` values for decimals and dates.
#![no_main]

use ledgerlink_targets::tryton::wire::{date, decimal, to_date, to_decimal, truthy};
use ledgerlink_targets::tryton::{booking_ref, hide_session};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

/// Every value in an answer, depth first.
fn visit(value: &Value, each: &mut impl FnMut(&Value)) {
    each(value);
    match value {
        Value::Array(items) => items.iter().for_each(|item| visit(item, each)),
        Value::Object(fields) => fields.values().for_each(|field| visit(field, each)),
        _ => {}
    }
}

fuzz_target!(|text: &str| {
    let logged = hide_session(text);
    let Ok(reply) = serde_json::from_str::<Value>(text) else {
        assert_eq!(logged, text);
        return;
    };
    // The session in a login answer (`result[1]`) never reaches the audit log.
    if reply.pointer("/result/1").is_some_and(Value::is_string) {
        let hidden: Value = serde_json::from_str(&logged).expect("still JSON");
        assert_eq!(hidden.pointer("/result/1"), Some(&json!("[redacted]")));
    }
    visit(&reply, &mut |value| {
        // What is read from Tryton is written back the same way.
        if let Some(amount) = to_decimal(value) {
            assert_eq!(to_decimal(&decimal(amount)), Some(amount));
        }
        if let Some(day) = to_date(value) {
            assert_eq!(to_date(&date(day)), Some(day));
        }
        let _ = truthy(value);
        if let Ok(booked) = booking_ref(value) {
            assert_eq!(booked.id, value["id"].as_i64().expect("an id").to_string());
        }
    });
});
