//! Amounts reconcile: the planned lines add up to the source total to the cent, or a rounding
//! difference within the tolerance is booked on the rounding account, or the document is held.
//!
//! VAT is reconciled first: when the VAT of the lines (each rounded on its own) differs from
//! the VAT the document states, the difference belongs to the VAT, not to the rounding
//! account, and is put on the line with the most VAT.

use ledgerlink_core::{Document, Money, PlanLine};

use crate::vat::vat_code_for_no_vat;
use crate::{BookingSettings, Decision};

pub fn reconcile(
    document: &Document,
    mut lines: Vec<PlanLine>,
    settings: &BookingSettings,
) -> Result<Vec<PlanLine>, Decision> {
    let planned_vat: Money = lines.iter().map(|l| l.vat_amount).sum();
    let mut vat_difference = document.total_tax - planned_vat;
    if !vat_difference.is_zero() && vat_difference.abs() <= settings.rounding_tolerance {
        let largest = lines
            .iter_mut()
            .filter(|l| !l.vat_amount.is_zero())
            .max_by_key(|l| l.vat_amount.abs());
        match largest {
            Some(line) => line.vat_amount += vat_difference,
            None => vat_difference = Money::ZERO,
        }
    } else {
        vat_difference = Money::ZERO;
    }
    let planned: Money = lines.iter().map(|l| l.amount + l.vat_amount).sum();
    let difference = document.total - planned;
    if difference.is_zero() {
        return Ok(lines);
    }
    // The tolerance covers everything rounded away, VAT and net together.
    if difference.abs() + vat_difference.abs() > settings.rounding_tolerance {
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
        vat_amount: Money::ZERO,
        vat_treatment: "none".into(),
        extra: Default::default(),
    });
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::Effects;
    use crate::fixtures::*;

    fn plan_lines(document: &Document, settings: &BookingSettings) -> Vec<PlanLine> {
        let destination = crate::vat::destination_vat(document, settings, None);
        crate::ledger_map::plan_lines(document, settings, &destination, &mut Effects::default())
            .unwrap()
    }
    use rust_decimal::Decimal;

    fn cents(c: i64) -> Money {
        Money::new(Decimal::new(c, 2))
    }

    #[test]
    fn a_cent_of_vat_rounded_on_the_total_goes_to_the_vat() {
        let mut order = domestic_order();
        order.total_tax += cents(1);
        order.total += cents(1);
        let lines = reconcile(&order, plan_lines(&order, &settings()), &settings()).unwrap();
        assert_eq!(lines.len(), 3, "no rounding line");
        assert_eq!(
            lines[0].vat_amount,
            cents(421),
            "on the line with the most VAT"
        );
        let vat: Money = lines.iter().map(|l| l.vat_amount).sum();
        assert_eq!(vat, order.total_tax);
    }

    #[test]
    fn a_net_difference_goes_to_the_rounding_account() {
        let mut order = domestic_order();
        order.total += cents(2);
        let lines = reconcile(&order, plan_lines(&order, &settings()), &settings()).unwrap();
        let rounding = lines.last().unwrap();
        assert_eq!(
            (rounding.account.as_str(), rounding.amount),
            ("8990", cents(2))
        );
    }
}
