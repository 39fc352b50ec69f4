//! VAT treatment of each line, decided from the destination, the customer's VAT number and
//! the merchant's OSS registration — and mapped to the target's VAT code by the merchant's
//! table. The amounts charged are never changed: a charged rate that cannot be right for the
//! treatment holds the document with a reason.

use ledgerlink_core::{Country, CustomerKind, Document, DocumentKind, Line, Money};
use rust_decimal::Decimal;

use crate::{territory, vat_rates, BookingSettings};

/// Whether intra-EU consumer sales carry the destination's VAT, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationVat {
    pub applies: bool,
    pub why: String,
}

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

/// The net amount of the document's goods and services that count as distance sales:
/// charged with VAT, sent to a consumer in another EU country.
pub fn distance_sales(document: &Document, settings: &BookingSettings) -> Money {
    let address = document.destination();
    let country = address.country;
    let intra_eu = country != settings.home_country
        && country.in_eu_vat_area_for_goods()
        && territory::special_territory(country, &address.postcode).is_none();
    if !intra_eu {
        return Money::ZERO;
    }
    document
        .lines
        .iter()
        .filter(|l| !l.effective_rate().unwrap_or(Decimal::ZERO).is_zero())
        .map(|l| l.total)
        .sum()
}

/// Destination VAT applies to intra-EU consumer sales once the merchant is registered for
/// OSS, passed the threshold last year, or passes it with this document (the sale that
/// crosses it is the first at destination VAT). `before` is this calendar year's distance
/// sales booked so far; `None` when unknown (a dry run).
pub fn destination_vat(
    document: &Document,
    settings: &BookingSettings,
    before: Option<Money>,
) -> DestinationVat {
    let threshold = settings.oss_threshold;
    let (applies, why) = if settings.oss_registered {
        (
            true,
            "the merchant is registered for the One-Stop Shop".to_string(),
        )
    } else if settings.oss_threshold_passed_last_year {
        (
            true,
            format!("the merchant's distance sales passed {threshold} last year (`oss_threshold_passed_last_year`)"),
        )
    } else {
        // A refund counts for nothing here: a threshold once passed stays passed.
        let this = if document.source_ref.kind == DocumentKind::Refund {
            Money::ZERO
        } else {
            distance_sales(document, settings)
        };
        match before {
            Some(before) if before + this > threshold => (
                true,
                format!(
                    "the year's distance sales to EU consumers pass the threshold of {threshold} with this document ({before} before it, {this} in it)"
                ),
            ),
            Some(before) => (
                false,
                format!("the year's distance sales to EU consumers stay below the threshold of {threshold} ({} with this document)", before + this),
            ),
            None => (
                false,
                format!("the year's distance sales are not known in a dry run; below the threshold of {threshold} home VAT applies"),
            ),
        }
    };
    DestinationVat { applies, why }
}

/// The treatment of one line; `Err` is the reason to hold the document.
pub fn treatment(
    document: &Document,
    line: &Line,
    settings: &BookingSettings,
    destination_vat: &DestinationVat,
) -> Result<Treatment, String> {
    let rate = line.effective_rate().unwrap_or(Decimal::ZERO).normalize();
    let address = document.destination();
    let destination = address.country;
    let special = territory::special_territory(destination, &address.postcode);
    // A credit note carries the VAT of the sale it corrects, at that sale's rates.
    let rate_date = document
        .refund_of
        .as_ref()
        .and_then(|original| original.date)
        .unwrap_or(document.date);
    let applies_in = |country: Country| match vat_rates::rates_on(country, rate_date) {
        Some(rates) if !rate.is_zero() => rates.contains(&rate),
        // A 0% line, or a country outside the table (a non-EU home): nothing to check.
        _ => true,
    };
    let wrong_rate = |country: Country| {
        format!(
            "{rate}% VAT was charged on `{}`, but {rate}% is not a VAT rate of {country} on {} (its rates: {}). Correct the tax rate in the shop, then retry.",
            line.description,
            rate_date,
            vat_rates::rates_on(country, rate_date).map(vat_rates::describe).unwrap_or_default()
        )
    };
    if let Some(place) = special {
        return if rate.is_zero() {
            Ok(Treatment::Export)
        } else {
            Err(format!(
                "{rate}% VAT was charged on `{}` although the goods go to {} (postcode {}), which is outside the EU VAT area, so the sale is zero-rated as an export. Refund the VAT to the customer in the shop, then retry.",
                line.description, place.name, address.postcode
            ))
        };
    }
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
            (Some(number), CustomerKind::Business) if number.country() == settings.home_country => Err(format!(
                "No VAT was charged on `{}` for a sale to {destination} as reverse charge, but the customer's VAT number {number} is of {}, the country the goods leave from; reverse charge needs a VAT number of another member state. Ask the customer for their {destination} VAT number or charge VAT, then retry.",
                line.description, settings.home_country
            )),
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
    if let Some(number) = customer
        .vat_number
        .as_ref()
        .filter(|n| customer.kind == CustomerKind::Business && n.country() != settings.home_country)
        .filter(|n| crate::vat_number::check(n).is_ok())
    {
        return Err(format!(
            "{rate}% VAT was charged on `{}` to a business in {destination} with the VAT number {number}: a sale to a business in another member state is reverse-charged at 0% (the One-Stop Shop is for consumers only). Correct the order in the shop (no VAT), or remove the VAT number if the customer buys as a consumer, then retry.",
            line.description
        ));
    }
    let home = settings.home_country;
    if destination_vat.applies {
        if applies_in(home) && !applies_in(destination) {
            // A refund of a sale made before the threshold was passed keeps its home VAT.
            if document.source_ref.kind == DocumentKind::Refund && !settings.oss_registered {
                return Ok(Treatment::Domestic { rate });
            }
            return Err(format!(
                "{home} VAT ({rate}%) was charged on `{}`, but {}, so {destination}'s VAT applies to this sale to a consumer in {destination}. Charge {destination} VAT in the shop, then retry.",
                line.description, destination_vat.why
            ));
        }
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
            "{rate}% VAT ({destination}'s rate) was charged on `{}`, but the merchant is not registered for the One-Stop Shop (`oss_registered = false`) and {}, so {home} VAT applies to this sale to a consumer in {destination}. Charge {home} VAT in the shop, or register for OSS and set `oss_registered = true`, then retry.",
            line.description, destination_vat.why
        ));
    }
    Err(wrong_rate(home))
}

