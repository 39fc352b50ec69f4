//! The bookkeeping rules: pure functions from a source [`Document`] and the merchant's
//! [`BookingSettings`] to a [`Decision`] — a booking plan, "not yet", a skip or a hold.
//!
//! No IO happens here, so every rule is tested beside its code and `ledgerlink plan` shows
//! exactly what would be booked without touching a network.

pub mod customer;
pub mod ledger_map;
pub mod reconcile;
pub mod reference;
pub mod settings;
pub mod trigger;
pub mod vat;
pub mod vat_number;
pub mod vat_rates;
pub mod vies;

use ledgerlink_core::{BookingPlan, Document, DocumentKind, EntryKind};
use serde::Serialize;

pub use settings::BookingSettings;
pub use vies::{Checks, ViesVerdict};

/// What the rules decided for one document.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Book this plan.
    Book { plan: Box<BookingPlan> },
    /// Not bookable yet (e.g. the status has not reached a trigger); look again on change.
    NotYet { reason: String },
    /// Never to be booked (e.g. cancelled before booking); recorded with the reason.
    Skip { reason: String },
    /// Cannot be booked as it is: a person must fix data or settings, then retry.
    Hold { reason: String },
}

/// Applies every rule in order; the first that stops the document decides. Nothing looked
/// up: the dry run of `ledgerlink plan`.
pub fn decide(document: &Document, settings: &BookingSettings) -> Decision {
    decide_checked(document, settings, &Checks::default())
}

/// [`decide`] with what the engine looked up first (VIES).
pub fn decide_checked(
    document: &Document,
    settings: &BookingSettings,
    checks: &Checks,
) -> Decision {
    match decide_plan(document, settings, checks) {
        Ok(plan) => Decision::Book {
            plan: Box::new(plan),
        },
        Err(decision) => decision,
    }
}

fn decide_plan(
    document: &Document,
    settings: &BookingSettings,
    checks: &Checks,
) -> Result<BookingPlan, Decision> {
    trigger::check(document, settings)?;
    vies::check(document, settings, checks)?;
    let mut customer = customer::plan_customer(document, settings)?;
    if let Some(ViesVerdict::Valid { consultation }) = &checks.vies {
        customer.vies_consultation.clone_from(consultation);
    }
    let lines = ledger_map::plan_lines(document, settings)?;
    let (kind, corrects_reference) = match document.source_ref.kind {
        DocumentKind::Refund => {
            let original = document.refund_of.as_ref().ok_or_else(|| Decision::Hold {
                reason: "This refund does not say which order it refunds, so it cannot be linked to a booking.".into(),
            })?;
            (
                EntryKind::CreditNote,
                Some(reference::for_number(&original.number, settings)),
            )
        }
        DocumentKind::Order | DocumentKind::Invoice => (EntryKind::SalesEntry, None),
    };
    let reference = reference::for_document(document, settings);
    let description = match kind {
        EntryKind::SalesEntry => format!("Order {} - {}", document.number, customer.name),
        EntryKind::CreditNote => format!("Refund {} - {}", document.number, customer.name),
    };
    let lines = reconcile::reconcile(document, lines, settings)?;
    let total = lines.iter().map(|l| l.amount + l.vat_amount).sum();
    let total_vat = lines.iter().map(|l| l.vat_amount).sum();
    Ok(BookingPlan {
        reference,
        kind,
        corrects_reference,
        entry_date: document.date,
        currency: document.currency,
        journal: settings.journal.clone(),
        description,
        customer,
        lines,
        total,
        total_vat,
    })
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::*;
    use ledgerlink_core::Money;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    #[test]
    fn domestic_order_is_planned_and_balanced() {
        let Decision::Book { plan } = decide(&domestic_order(), &settings()) else {
            panic!("expected a plan")
        };
        assert_eq!(plan.reference, "WC-1001");
        assert_eq!(plan.total, Money::new(Decimal::new(4115, 2)));
        assert_eq!(plan.lines_total(), plan.total);
    }

    proptest! {
        /// Whatever lines an order has, a booked plan's total equals the source total to the
        /// cent; an order whose own figures disagree beyond the tolerance is held.
        #[test]
        fn plan_total_equals_source_total(
            lines in proptest::collection::vec((1i64..100_000, prop::sample::select(vec![0u32, 9, 21])), 1..30),
            shipping in 0i64..2_000,
            drift in -5i64..=5,
        ) {
            let document = order_with_lines(&lines, shipping, drift);
            match decide(&document, &settings()) {
                Decision::Book { plan } => {
                    prop_assert_eq!(plan.total, document.total);
                    prop_assert_eq!(plan.lines_total(), document.total);
                    prop_assert!(drift.abs() <= 2);
                }
                Decision::Hold { reason } => {
                    prop_assert!(drift.abs() > 2, "held although within tolerance: {}", reason);
                    prop_assert!(reason.contains("does not add up"));
                }
                other => prop_assert!(false, "unexpected decision {:?}", other),
            }
        }
    }
}
