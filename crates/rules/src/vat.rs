//! VAT treatment of each line, decided from the destination, the customer's VAT number and
//! the merchant's OSS registration — and mapped to the target's VAT code by the merchant's
//! table. The amounts charged are never changed: a charged rate that cannot be right for the
//! treatment holds the document with a reason.

use ledgerlink_core::{Country, CustomerKind, Document, Line};
use rust_decimal::Decimal;

use crate::{vat_rates, BookingSettings};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Treatment {
    /// Sold within the home country at this rate.
    Domestic { rate: Decimal },
    /// Intra-EU B2B to a customer with a VAT number: 0%, VAT reverse-charged (ICP).
    ReverseCharge,
    /// Intra-EU B2C under the One-Stop Shop: the destination country's rate.
    Oss { country: Country, rate: Decimal },
    /// Outside the EU VAT area: 0%.
    Export,
}

impl Treatment {
    /// The key of the merchant's VAT-code table.
    pub fn key(&self) -> String {
        match self {
            Treatment::Domestic { rate } => format!("domestic/{}", rate.normalize()),
            Treatment::ReverseCharge => "reverse_charge".into(),
            Treatment::Oss { country, rate } => format!("oss/{country}/{}", rate.normalize()),
            Treatment::Export => "export".into(),
        }
    }

    /// The kind, which selects the revenue account.
    pub fn kind(&self) -> &'static str {
        match self {
            Treatment::Domestic { .. } => "domestic",
            Treatment::ReverseCharge => "reverse_charge",
            Treatment::Oss { .. } => "oss",
            Treatment::Export => "export",
        }
    }
}

/// The treatment of one line; `Err` is the reason to hold the document.
pub fn treatment(
    document: &Document,
    line: &Line,
    settings: &BookingSettings,
) -> Result<Treatment, String> {
    let rate = line.effective_rate().unwrap_or(Decimal::ZERO).normalize();
    let destination = document.destination().country;
    let applies_in = |country: Country| match vat_rates::rates_on(country, document.date) {
        Some(rates) if !rate.is_zero() => rates.contains(&rate),
        // A 0% line, or a country outside the table (a non-EU home): nothing to check.
        _ => true,
    };
    let wrong_rate = |country: Country| {
        format!(
            "{rate}% VAT was charged on `{}`, but {rate}% is not a VAT rate of {country} on {} (its rates: {}). Correct the tax rate in the shop, then retry.",
            line.description,
            document.date,
            vat_rates::rates_on(country, document.date).map(vat_rates::describe).unwrap_or_default()
        )
    };
    if destination == settings.home_country {
        return if applies_in(destination) {
            Ok(Treatment::Domestic { rate })
        } else {
            Err(wrong_rate(destination))
        };
    }
    if !destination.in_eu_vat_area_for_goods() {
        return if rate.is_zero() {
            Ok(Treatment::Export)
        } else {
            Err(format!(
                "{rate}% VAT was charged on `{}` although the goods go to {destination}, outside the EU, where the sale is zero-rated. Refund the VAT to the customer in the shop, then retry.",
                line.description
            ))
        };
    }
    let customer = &document.customer;
    if rate.is_zero() {
        return match (&customer.vat_number, customer.kind) {
            (Some(number), CustomerKind::Business) => match crate::vat_number::check(number) {
                Ok(()) => Ok(Treatment::ReverseCharge),
                Err(error) => Err(format!(
                    "No VAT was charged on `{}` for a sale to {destination} as reverse charge, but the customer's VAT number fails the check: {error}. Correct the VAT number in the shop or charge VAT, then retry.",
                    line.description
                )),
            },
            _ => Err(format!(
                "No VAT was charged on `{}` for a sale to {destination}, but the customer has no valid VAT number{}, so reverse charge does not apply. Add the customer's VAT number in the shop or charge VAT, then retry.",
                line.description,
                customer
                    .invalid_vat_number
                    .as_ref()
                    .map(|v| format!(" (`{v}` is not one)"))
                    .unwrap_or_default()
            )),
        };
    }
    let home = settings.home_country;
    if settings.oss_registered {
        return if applies_in(destination) {
            Ok(Treatment::Oss {
                country: destination,
                rate,
            })
        } else {
            Err(wrong_rate(destination))
        };
    }
    if applies_in(home) {
        return Ok(Treatment::Domestic { rate });
    }
    if applies_in(destination) {
        return Err(format!(
            "{rate}% VAT ({destination}'s rate) was charged on `{}`, but the merchant is not registered for the One-Stop Shop (`oss_registered = false`), so {home} VAT applies to this sale to a consumer in {destination}. Charge {home} VAT in the shop, or register for OSS and set `oss_registered = true`, then retry.",
            line.description
        ));
    }
    Err(wrong_rate(home))
}