/// The target's VAT code for a treatment; `Err` is the reason to hold.
pub fn vat_code(treatment: &Treatment, settings: &BookingSettings) -> Result<String, String> {
    let key = treatment.key();
    settings.vat_codes.get(&key).cloned().ok_or_else(|| {
        format!("No VAT code is mapped for `{key}`. Add `\"{key}\" = \"<code>\"` under [connections.booking.vat_codes] in the settings, then retry.")
    })
}

/// The code for a line that carries no VAT at all (rounding differences).
pub fn vat_code_for_no_vat(settings: &BookingSettings) -> Result<String, String> {
    settings.vat_codes.get("none").cloned().ok_or_else(|| {
        "No VAT code is mapped for lines without VAT. Add `\"none\" = \"<code>\"` under [connections.booking.vat_codes], then retry.".to_string()
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
        let destination = destination_vat(document, settings, Some(Money::ZERO));
        treatment(document, &document.lines[0], settings, &destination)
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
    fn special_territories_are_export() {
        let mut order = domestic_order();
        order.billing.country = "ES".parse().unwrap();
        order.billing.postcode = "35001".into();
        let reason = first_line_treatment(&order, &settings()).unwrap_err();
        assert!(
            reason.contains("Canary Islands") && reason.contains("35001"),
            "{reason}"
        );
        for line in &mut order.lines {
            line.tax = Money::ZERO;
            line.tax_rate = Some(Decimal::ZERO);
        }
        assert_eq!(
            first_line_treatment(&order, &settings()).unwrap(),
            Treatment::Export
        );
        assert!(distance_sales(&order, &settings()).is_zero());
    }

    #[test]
    fn the_oss_threshold_is_crossed_by_the_sale_that_passes_it() {
        let mut order = domestic_order();
        order.billing.country = "DE".parse().unwrap();
        order.lines[0].tax_rate = Some(dec!(19));
        let settings = settings();
        let line = order.lines[0].clone();
        let below = destination_vat(&order, &settings, Some(Money::new(dec!(9900))));
        assert!(!below.applies, "{}", below.why);
        // 9,990 before and this order's 35.00 of distance sales: past 10,000.
        let above = destination_vat(&order, &settings, Some(Money::new(dec!(9990))));
        assert!(
            above.applies && above.why.contains("pass the threshold"),
            "{}",
            above.why
        );
        let t = treatment(&order, &line, &settings, &above).unwrap();
        assert_eq!(t.key(), "oss/DE/19");
        // Above the threshold, the home rate is the wrong VAT.
        let nl = treatment(&order, &order.lines[2], &settings, &above).unwrap_err();
        assert!(
            nl.contains("DE's VAT applies") || nl.contains("DE VAT"),
            "{nl}"
        );
        let last_year = BookingSettings {
            oss_threshold_passed_last_year: true,
            ..settings.clone()
        };
        assert!(destination_vat(&order, &last_year, Some(Money::ZERO)).applies);
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
        assert!(reason.contains("[connections.booking.vat_codes]"));
    }
}
