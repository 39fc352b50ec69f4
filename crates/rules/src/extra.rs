//! Extra fields: the shop's non-standard fields passed on to the target's fields, on the
//! document (payment reference, external link) or on each product line (period, serial
//! number, Intrastat). A value the target would refuse holds the document with the reason.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use ledgerlink_core::{Country, Document, Line, LineKind};
use rust_decimal::Decimal;

use crate::effects::Effects;
use crate::settings::{ExtraField, FieldSource};
use crate::BookingSettings;

/// The document-level extra fields, by name.
pub fn document_extras(
    document: &Document,
    settings: &BookingSettings,
    effects: &mut Effects,
) -> Result<BTreeMap<String, String>, String> {
    if settings.extra_fields.is_empty() {
        effects.off("extra_fields");
        return Ok(BTreeMap::new());
    }
    let mut extras = BTreeMap::new();
    for (field, source) in &settings.extra_fields {
        if !field.is_document_level() {
            continue;
        }
        if let Some(value) = value_of(source, document, None) {
            extras.insert(field.name(), checked(*field, value, document)?);
        }
    }
    let line_fields: Vec<String> = settings
        .extra_fields
        .keys()
        .filter(|f| !f.is_document_level())
        .map(|f| f.name())
        .collect();
    effects.note(
        "extra_fields",
        format!(
            "document: {}; product lines: {}",
            if extras.is_empty() {
                "none found".to_string()
            } else {
                extras
                    .iter()
                    .map(|(k, v)| format!("{k} = `{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if line_fields.is_empty() {
                "none".to_string()
            } else {
                line_fields.join(", ")
            }
        ),
    );
    Ok(extras)
}

/// The line-level extra fields of one product line, by name.
pub fn line_extras(
    document: &Document,
    line: &Line,
    settings: &BookingSettings,
) -> Result<BTreeMap<String, String>, String> {
    let mut extras = BTreeMap::new();
    if line.kind != LineKind::Product {
        return Ok(extras);
    }
    for (field, source) in &settings.extra_fields {
        if field.is_document_level() {
            continue;
        }
        if let Some(value) = value_of(source, document, Some(line)) {
            extras.insert(field.name(), checked(*field, value, document)?);
        }
    }
    Ok(extras)
}

/// A line's own field wins over the document's; empty values count as absent.
fn value_of(source: &FieldSource, document: &Document, line: Option<&Line>) -> Option<String> {
    let value = match source {
        FieldSource::Value(value) => Some(value.clone()),
        FieldSource::Field(name) => line
            .and_then(|l| l.custom_fields.get(name))
            .or_else(|| document.custom_fields.get(name))
            .cloned(),
    }?;
    let value = value.trim().to_string();
    (!value.is_empty()).then_some(value)
}

fn checked(field: ExtraField, value: String, document: &Document) -> Result<String, String> {
    let refuse = |expected: &str| {
        Err(format!(
            "The extra field `{}` of document {} is `{value}`, which is not {expected}. Correct the field in the shop or its mapping under [connections.booking.extra_fields], then retry.",
            field.name(),
            document.number
        ))
    };
    match field {
        ExtraField::PeriodFrom | ExtraField::PeriodTo => {
            match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
                Ok(date) => Ok(date.to_string()),
                Err(_) => refuse("a date (YYYY-MM-DD)"),
            }
        }
        ExtraField::IntrastatStatisticalValue
        | ExtraField::IntrastatStatisticalQuantity
        | ExtraField::IntrastatNetWeight => match value.replace(',', ".").parse::<Decimal>() {
            Ok(number) if !number.is_sign_negative() => Ok(number.normalize().to_string()),
            _ => refuse("a number of zero or more"),
        },
        ExtraField::IntrastatCountry => match value.parse::<Country>() {
            Ok(country) => Ok(country.code().to_string()),
            Err(_) => refuse("a two-letter country code"),
        },
        ExtraField::IntrastatCommodityCode => {
            let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            if digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit()) {
                Ok(digits)
            } else {
                refuse("an 8-digit commodity code (CN8)")
            }
        }
        ExtraField::ExternalLinkUrl => {
            if (value.starts_with("https://") || value.starts_with("http://"))
                && !value.contains(char::is_whitespace)
            {
                Ok(value)
            } else {
                refuse("a web address starting with https://")
            }
        }
        _ => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    fn with_fields(fields: &[(ExtraField, FieldSource)]) -> BookingSettings {
        BookingSettings {
            extra_fields: fields.iter().cloned().collect(),
            ..settings()
        }
    }

    #[test]
    fn document_and_line_fields_come_from_their_sources() {
        let settings = with_fields(&[
            (
                ExtraField::PaymentReference,
                FieldSource::Field("_transaction_id".into()),
            ),
            (
                ExtraField::SerialNumber,
                FieldSource::Field("serial".into()),
            ),
            (
                ExtraField::IntrastatTransactionA,
                FieldSource::Value("1".into()),
            ),
        ]);
        let mut order = domestic_order();
        order
            .custom_fields
            .insert("_transaction_id".into(), "tr_8KQ2".into());
        order.lines[0]
            .custom_fields
            .insert("serial".into(), "SN-001".into());
        let extras = document_extras(&order, &settings, &mut Effects::default()).unwrap();
        assert_eq!(extras["payment_reference"], "tr_8KQ2");
        let first = line_extras(&order, &order.lines[0], &settings).unwrap();
        assert_eq!(first["serial_number"], "SN-001");
        assert_eq!(first["intrastat_transaction_a"], "1");
        let second = line_extras(&order, &order.lines[1], &settings).unwrap();
        assert!(!second.contains_key("serial_number"));
        let shipping = line_extras(&order, &order.lines[2], &settings).unwrap();
        assert!(shipping.is_empty(), "only product lines carry line fields");
    }

    #[test]
    fn values_the_target_would_refuse_are_named() {
        let settings = with_fields(&[
            (ExtraField::PeriodFrom, FieldSource::Field("from".into())),
            (
                ExtraField::IntrastatCommodityCode,
                FieldSource::Field("hs".into()),
            ),
        ]);
        let mut order = domestic_order();
        order
            .custom_fields
            .insert("from".into(), "2026-13-01".into());
        let reason = line_extras(&order, &order.lines[0], &settings).unwrap_err();
        assert!(reason.contains("`period_from`") && reason.contains("YYYY-MM-DD"));
        order
            .custom_fields
            .insert("from".into(), "2026-12-01".into());
        order.custom_fields.insert("hs".into(), "6109 1000".into());
        let extras = line_extras(&order, &order.lines[0], &settings).unwrap();
        assert_eq!(extras["intrastat_commodity_code"], "61091000");
        assert_eq!(extras["period_from"], "2026-12-01");
    }
}
