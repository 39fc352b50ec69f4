//! A PrestaShop webservice answer, XML or JSON, read into JSON's shape; then what the client
//! reads from it: entities, lists, the webservice's errors and order states.
#![no_main]

use ledgerlink_sources::prestashop::body::{entity, errors, language_text, list, parse};
use ledgerlink_sources::prestashop::OrderState;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// XML values stay strings (body.rs): the only scalars are strings.
fn only_text(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(only_text),
        Value::Object(fields) => fields.values().all(only_text),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fuzz_target!(|body: &str| {
    for error in errors(body) {
        assert!(!error.message.is_empty());
        assert_eq!(error.message.trim(), error.message);
    }
    let Ok(document) = parse(body) else {
        return;
    };
    if body
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
    {
        assert!(only_text(&document), "{document}");
    }
    for node in ["order", "customer", "address", "country", "currency", "tax"] {
        if let Ok(Value::Object(fields)) = entity(&document, node) {
            fields.values().for_each(|field| drop(language_text(field)));
        }
    }
    for node in ["orders", "order_details", "order_histories", "order_slips"] {
        let _ = list(&document, node);
    }
    let states = list(&document, "order_states").unwrap_or_default();
    let state = entity(&document, "order_state").into_iter();
    for value in states.iter().cloned().chain(state) {
        let Ok(state) = OrderState::from_value(&value) else {
            continue;
        };
        // The status slug that triggers and skips name.
        let slug = state.slug();
        assert!(!slug.is_empty());
        assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));
        assert!(
            slug.chars().all(|c| c == '-' || !c.is_uppercase()),
            "{slug}"
        );
    }
});
