//! The domain of ledgerlink, with no IO: money, currencies, countries, e-mail addresses, VAT
//! numbers, the sales documents we read from sources and the booking plans we send to targets.
//!
//! Everything here is parsed at the edge ("parse, don't validate"): once a value of these types
//! exists, it is well-formed, so the rules and targets never re-check it.

pub mod country;
pub mod currency;
pub mod document;
pub mod email;
pub mod error;
pub mod money;
pub mod plan;
pub mod vat_number;

pub use country::Country;
pub use currency::Currency;
pub use document::{
    Address, Customer, CustomerKind, Document, DocumentKind, Line, LineKind, SourceInvoice,
    SourceRef,
};
pub use email::Email;
pub use error::{ConnectorError, ErrorKind};
pub use money::Money;
pub use plan::{BookingPlan, EntryKind, ModuleEffect, PlanCustomer, PlanLine, PlanPayment};
pub use vat_number::VatNumber;
