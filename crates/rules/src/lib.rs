//! The bookkeeping rules: pure functions from a source [`Document`] and the merchant's
//! [`BookingSettings`] to a [`Decision`] — a booking plan, "not yet", a skip or a hold.
//!
//! No IO happens here, so every rule is tested beside its code and `ledgerlink plan` shows
//! exactly what would be booked without touching a network.

pub mod customer;
pub mod effects;
pub mod email_check;
pub mod extra;
pub mod ledger_map;
pub mod payment;
pub mod posting;
pub mod reconcile;
pub mod reference;
pub mod settings;
pub mod territory;
pub mod trigger;
pub mod vat;
pub mod vat_number;
pub mod vat_rates;
pub mod vies;

use ledgerlink_core::{BookingPlan, Document, DocumentKind, EntryKind, ModuleEffect};
use serde::Serialize;

use effects::Effects;
use settings::{BookingMode, ReferenceSource};

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
    let hold = |reason: String| Decision::Hold { reason };
    let mut effects = Effects::default();
    let due = trigger::check(document, settings)?;
    effects.note("triggers", due);
    let (kind, corrects_reference) = match document.source_ref.kind {
        DocumentKind::Refund if !settings.credit_notes => {
            return Err(Decision::Skip {
                reason: format!(
                    "Refund {} is not booked: the credit notes module is off for this connection (`credit_notes = false`), so refunds are left to the bookkeeper.",
                    document.number
                ),
            })
        }
        DocumentKind::Refund => {
            let original = reference::of_refunded(document, settings).map_err(hold)?;
            effects.note(
                "credit_notes",
                format!("credit note linked to the booking {original}, with the same VAT treatment"),
            );
            (EntryKind::CreditNote, Some(original))
        }
        DocumentKind::Order | DocumentKind::Invoice => {
            effects.note(
                "credit_notes",
                if settings.credit_notes { "refunds of this order become linked credit notes" } else { "off" }.into(),
            );
            (EntryKind::SalesEntry, None)
        }
    };
    let reference = reference::for_document(document, settings).map_err(hold)?;
    effects.note(
        "mode",
        format!(
            "{} mode; reference `{reference}` from the {}",
            match settings.mode {
                BookingMode::Order => "order",
                BookingMode::Invoice => "invoice",
            },
            match settings.reference {
                ReferenceSource::OrderNumber => "order number",
                ReferenceSource::InvoiceNumber => "invoice number",
            }
        ),
    );
    vies::check(document, settings, checks)?;
    let mut customer = customer::plan_customer(document, settings, &mut effects)?;
    match &checks.vies {
        Some(ViesVerdict::Valid { consultation }) => {
            customer.vies_consultation.clone_from(consultation);
            effects.note(
                "vat_number_check",
                format!(
                    "VIES confirmed {}{}",
                    customer
                        .vat_number
                        .as_ref()
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    consultation
                        .as_ref()
                        .map(|c| format!(", consultation {c}"))
                        .unwrap_or_default()
                ),
            );
        }
        _ => effects.note(
            "vat_number_check",
            match (&customer.vat_number, settings.vies_check) {
                (None, _) => "no VAT number".into(),
                (Some(number), true) => format!(
                    "{number} passed the offline check; VIES is consulted only for reverse charge"
                ),
                (Some(number), false) => {
                    format!("{number} checked offline (format and checksum); VIES is off")
                }
            },
        ),
    }
    let destination_vat = match (document.source_ref.kind, checks.sale_had_destination_vat) {
        (DocumentKind::Refund, Some(applies)) => vat::DestinationVat {
            applies,
            why: format!(
                "the sale it corrects was booked with {} VAT",
                if applies { "the destination's" } else { "home" }
            ),
        },
        _ => vat::destination_vat(document, settings, checks.distance_sales_this_year),
    };
    let lines = ledger_map::plan_lines(document, settings, &destination_vat, &mut effects)?;
    let journal = ledger_map::journal(document, settings, &mut effects);
    let mut extra = extra::document_extras(document, settings, &mut effects).map_err(hold)?;
    let entry_date = match (settings.mode, &document.invoice) {
        (BookingMode::Invoice, Some(invoice)) => invoice.date,
        _ => document.date,
    };
    let payment = payment::plan_payment(document, entry_date, settings, &mut effects);
    let mut description = match kind {
        EntryKind::SalesEntry => format!("Order {} - {}", document.number, customer.name),
        EntryKind::CreditNote => format!("Refund {} - {}", document.number, customer.name),
    };
    if let Some(your_reference) = extra.remove("your_reference") {
        description = format!("{description} - {your_reference}");
        extra.insert("your_reference".into(), your_reference);
    }
    let rounding_before = lines.len();
    let lines = reconcile::reconcile(document, lines, settings)?;
    let total = lines.iter().map(|l| l.amount + l.vat_amount).sum();
    let total_vat = lines.iter().map(|l| l.vat_amount).sum();
    effects.note(
        "rounding",
        if lines.len() > rounding_before {
            let rounding = lines.last().map(|l| l.amount).unwrap_or_default();
            format!(
                "{rounding} booked on {} to match the shop's total of {total}",
                settings.accounts.rounding
            )
        } else {
            format!("lines rounded per line add up to the shop's total of {total}")
        },
    );
    let mut plan = BookingPlan {
        reference,
        kind,
        corrects_reference,
        entry_date,
        currency: document.currency,
        journal,
        description,
        customer,
        lines,
        total,
        total_vat,
        extra,
        payment,
        distance_sales: vat::distance_sales(document, settings),
        modules: effects.into_vec(),
        covers: Vec::new(),
    };
    let posting = posting::effect(&plan, settings);
    plan.modules.push(ModuleEffect {
        module: "posting_mode".into(),
        effect: posting,
    });
    Ok(plan)
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

    #[test]
    fn the_plan_shows_every_module_on_or_off() {
        let Decision::Book { plan } = decide(&domestic_order(), &settings()) else {
            panic!("expected a plan")
        };
        let modules: std::collections::BTreeSet<&str> =
            plan.modules.iter().map(|m| m.module.as_str()).collect();
        let expected = [
            "classification",
            "collective_debtor",
            "credit_notes",
            "customers",
            "email_check",
            "extra_fields",
            "ledger_mapping",
            "mode",
            "payment_terms",
            "posting_mode",
            "rounding",
            "triggers",
            "vat_number_check",
            "vat_treatment",
        ];
        assert_eq!(modules.into_iter().collect::<Vec<_>>(), expected);
        let off = |name: &str| {
            plan.modules
                .iter()
                .any(|m| m.module == name && m.effect == "off")
        };
        assert!(off("collective_debtor") && off("email_check") && off("payment_terms"));
    }

    #[test]
    fn refunds_are_skipped_when_credit_notes_are_off() {
        let mut refund = domestic_order();
        refund.source_ref.kind = DocumentKind::Refund;
        refund.refund_of = Some(ledgerlink_core::document::RefundOf {
            source_ref: domestic_order().source_ref,
            number: "1001".into(),
            invoice_number: None,
            date: None,
        });
        let settings = BookingSettings {
            credit_notes: false,
            ..settings()
        };
        let Decision::Skip { reason } = decide(&refund, &settings) else {
            panic!()
        };
        assert!(reason.contains("credit_notes = false"), "{reason}");
    }

    /// A refund of a sale to a German consumer at 19% (its lines negated).
    fn german_refund() -> Document {
        let mut refund = order_with_lines(&[(-2000, 19)], 0, 0);
        refund.lines.retain(|l| !l.total.is_zero());
        refund.total = refund.lines.iter().map(|l| l.total + l.tax).sum();
        refund.total_tax = refund.lines.iter().map(|l| l.tax).sum();
        refund.billing.country = "DE".parse().unwrap();
        refund.billing.postcode = "10115".into();
        refund.source_ref.kind = DocumentKind::Refund;
        refund.refund_of = Some(ledgerlink_core::document::RefundOf {
            source_ref: domestic_order().source_ref,
            number: "1001".into(),
            invoice_number: None,
            date: None,
        });
        refund
    }

    #[test]
    fn a_refund_keeps_the_destination_vat_of_its_sale_below_this_years_threshold() {
        let mut settings = settings();
        settings.vat_codes.insert("oss/DE/19".into(), "ODE".into());
        // A new year: nothing sold yet, so a sale today would carry home VAT.
        let checks = Checks {
            distance_sales_this_year: Some(Money::ZERO),
            sale_had_destination_vat: Some(true),
            ..Checks::default()
        };
        let Decision::Book { plan } = decide_checked(&german_refund(), &settings, &checks) else {
            panic!(
                "expected a plan: {:?}",
                decide_checked(&german_refund(), &settings, &checks)
            )
        };
        assert_eq!(plan.kind, EntryKind::CreditNote);
        assert!(
            plan.lines.iter().any(|l| l.vat_treatment == "oss/DE/19"),
            "{plan:#?}"
        );
        assert!(plan
            .modules
            .iter()
            .any(|m| m.module == "vat_treatment" && m.effect.contains("the sale it corrects")));

        // Without its sale in the ledger, the threshold of today decides: held, not guessed.
        let unknown = Checks {
            sale_had_destination_vat: None,
            ..checks
        };
        assert!(matches!(
            decide_checked(&german_refund(), &settings, &unknown),
            Decision::Hold { .. }
        ));
    }

    #[test]
    fn invoice_numbers_make_the_reference_and_the_date_in_invoice_mode() {
        let mut order = domestic_order();
        order.status = "on-hold".into();
        let invoice_day = order.date.succ_opt().unwrap();
        order.invoice = Some(ledgerlink_core::SourceInvoice {
            number: "F2026-0042".into(),
            date: invoice_day,
        });
        let settings = BookingSettings {
            mode: settings::BookingMode::Invoice,
            reference: settings::ReferenceSource::InvoiceNumber,
            ..settings()
        };
        let Decision::Book { plan } = decide(&order, &settings) else {
            panic!("expected a plan")
        };
        assert_eq!(plan.reference, "WC-F2026-0042");
        assert_eq!(plan.entry_date, invoice_day);
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
