//! Order status triggers: an order is booked at the first status the merchant chose.
//!
//! A trigger names a status as the shop does (`processing`, a custom `in-production`), or —
//! for shops whose statuses are configurable, like PrestaShop — what a status means:
//! `flag:paid` matches any status with that flag, `state:<id>` one status by its id.

use ledgerlink_core::{Document, DocumentKind};

use crate::{BookingSettings, Decision};

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

pub fn check(document: &Document, settings: &BookingSettings) -> Result<(), Decision> {
    // Refunds and the source's own invoices are booked when they exist; only orders wait
    // for a status.
    if document.source_ref.kind != DocumentKind::Order {
        return Ok(());
    }
    if settings.triggers.iter().any(|t| matches(t, document)) {
        return Ok(());
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
        assert_eq!(check(&order, &settings), Ok(()));
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
    fn pending_waits() {
        let mut order = domestic_order();
        order.status = "pending".into();
        let Err(Decision::NotYet { reason }) = check(&order, &settings()) else {
            panic!()
        };
        assert!(reason.contains("`processing` or `completed`"), "{reason}");
    }
}
