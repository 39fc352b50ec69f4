//! Order status triggers: an order is booked at the first status the merchant chose.
//!
//! A trigger names a status as the shop does (`processing`, a custom `in-production`), or —
//! for shops whose statuses are configurable, like PrestaShop — what a status means:
//! `flag:paid` matches any status with that flag, `state:<id>` one status by its id.

use ledgerlink_core::{Document, DocumentKind};

use crate::settings::BookingMode;
use crate::{BookingSettings, Decision};

/// The status a deleted order is taken in with.
pub const DELETED_STATUS: &str = "trash";

/// Source field that lists the flags of the document's status (comma-separated).
pub const STATE_FLAGS_FIELD: &str = "state_flags";
/// Source field with the id of the document's status.
pub const STATE_ID_FIELD: &str = "state_id";

fn matches(trigger: &str, document: &Document) -> bool {
    let field = |name: &str| {
        document
            .custom_fields
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    };
    if let Some(flag) = trigger.strip_prefix("flag:") {
        field(STATE_FLAGS_FIELD)
            .split(',')
            .any(|f| f.trim().eq_ignore_ascii_case(flag.trim()))
    } else if let Some(id) = trigger.strip_prefix("state:") {
        !field(STATE_ID_FIELD).is_empty() && field(STATE_ID_FIELD) == id.trim()
    } else {
        trigger.eq_ignore_ascii_case(&document.status)
    }
}

/// Whether the document is due for booking now; `Ok` says why (for the plan).
pub fn check(document: &Document, settings: &BookingSettings) -> Result<String, Decision> {
    // Refunds are booked when they exist; only orders wait for a status or an invoice.
    if document.source_ref.kind == DocumentKind::Refund {
        return Ok("a refund is booked when the shop records it".into());
    }
    if settings.mode == BookingMode::Invoice {
        return invoice_mode(document);
    }
    if document.source_ref.kind != DocumentKind::Order {
        return Ok("the shop's own invoice is booked when it is made".into());
    }
    if let Some(trigger) = settings.triggers.iter().find(|t| matches(t, document)) {
        return Ok(format!(
            "booked at status `{}` (trigger `{trigger}`)",
            document.status
        ));
    }
    let status = document.status.as_str();
    if settings.skip_statuses.iter().any(|s| matches(s, document)) {
        return Err(Decision::Skip {
            reason: format!(
                "Order {} reached status `{status}` before it was booked, so it is not booked.",
                document.number
            ),
        });
    }
    Err(Decision::NotYet {
        reason: format!(
            "Order {} has status `{status}`; it is booked at {}.",
            document.number,
            settings
                .triggers
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    })
}

/// Invoice mode: the shop's invoice is leading, whatever the order's status; an order deleted
/// after its invoice was made leaves a gap in the invoice numbers, which is reported.
fn invoice_mode(document: &Document) -> Result<String, Decision> {
    match &document.invoice {
        Some(invoice) if document.status == DELETED_STATUS => Err(Decision::Skip {
            reason: format!(
                "Order {} was deleted in the shop, so its invoice {} is not booked: invoice number {} is a gap in the booked numbering. Tell your bookkeeper, or restore the order in the shop.",
                document.number, invoice.number, invoice.number
            ),
        }),
        Some(invoice) => Ok(format!(
            "invoice mode: invoice {} of {} is booked as the shop made it",
            invoice.number, invoice.date
        )),
        None if document.status == DELETED_STATUS => Err(Decision::Skip {
            reason: format!(
                "Order {} was deleted in the shop before it was invoiced, so it is not booked.",
                document.number
            ),
        }),
        None => Err(Decision::NotYet {
            reason: format!(
                "Order {} has no invoice yet; in invoice mode it is booked when the shop makes one.",
                document.number
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    #[test]
    fn custom_status_can_trigger() {
        let mut settings = settings();
        settings.triggers = vec!["in-production".into()];
        let mut order = domestic_order();
        order.status = "in-production".into();
        assert!(check(&order, &settings).is_ok());
        order.status = "processing".into();
        assert!(matches!(
            check(&order, &settings),
            Err(Decision::NotYet { .. })
        ));
    }

    #[test]
    fn cancelled_before_booking_is_skipped() {
        let mut order = domestic_order();
        order.status = "cancelled".into();
        let Err(Decision::Skip { reason }) = check(&order, &settings()) else {
            panic!()
        };
        assert!(reason.contains("cancelled"));
    }

    #[test]
    fn flags_and_state_ids_trigger_for_configurable_statuses() {
        let mut settings = settings();
        settings.triggers = vec!["flag:paid".into()];
        settings.skip_statuses = vec!["state:6".into()];
        let mut order = domestic_order();
        order.status = "betaald-via-ideal".into();
        order
            .custom_fields
            .insert(STATE_FLAGS_FIELD.into(), "logable, paid".into());
        order
            .custom_fields
            .insert(STATE_ID_FIELD.into(), "14".into());
        assert!(check(&order, &settings).is_ok());
        order
            .custom_fields
            .insert(STATE_FLAGS_FIELD.into(), "logable".into());
        assert!(matches!(
            check(&order, &settings),
            Err(Decision::NotYet { .. })
        ));
        order
            .custom_fields
            .insert(STATE_ID_FIELD.into(), "6".into());
        assert!(matches!(
            check(&order, &settings),
            Err(Decision::Skip { .. })
        ));
    }

    #[test]
    fn invoice_mode_books_invoices_whatever_the_status_and_reports_gaps() {
        let settings = BookingSettings {
            mode: BookingMode::Invoice,
            ..settings()
        };
        let mut order = domestic_order();
        order.status = "pending".into();
        assert!(matches!(
            check(&order, &settings),
            Err(Decision::NotYet { .. })
        ));
        order.invoice = Some(ledgerlink_core::SourceInvoice {
            number: "F2026-0042".into(),
            date: order.date,
        });
        assert!(check(&order, &settings).unwrap().contains("F2026-0042"));
        order.status = DELETED_STATUS.into();
        let Err(Decision::Skip { reason }) = check(&order, &settings) else {
            panic!()
        };
        assert!(
            reason.contains("invoice number F2026-0042 is a gap"),
            "{reason}"
        );
    }

    #[test]
    fn pending_waits() {
        let mut order = domestic_order();
        order.status = "pending".into();
        let Err(Decision::NotYet { reason }) = check(&order, &settings()) else {
            panic!()
        };
        assert!(reason.contains("`processing` or `completed`"), "{reason}");
    }
}
