//! Ledger accounts and VAT codes for each line of the document.

use ledgerlink_core::{Document, Line, LineKind, Money, PlanLine};

use crate::vat::{self, Treatment};
use crate::{BookingSettings, Decision};

pub fn plan_lines(
    document: &Document,
    settings: &BookingSettings,
) -> Result<Vec<PlanLine>, Decision> {
    let hold = |reason: String| Decision::Hold { reason };
    let mut planned = Vec::with_capacity(document.lines.len());
    for line in &document.lines {
        let treatment = vat::treatment(document, line, settings).map_err(hold)?;
        let vat_code = vat::vat_code(&treatment, settings).map_err(hold)?;
        let account = account_for(line.kind, &treatment, settings).map_err(hold)?;
        let discount = line.subtotal - line.total;
        let discount_account = settings
            .accounts
            .discounts
            .as_ref()
            .filter(|_| line.kind == LineKind::Product && !discount.is_zero());
        let plan_line =
            |account: &str, description: String, amount: Money, vat_amount: Money| PlanLine {
                account: account.to_string(),
                description,
                amount: amount.round_cents(),
                vat_code: vat_code.clone(),
                vat_amount: vat_amount.round_cents(),
                vat_treatment: treatment.key(),
            };
        match discount_account {
            // The bookkeeper wants discounts visible: book the list price on revenue and the
            // discount (with its share of VAT) on the discount account.
            Some(discount_account) => {
                planned.push(plan_line(
                    &account,
                    describe(line),
                    line.subtotal,
                    line.subtotal_tax,
                ));
                planned.push(plan_line(
                    discount_account,
                    format!("Discount on {}", line.description),
                    line.total - line.subtotal,
                    line.tax - line.subtotal_tax,
                ));
            }
            None => planned.push(plan_line(&account, describe(line), line.total, line.tax)),
        }
    }
    // A zero line changes nothing in the books and some ledgers refuse it.
    planned.retain(|l| !(l.amount.is_zero() && l.vat_amount.is_zero()));
    if planned.is_empty() {
        return Err(Decision::Hold {
            reason: format!(
                "Document {} has no lines with an amount, so there is nothing to book.",
                document.number
            ),
        });
    }
    Ok(planned)
}

fn describe(line: &Line) -> String {
    if line.kind == LineKind::Product && line.quantity != rust_decimal::Decimal::ONE {
        format!("{} x {}", line.quantity.normalize(), line.description)
    } else {
        line.description.clone()
    }
}

fn account_for(
    kind: LineKind,
    treatment: &Treatment,
    settings: &BookingSettings,
) -> Result<String, String> {
    let accounts = &settings.accounts;
    let account = match kind {
        LineKind::Shipping => Some(&accounts.shipping),
        LineKind::Fee => Some(&accounts.fees),
        LineKind::Discount => accounts.discounts.as_ref(),
        LineKind::Product => None,
    };
    account
        .or_else(|| accounts.revenue.get(treatment.kind()))
        .or_else(|| accounts.revenue.get("default"))
        .cloned()
        .ok_or_else(|| {
            format!(
                "No revenue account is set for `{}` sales. Add `{} = \"<account code>\"` (or `default`) under [booking.accounts.revenue], then retry.",
                treatment.kind(),
                treatment.kind()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use rust_decimal::Decimal;

    #[test]
    fn lines_go_to_their_accounts() {
        let lines = plan_lines(&domestic_order(), &settings()).unwrap();
        let accounts: Vec<&str> = lines.iter().map(|l| l.account.as_str()).collect();
        assert_eq!(accounts, ["8000", "8000", "8050"]);
        assert_eq!(lines[1].vat_code, "2");
    }

    #[test]
    fn coupon_discount_gets_its_own_line() {
        let mut settings = settings();
        settings.accounts.discounts = Some("8060".into());
        let mut order = domestic_order();
        order.lines[0].subtotal = Money::new(Decimal::new(2500, 2));
        order.lines[0].subtotal_tax = Money::new(Decimal::new(525, 2));
        let lines = plan_lines(&order, &settings).unwrap();
        let discount = lines.iter().find(|l| l.account == "8060").unwrap();
        assert_eq!(discount.amount, Money::new(Decimal::new(-500, 2)));
        assert_eq!(discount.vat_amount, Money::new(Decimal::new(-105, 2)));
        settings.accounts.discounts = None;
        let lines = plan_lines(&order, &settings).unwrap();
        assert!(lines.iter().all(|l| l.account != "8060"));
        assert_eq!(lines[0].amount, Money::new(Decimal::new(2000, 2)));
    }

    #[test]
    fn missing_revenue_account_holds_with_instructions() {
        let mut settings = settings();
        settings.accounts.revenue.clear();
        let Err(Decision::Hold { reason }) = plan_lines(&domestic_order(), &settings) else {
            panic!()
        };
        assert!(reason.contains("[booking.accounts.revenue]"));
    }
}
