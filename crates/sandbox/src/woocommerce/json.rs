//! Byte-level output the way WordPress produces it, and WooCommerce's number formatting.
//!
//! WordPress encodes every REST response and webhook body with `wp_json_encode()`, i.e. PHP's
//! `json_encode()` without flags: `/` is written as `\/` and every non-ASCII character as a
//! `\uXXXX` escape. We reproduce that so a receiver that re-serialises a webhook body before
//! checking its signature fails here exactly as it would against a real shop.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Number, Value};

/// The emulated site runs with a fixed "UTC+1" timezone setting (WordPress allows manual
/// offsets), so `date_*` (site time) and `date_*_gmt` always differ by one hour.
pub(crate) const SITE_UTC_OFFSET_SECS: i64 = 3600;

/// `json_encode($value)` as PHP 7.1+ writes it.
pub(crate) fn php_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => crate::php::write_json_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::php::write_json_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// WooCommerce rounding (`wc_round_tax_total`, `round()` in PHP): half away from zero.
pub(crate) fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A money string with two decimals ("29.35", "-10.00"), as the API returns every amount.
pub(crate) fn money(value: Decimal) -> String {
    let mut rounded = round2(value);
    if rounded.is_zero() {
        rounded = Decimal::ZERO;
    }
    rounded.rescale(2);
    rounded.to_string()
}

/// An unrounded tax amount as WooCommerce stores it in `taxes[]`: PHP turns the float into a
/// string with 14 significant digits and no trailing zeros ("0.9", "1.125", "2.2475206611570").
pub(crate) fn unrounded(value: Decimal) -> String {
    let value = value.round_sf(14).unwrap_or(value).normalize();
    if value.is_zero() {
        "0".to_string()
    } else {
        value.to_string()
    }
}

/// A JSON number built from a Decimal without going through arithmetic on floats.
///
/// serde_json (without `arbitrary_precision`) stores non-integers as f64. Integral values become
/// integers (PHP prints `3`, not `3.0`); other values are first rounded to 15 significant digits
/// and then parsed from their decimal string: every decimal with at most 15 significant digits
/// survives the round trip through the nearest f64, and serde_json prints the shortest string
/// that parses back to it — the same digits we started from.
pub(crate) fn number(value: Decimal) -> Value {
    let value = value.round_sf(15).unwrap_or(value).normalize();
    if value.is_integer() {
        if let Ok(i) = i64::from_str(&value.to_string()) {
            return Value::Number(Number::from(i));
        }
    }
    value
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Site-local time as WordPress prints it: ISO-8601 without offset.
pub(crate) fn local(at: DateTime<Utc>) -> String {
    (at + Duration::seconds(SITE_UTC_OFFSET_SECS))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

pub(crate) fn gmt(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

pub(crate) fn local_opt(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(local(at)))
}

pub(crate) fn gmt_opt(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(gmt(at)))
}
