//! Payment terms and payment registration by payment method: a due date (and the target's
//! payment condition), or the payment registered at once for methods paid at checkout.

use chrono::{Days, NaiveDate};
use ledgerlink_core::{Document, PlanPayment};

use crate::effects::Effects;
use crate::BookingSettings;

/// Terms counted from `entry_date`, the booking's date. The invoice e-mail is for sales;
/// a credit note is booked without one.
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
    let is_sale = document.source_ref.kind != ledgerlink_core::DocumentKind::Refund;
    let payment = PlanPayment {
        condition: term.condition.clone(),
        due_date,
        paid: term.paid,
        email_invoice_item: terms
            .invoice_item
            .clone()
            .filter(|_| term.send_invoice_email && is_sale),
    };
    let mut described = Vec::new();
    if let Some(item) = &payment.email_invoice_item {
        described.push(format!(
            "invoice e-mailed to the customer by the target (item {item})"
        ));
    }
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
    use ledgerlink_core::DocumentKind;

    #[test]
    fn the_invoice_email_is_asked_for_sales_of_that_method_only() {
        let settings = BookingSettings {
            payment_terms: Some(PaymentTerms {
                by_method: [(
                    "bacs".to_string(),
                    PaymentTerm {
                        due_days: Some(14),
                        send_invoice_email: true,
                        ..PaymentTerm::default()
                    },
                )]
                .into(),
                invoice_item: Some("WEBSHOP".into()),
                ..PaymentTerms::default()
            }),
            ..settings()
        };
        let mut order = domestic_order();
        let untouched = plan_payment(&order, order.date, &settings, &mut Effects::default());
        assert_eq!(untouched.unwrap().email_invoice_item, None);
        order.payment_method = Some(PaymentMethod {
            code: "bacs".into(),
            title: "Bank transfer".into(),
        });
        let mut effects = Effects::default();
        let emailed = plan_payment(&order, order.date, &settings, &mut effects).unwrap();
        assert_eq!(emailed.email_invoice_item.as_deref(), Some("WEBSHOP"));
        assert!(effects.into_vec()[0].effect.contains("invoice e-mailed"));
        order.source_ref.kind = DocumentKind::Refund;
        let refund = plan_payment(&order, order.date, &settings, &mut Effects::default());
        assert_eq!(
            refund.unwrap().email_invoice_item,
            None,
            "credit notes are not e-mailed"
        );

        let mut without_item = settings.clone();
        without_item.payment_terms.as_mut().unwrap().invoice_item = None;
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let problems = without_item.validate(today).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.setting == "payment_terms.invoice_item"),
            "{problems:?}"
        );
    }

    #[test]
    fn terms_follow_the_payment_method() {
        let settings = BookingSettings {
            payment_terms: Some(PaymentTerms {
                default: PaymentTerm {
                    due_days: Some(14),
                    condition: Some("14".into()),
                    ..PaymentTerm::default()
                },
                by_method: [(
                    "ideal".to_string(),
                    PaymentTerm {
                        paid: true,
                        condition: Some("00".into()),
                        ..PaymentTerm::default()
                    },
                )]
                .into(),
                ..PaymentTerms::default()
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
