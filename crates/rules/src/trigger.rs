//! Order status triggers: an order is booked at the first status the merchant chose.

use ledgerlink_core::{Document, DocumentKind};

use crate::{BookingSettings, Decision};

pub fn check(document: &Document, settings: &BookingSettings) -> Result<(), Decision> {
    // Refunds and the source's own invoices are booked when they exist; only orders wait
    // for a status.
    if document.source_ref.kind != DocumentKind::Order {
        return Ok(());
    }
    let status = document.status.as_str();
    if settings
        .triggers
        .iter()
        .any(|t| t.eq_ignore_ascii_case(status))
    {
        return Ok(());
    }
    if settings
        .skip_statuses
        .iter()
        .any(|s| s.eq_ignore_ascii_case(status))
    {
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
        assert_eq!(check(&order, &settings), Ok(()));
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
    fn pending_waits() {
        let mut order = domestic_order();
        order.status = "pending".into();
        let Err(Decision::NotYet { reason }) = check(&order, &settings()) else {
            panic!()
        };
        assert!(reason.contains("`processing` or `completed`"), "{reason}");
    }
}
