//! The booking's reference: what the target is searched by before any (re-)post.

use ledgerlink_core::{Document, DocumentKind};

use crate::BookingSettings;

pub fn for_number(number: &str, settings: &BookingSettings) -> String {
    format!("{}{number}", settings.reference_prefix)
}

/// `WC-1001` for an order, `WC-1001-R55` for refund 55 of that order.
pub fn for_document(document: &Document, settings: &BookingSettings) -> String {
    match (&document.source_ref.kind, &document.refund_of) {
        (DocumentKind::Refund, Some(original)) => format!(
            "{}-R{}",
            for_number(&original.number, settings),
            document.source_ref.id
        ),
        _ => for_number(&document.number, settings),
    }
}
