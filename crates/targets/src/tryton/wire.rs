//! Tryton's JSON-RPC values. Decimals and dates travel as `{"__class__": ...}` objects: a JSON
//! float for an amount is refused by Tryton (its binary digits exceed the field's), so amounts
//! are written from the decimal's text and read back the same way.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// A decimal as Tryton takes it.
pub fn decimal(amount: Decimal) -> Value {
    json!({"__class__": "Decimal", "decimal": amount.to_string()})
}

/// A day as Tryton takes it.
pub fn date(day: NaiveDate) -> Value {
    use chrono::Datelike;
    json!({"__class__": "date", "year": day.year(), "month": day.month(), "day": day.day()})
}

/// A Numeric field as Tryton sends it (the `__class__` object, or a plain string).
pub fn to_decimal(value: &Value) -> Option<Decimal> {
    let text = match value {
        Value::Object(object) if object.get("__class__")? == "Decimal" => {
            object.get("decimal")?.as_str()?
        }
        Value::String(text) => text,
        _ => return None,
    };
    text.parse().ok()
}

/// A Date field as Tryton sends it.
pub fn to_date(value: &Value) -> Option<NaiveDate> {
    let object = value.as_object()?;
    if object.get("__class__")? != "date" {
        return None;
    }
    let part = |name: &str| u32::try_from(object.get(name)?.as_u64()?).ok();
    NaiveDate::from_ymd_opt(part("year")?.try_into().ok()?, part("month")?, part("day")?)
}

/// Booleans come back as `true`/`false`, or as `1`/`0` from Tryton's SQLite backend.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_i64() != Some(0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_and_dates_round_trip_in_tryton_form() {
        let amount: Decimal = "-1234.50".parse().unwrap();
        let encoded = decimal(amount);
        assert_eq!(
            encoded,
            json!({"__class__": "Decimal", "decimal": "-1234.50"})
        );
        assert_eq!(to_decimal(&encoded), Some(amount));
        assert_eq!(to_decimal(&json!("9.99")), "9.99".parse().ok());
        assert_eq!(to_decimal(&json!(9.99)), None, "never a float");
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(
            date(day),
            json!({"__class__": "date", "year": 2026, "month": 11, "day": 25})
        );
        assert_eq!(to_date(&date(day)), Some(day));
    }

    #[test]
    fn sqlite_booleans_are_numbers() {
        assert!(truthy(&json!(1)) && truthy(&json!(true)));
        assert!(!truthy(&json!(0)) && !truthy(&json!(false)) && !truthy(&Value::Null));
    }
}