/// The target's VAT code for a treatment; `Err` is the reason to hold.
pub fn vat_code(treatment: &Treatment, settings: &BookingSettings) -> Result<String, String> {
    let key = treatment.key();
    settings.vat_codes.get(&key).cloned().ok_or_else(|| {
        format!("No VAT code is mapped for `{key}`. Add `\"{key}\" = \"<code>\"` under [booking.vat_codes] in the settings, then retry.")
    })
}

/// The code for a line that carries no VAT at all (rounding differences).
pub fn vat_code_for_no_vat(settings: &BookingSettings) -> Result<String, String> {
    settings.vat_codes.get("none").cloned().ok_or_else(|| {
        "No VAT code is mapped for lines without VAT. Add `\"none\" = \"<code>\"` under [booking.vat_codes], then retry.".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use rust_decimal_macros::dec;

    fn first_line_treatment(
        document: &Document,
        settings: &BookingSettings,
    ) -> Result<Treatment, String> {
        treatment(document, &document.lines[0], settings)
    }

    #[test]
    fn a_rate_the_country_does_not_have_is_held() {
        let mut order = domestic_order();
        order.lines[0].tax_rate = Some(dec!(19));
        let reason = first_line_treatment(&order, &settings()).unwrap_err();
        assert!(
            reason.contains("19% is not a VAT rate of NL") && reason.contains("21%, 9%"),
            "{reason}"
        );
        order.billing.country = "DE".parse().unwrap();
        order.lines[0].tax_rate = Some(dec!(16));
        let oss = BookingSettings {
            oss_registered: true,
            ..settings()
        };
        let reason = first_line_treatment(&order, &oss).unwrap_err();
        assert!(reason.contains("16% is not a VAT rate of DE"), "{reason}");
    }

    #[test]
    fn domestic_by_rate() {
        let t = first_line_treatment(&domestic_order(), &settings()).unwrap();
        assert_eq!(t, Treatment::Domestic { rate: dec!(21) });
        assert_eq!(t.key(), "domestic/21");
    }

    #[test]
    fn intra_eu_b2b_with_vat_number_is_reverse_charge() {
        let t = first_line_treatment(&eu_b2b_order(), &settings()).unwrap();
        assert_eq!(t, Treatment::ReverseCharge);
    }

    #[test]
    fn reverse_charge_needs_a_vat_number_that_passes_its_checksum() {
        let mut order = eu_b2b_order();
        order.customer.vat_number = Some("BE0477472702".parse().unwrap());
        let reason = first_line_treatment(&order, &settings()).unwrap_err();
        assert!(
            reason.contains("fails the check") && reason.contains("BE0477472702"),
            "{reason}"
        );
    }

    #[test]
    fn zero_rate_without_vat_number_is_held() {
        let mut order = eu_b2b_order();
        order.customer.vat_number = None;
        order.customer.invalid_vat_number = Some("BE12".into());
        let reason = first_line_treatment(&order, &settings()).unwrap_err();
        assert!(
            reason.contains("no valid VAT number (`BE12` is not one)"),
            "{reason}"
        );
    }

    #[test]
    fn export_with_vat_is_held_and_without_is_export() {
        let mut order = domestic_order();
        order.billing.country = "NO".parse().unwrap();
        let reason = first_line_treatment(&order, &settings()).unwrap_err();
        assert!(reason.contains("outside the EU"));
        for line in &mut order.lines {
            line.tax = ledgerlink_core::Money::ZERO;
            line.tax_rate = Some(Decimal::ZERO);
        }
        assert_eq!(
            first_line_treatment(&order, &settings()).unwrap(),
            Treatment::Export
        );
    }

    #[test]
    fn intra_eu_b2c_uses_oss_when_registered() {
        let mut order = domestic_order();
        order.billing.country = "DE".parse().unwrap();
        order.lines[0].tax_rate = Some(dec!(19));
        let mut settings = settings();
        // Not registered for OSS: German VAT on a sale to a German consumer is the wrong VAT.
        let reason = first_line_treatment(&order, &settings).unwrap_err();
        assert!(
            reason.contains("not registered for the One-Stop Shop")
                && reason.contains("NL VAT applies"),
            "{reason}"
        );
        settings.oss_registered = true;
        let t = first_line_treatment(&order, &settings).unwrap();
        assert_eq!(t.key(), "oss/DE/19");
        let reason = vat_code(&t, &settings).unwrap_err();
        assert!(reason.contains("[booking.vat_codes]"));
    }
}
