//! Amounts reconcile: the planned lines add up to the source total to the cent, or a rounding
//! difference within the tolerance is booked on the rounding account, or the document is held.

use ledgerlink_core::{Document, PlanLine};

use crate::vat::vat_code_for_no_vat;
use crate::{BookingSettings, Decision};

pub fn reconcile(
    document: &Document,
    mut lines: Vec<PlanLine>,
    settings: &BookingSettings,
) -> Result<Vec<PlanLine>, Decision> {
    let planned: ledgerlink_core::Money = lines.iter().map(|l| l.amount + l.vat_amount).sum();
    let difference = document.total - planned;
    if difference.is_zero() {
        return Ok(lines);
    }
    if difference.abs() > settings.rounding_tolerance {
        return Err(Decision::Hold {
            reason: format!(
                "Document {} does not add up: its total is {} {} but its lines come to {} {} (a difference of {}, more than the rounding tolerance of {}). Check the order's amounts in the shop, then retry.",
                document.number, document.currency, document.total, document.currency, planned, difference, settings.rounding_tolerance
            ),
        });
    }
    let vat_code = vat_code_for_no_vat(settings).map_err(|reason| Decision::Hold { reason })?;
    lines.push(PlanLine {
        account: settings.accounts.rounding.clone(),
        description: "Rounding difference".into(),
        amount: difference,
        vat_code,
        vat_amount: ledgerlink_core::Money::ZERO,
        vat_treatment: "none".into(),
    });
    Ok(lines)
}
