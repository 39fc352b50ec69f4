//! The booking's reference: what the target is searched by before any (re-)post. Made of the
//! order number or, when the merchant chose so, the shop's invoice number.

use ledgerlink_core::{Document, DocumentKind};

use crate::settings::ReferenceSource;
use crate::BookingSettings;

pub fn for_number(number: &str, settings: &BookingSettings) -> String {
    format!("{}{number}", settings.reference_prefix)
}

/// `WC-1001` for an order, `WC-1001-R55` for refund 55 of that order; with invoice numbers
/// `WC-F2026-0042` and `WC-F2026-0042-R55`. `Err` is the reason to hold.
pub fn for_document(document: &Document, settings: &BookingSettings) -> Result<String, String> {
    match (&document.source_ref.kind, &document.refund_of) {
        (DocumentKind::Refund, Some(_)) => Ok(format!(
            "{}-R{}",
            of_refunded(document, settings)?,
            document.source_ref.id
        )),
        _ => match settings.reference {
            ReferenceSource::OrderNumber => Ok(for_number(&document.number, settings)),
            ReferenceSource::InvoiceNumber => match &document.invoice {
                Some(invoice) => Ok(for_number(&invoice.number, settings)),
                None => Err(format!(
                    "Order {} has no invoice number, which the settings make the reference (`reference = \"invoice_number\"`). Make the invoice in the shop, then retry.",
                    document.number
                )),
            },
        },
    }
}

/// The reference of the booking a refund corrects.
pub fn of_refunded(document: &Document, settings: &BookingSettings) -> Result<String, String> {
    let original = document.refund_of.as_ref().ok_or_else(|| {
        "This refund does not say which order it refunds, so it cannot be linked to a booking."
            .to_string()
    })?;
    match (settings.reference, &original.invoice_number) {
        (ReferenceSource::OrderNumber, _) => Ok(for_number(&original.number, settings)),
        (ReferenceSource::InvoiceNumber, Some(invoice)) => Ok(for_number(invoice, settings)),
        (ReferenceSource::InvoiceNumber, None) => Err(format!(
            "Refund {} is of order {}, whose invoice number is not known, so the credit note cannot be linked to its booking. Check that the order was invoiced in the shop, then retry.",
            document.number, original.number
        )),
    }
}
