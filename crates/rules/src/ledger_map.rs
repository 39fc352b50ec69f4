//! Ledger accounts and VAT codes for each line of the document: revenue by the merchant's
//! rules (category, country, treatment), shipping, discounts, gift cards and fees on their
//! own accounts, and the journal by payment method.

use std::collections::BTreeMap;

use ledgerlink_core::{Country, Document, Line, LineKind, Money, PlanLine};

use crate::effects::Effects;
use crate::settings::RevenueRule;
use crate::vat::{self, DestinationVat, Treatment};
use crate::{extra, BookingSettings, Decision};

pub fn plan_lines(
    document: &Document,
    settings: &BookingSettings,
    destination_vat: &DestinationVat,
    effects: &mut Effects,
) -> Result<Vec<PlanLine>, Decision> {
    let hold = |reason: String| Decision::Hold { reason };
    let mut planned = Vec::with_capacity(document.lines.len());
    let mut by_rule: BTreeMap<usize, usize> = BTreeMap::new();
    let mut treatments: BTreeMap<String, usize> = BTreeMap::new();
    let destination = document.destination().country;
    for line in &document.lines {
        // A gift card redeemed is payment with earlier money, not a supply: no VAT treatment.
        if line.kind == LineKind::GiftCard && line.tax.is_zero() {
            let accounts = &settings.accounts;
            let account = accounts
                .gift_cards
                .as_ref()
                .or(accounts.discounts.as_ref())
                .or(accounts.revenue.get("default"))
                .cloned()
                .ok_or_else(|| hold("No account is set for gift cards. Add `gift_cards = \"<account code>\"` under [connections.booking.accounts], then retry.".into()))?;
            planned.push(PlanLine {
                account,
                description: line.description.clone(),
                amount: line.total.round_cents(),
                vat_code: vat::vat_code_for_no_vat(settings).map_err(hold)?,
                vat_amount: Money::ZERO,
                vat_treatment: "none".into(),
                extra: BTreeMap::new(),
            });
            continue;
        }
        let treatment = vat::treatment(document, line, settings, destination_vat).map_err(hold)?;
        *treatments.entry(treatment.key()).or_default() += 1;
        let vat_code = vat::vat_code(&treatment, settings).map_err(hold)?;
        let (account, rule) = account_for(line, &treatment, destination, settings).map_err(hold)?;
        if let Some(rule) = rule {
            *by_rule.entry(rule).or_default() += 1;
        }
        let extras = extra::line_extras(document, line, settings).map_err(hold)?;
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
                extra: extras.clone(),
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
                // The line's extra fields (Intrastat values, serials) belong to the product.
                planned.push(PlanLine {
                    extra: BTreeMap::new(),
                    ..plan_line(
                        discount_account,
                        format!("Discount on {}", line.description),
                        line.total - line.subtotal,
                        line.tax - line.subtotal_tax,
                    )
                });
            }
            None => planned.push(plan_line(&account, describe(line), line.total, line.tax)),
        }
    }
    let summary: Vec<String> = treatments
        .iter()
        .map(|(key, n)| format!("{key} ({n} line{})", if *n == 1 { "" } else { "s" }))
        .collect();
    // Whether destination VAT applies only matters for sales to consumers elsewhere in the EU.
    let effect = if vat::distance_sales(document, settings).is_zero() {
        summary.join(", ")
    } else {
        format!("{}; {}", summary.join(", "), destination_vat.why)
    };
    effects.note("vat_treatment", effect);
    if settings.accounts.revenue_rules.is_empty() {
        effects.note(
            "ledger_mapping",
            "revenue by VAT treatment (no revenue rules)".into(),
        );
    }
    for (rule, count) in by_rule {
        effects.note(
            "ledger_mapping",
            format!(
                "revenue rule {} put {count} line{} on {}",
                rule + 1,
                if count == 1 { "" } else { "s" },
                settings.accounts.revenue_rules[rule].account
            ),
        );
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

/// The journal for the document: by its payment method when the merchant set one.
pub fn journal(document: &Document, settings: &BookingSettings, effects: &mut Effects) -> String {
    let by_method = document.payment_method.as_ref().and_then(|m| {
        settings
            .journals_by_payment_method
            .get(&m.code)
            .map(|j| (m, j))
    });
    match by_method {
        Some((method, journal)) => {
            effects.note(
                "ledger_mapping",
                format!("journal {journal} for payment method `{}`", method.code),
            );
            journal.clone()
        }
        None => settings.journal.clone(),
    }
}

fn rule_applies(
    rule: &RevenueRule,
    line: &Line,
    treatment: &Treatment,
    destination: Country,
) -> bool {
    rule.category.as_ref().is_none_or(|c| {
        line.category
            .as_ref()
            .is_some_and(|have| have.eq_ignore_ascii_case(c))
    }) && (rule.countries.is_empty() || rule.countries.contains(&destination))
        && rule
            .treatment
            .as_ref()
            .is_none_or(|t| t == treatment.kind())
}

/// The account of a line, and the index of the revenue rule that chose it.
fn account_for(
    line: &Line,
    treatment: &Treatment,
    destination: Country,
    settings: &BookingSettings,
) -> Result<(String, Option<usize>), String> {
    let accounts = &settings.accounts;
    if line.kind == LineKind::Product {
        if let Some((index, rule)) = accounts
            .revenue_rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule_applies(rule, line, treatment, destination))
        {
            return Ok((rule.account.clone(), Some(index)));
        }
    }
    let account = match line.kind {
        LineKind::Shipping => Some(&accounts.shipping),
        LineKind::Fee => Some(&accounts.fees),
        LineKind::Discount => accounts.discounts.as_ref(),
        // A gift card that carries VAT (a shop that taxes its cards) is booked like a discount.
        LineKind::GiftCard => accounts.gift_cards.as_ref().or(accounts.discounts.as_ref()),
        LineKind::Product => None,
    };
    account
        .or_else(|| accounts.revenue.get(treatment.kind()))
        .or_else(|| accounts.revenue.get("default"))
        .cloned()
        .ok_or_else(|| {
            format!(
                "No revenue account is set for `{}` sales. Add `{} = \"<account code>\"` (or `default`) under [connections.booking.accounts.revenue], then retry.",
                treatment.kind(),
                treatment.kind()
            )
        })
        .map(|account| (account, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use rust_decimal::Decimal;

    fn plan_lines(
        document: &Document,
        settings: &BookingSettings,
    ) -> Result<Vec<PlanLine>, Decision> {
        let destination = vat::destination_vat(document, settings, None);
        super::plan_lines(document, settings, &destination, &mut Effects::default())
    }

    #[test]
    fn revenue_rules_choose_by_category_country_and_treatment() {
        let mut settings = settings();
        settings.accounts.revenue_rules = vec![
            RevenueRule {
                category: Some("books".into()),
                account: "8100".into(),
                ..Default::default()
            },
            RevenueRule {
                countries: vec!["BE".parse().unwrap()],
                treatment: Some("reverse_charge".into()),
                account: "8120".into(),
                ..Default::default()
            },
        ];
        let mut order = domestic_order();
        order.lines[1].category = Some("Books".into());
        let accounts: Vec<String> = plan_lines(&order, &settings)
            .unwrap()
            .into_iter()
            .map(|l| l.account)
            .collect();
        assert_eq!(accounts, ["8000", "8100", "8050"]);
        let lines = plan_lines(&eu_b2b_order(), &settings).unwrap();
        assert_eq!(lines[0].account, "8120");
    }

    #[test]
    fn gift_cards_and_journals_by_payment_method() {
        let mut settings = settings();
        settings.accounts.gift_cards = Some("1610".into());
        settings.journals_by_payment_method = [("paypal".to_string(), "71".to_string())].into();
        let mut order = domestic_order();
        let mut card = line(LineKind::GiftCard, "Cadeaukaart", -1000, 0);
        card.tax_rate = Some(Decimal::ZERO);
        order.lines.push(card);
        order.total -= Money::new(Decimal::new(1000, 2));
        let lines = plan_lines(&order, &settings).unwrap();
        assert_eq!(lines.last().unwrap().account, "1610");
        assert_eq!(lines.last().unwrap().vat_treatment, "none");
        // Without its own account a gift card goes to the default revenue account, whatever
        // the sale's treatment.
        settings.accounts.gift_cards = None;
        let lines = plan_lines(&order, &settings).unwrap();
        assert_eq!(lines.last().unwrap().account, "8000");
        order.payment_method = Some(ledgerlink_core::document::PaymentMethod {
            code: "paypal".into(),
            title: "PayPal".into(),
        });
        let mut effects = Effects::default();
        assert_eq!(journal(&order, &settings, &mut effects), "71");
        order.payment_method = None;
        assert_eq!(journal(&order, &settings, &mut effects), "70");
    }

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
        assert!(reason.contains("[connections.booking.accounts.revenue]"));
    }
}
