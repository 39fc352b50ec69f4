//! Payment terms and payment registration by payment method: a due date (and the target's
//! payment condition), or the payment registered at once for methods paid at checkout.

use chrono::{Days, NaiveDate};
use ledgerlink_core::{Document, PlanPayment};

use crate::effects::Effects;
use crate::BookingSettings;

/// Terms counted from `entry_date`, the booking's date.
pub fn plan_payment(
    document: &Document,
    entry_date: NaiveDate,
    settings: &BookingSettings,
    effects: &mut Effects,
) -> Option<PlanPayment> {
    let Some(terms) = &settings.payment_terms else {
        effects.off("payment_terms");
        return None;
    };
    let method = document.payment_method.as_ref().map(|m| m.code.as_str());
    let (term, source) = match method.and_then(|m| terms.by_method.get(m).map(|t| (m, t))) {
        Some((method, term)) => (term, format!("payment method `{method}`")),
        None => (&terms.default, "the default terms".to_string()),
    };
    let due_date = term
        .due_days
        .and_then(|days| entry_date.checked_add_days(Days::new(days.into())));
    let payment = PlanPayment {
        condition: term.condition.clone(),
        due_date,
        paid: term.paid,
    };
    let mut described = Vec::new();
    if payment.paid {
        described.push("payment registered at once".to_string());
    }
    if let Some(due) = payment.due_date {
        described.push(format!("due {due}"));
    }
    if let Some(condition) = &payment.condition {
        described.push(format!("payment condition {condition}"));
    }
    if described.is_empty() {
        described.push("the target's own terms".into());
    }
    effects.note(
        "payment_terms",
        format!("{} (by {source})", described.join(", ")),
    );
    Some(payment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::settings::{PaymentTerm, PaymentTerms};
    use ledgerlink_core::document::PaymentMethod;

    #[test]
    fn terms_follow_the_payment_method() {
        let settings = BookingSettings {
            payment_terms: Some(PaymentTerms {
                default: PaymentTerm {
                    due_days: Some(14),
                    condition: Some("14".into()),
                    paid: false,
                },
                by_method: [(
                    "ideal".to_string(),
                    PaymentTerm {
                        paid: true,
                        condition: Some("00".into()),
                        due_days: None,
                    },
                )]
                .into(),
            }),
            ..settings()
        };
        let mut order = domestic_order();
        let invoice = plan_payment(&order, order.date, &settings, &mut Effects::default()).unwrap();
        assert_eq!(invoice.due_date, order.date.checked_add_days(Days::new(14)));
        assert!(!invoice.paid);
        order.payment_method = Some(PaymentMethod {
            code: "ideal".into(),
            title: "iDEAL".into(),
        });
        let paid = plan_payment(&order, order.date, &settings, &mut Effects::default()).unwrap();
        assert!(paid.paid);
        assert_eq!(
            (paid.condition.as_deref(), paid.due_date),
            (Some("00"), None)
        );
        assert_eq!(
            plan_payment(
                &order,
                order.date,
                &self::settings(),
                &mut Effects::default()
            ),
            None
        );
    }
}
