//! VIES: a VAT number that passes its checksum may still not be registered for intra-EU
//! trade. When the merchant has VIES checks on, the engine consults VIES before the rules run
//! and passes its verdict in; a number VIES calls invalid gets no reverse charge.

use ledgerlink_core::{CustomerKind, Document};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{BookingSettings, Decision};

/// What VIES said about the customer's VAT number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum ViesVerdict {
    Valid { consultation: Option<String> },
    Invalid { consultation: Option<String> },
}

/// What the engine looked up for a document before the rules ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checks {
    pub vies: Option<ViesVerdict>,
    /// Distance sales booked so far this calendar year, for the OSS threshold.
    pub distance_sales_this_year: Option<ledgerlink_core::Money>,
    /// For a refund: whether the sale it corrects was booked with the destination's VAT
    /// (OSS), so that the credit note follows the sale whatever the threshold says today;
    /// `None` when that sale's plan is not in the ledger.
    pub sale_had_destination_vat: Option<bool>,
}

/// Whether the document would be booked with reverse charge if its VAT number holds: a
/// business customer with a VAT number, goods to another EU country, lines without VAT.
pub fn needs_vies(document: &Document, settings: &BookingSettings) -> bool {
    let destination = document.destination().country;
    // A credit note follows its sale, which was checked when it was booked.
    document.source_ref.kind != ledgerlink_core::DocumentKind::Refund
        && settings.vies_check
        && document.customer.kind == CustomerKind::Business
        // A number that fails its own checksum is held by the offline check, with a clearer
        // reason than VIES's and without spending a call.
        && document
            .customer
            .vat_number
            .as_ref()
            .is_some_and(|number| crate::vat_number::check(number).is_ok())
        && destination != settings.home_country
        && destination.in_eu_vat_area_for_goods()
        && document
            .lines
            .iter()
            .any(|l| l.effective_rate().unwrap_or(Decimal::ZERO).is_zero())
}

pub fn check(
    document: &Document,
    settings: &BookingSettings,
    checks: &Checks,
) -> Result<(), Decision> {
    if !needs_vies(document, settings) {
        return Ok(());
    }
    match &checks.vies {
        Some(ViesVerdict::Invalid { consultation }) => Err(Decision::Hold {
            reason: format!(
                "VIES says the VAT number {} is not valid for intra-EU trade{}, so no VAT may be left off. Ask the customer for their VAT number, or charge VAT, then retry.",
                document.customer.vat_number.as_ref().map(ToString::to_string).unwrap_or_default(),
                consultation.as_ref().map(|c| format!(" (consultation {c})")).unwrap_or_default()
            ),
        }),
        Some(ViesVerdict::Valid { .. }) => Ok(()),
        // Not looked up (a dry run has no network): the checksum alone must not leave VAT off.
        None => Err(Decision::NotYet {
            reason: format!(
                "Reverse charge for the VAT number {} waits for VIES to confirm it (`vies_check = true`).",
                document.customer.vat_number.as_ref().map(ToString::to_string).unwrap_or_default()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::{decide_checked, Decision};

    fn with_vies() -> BookingSettings {
        BookingSettings {
            vies_check: true,
            ..settings()
        }
    }

    #[test]
    fn an_invalid_verdict_holds_reverse_charge_with_the_consultation() {
        let checks = Checks {
            vies: Some(ViesVerdict::Invalid {
                consultation: Some("WAPI123".into()),
            }),
            ..Checks::default()
        };
        let Decision::Hold { reason } = decide_checked(&eu_b2b_order(), &with_vies(), &checks)
        else {
            panic!()
        };
        assert!(
            reason.contains("not valid") && reason.contains("WAPI123"),
            "{reason}"
        );
    }

    #[test]
    fn a_valid_verdict_books_with_reverse_charge_and_keeps_the_consultation() {
        let checks = Checks {
            vies: Some(ViesVerdict::Valid {
                consultation: Some("WAPI456".into()),
            }),
            ..Checks::default()
        };
        let Decision::Book { plan } = decide_checked(&eu_b2b_order(), &with_vies(), &checks) else {
            panic!()
        };
        assert_eq!(plan.lines[0].vat_treatment, "reverse_charge");
        assert_eq!(plan.customer.vies_consultation.as_deref(), Some("WAPI456"));
    }

    #[test]
    fn only_reverse_charge_candidates_need_vies() {
        assert!(needs_vies(&eu_b2b_order(), &with_vies()));
        assert!(
            !needs_vies(&eu_b2b_order(), &settings()),
            "off unless the merchant turns it on"
        );
        assert!(!needs_vies(&domestic_order(), &with_vies()));
    }
}
