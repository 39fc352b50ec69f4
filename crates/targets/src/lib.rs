//! Target connectors, one folder per ledger: authentication, rate budgets, master data,
//! lookups by reference and posting a [`ledgerlink_core::BookingPlan`].
//!
//! Every target offers what the exactly-once protocol needs: `find` a booking by our
//! reference, `prepare` everything a booking needs before the one write, and `post` that
//! write. The set is closed ([`Target`], [`TargetKind`]): adding a ledger is a compile error
//! wherever it must be handled.

pub mod exact;
mod relation;
pub mod tryton;

use ledgerlink_core::{BookingPlan, ConnectorError, EntryKind, ErrorKind};
use ledgerlink_store::StoreError;
use serde::{Deserialize, Serialize};

/// An error of the store reading or writing a connection's credentials. A key to set or a
/// connection to authorise again needs a person, as a refused login does; anything else is the
/// database being unavailable for a moment.
pub(crate) fn credentials_error(error: StoreError) -> ConnectorError {
    if error.is_credential() {
        ConnectorError::new(ErrorKind::Auth, error.to_string(), error.to_string())
    } else {
        ConnectorError::transient("The ledger database is unavailable.", error.to_string())
    }
}

/// A target ledger, as the engine uses it.
#[derive(Clone)]
pub enum Target {
    // Boxed: the clients are large and of very different sizes; a target is built once.
    Exact(Box<exact::ExactTarget>),
    Tryton(Box<tryton::TrytonTarget>),
}

/// A booking ready for its one write, for the target that prepared it.
#[derive(Clone, Debug)]
pub enum PreparedBooking {
    Exact(exact::PreparedEntry),
    Tryton(tryton::PreparedInvoice),
}

impl Target {
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Exact(_) => TargetKind::Exact,
            Target::Tryton(_) => TargetKind::Tryton,
        }
    }

    /// The Exact Online client, for what only Exact has (its OAuth connection flow).
    pub fn exact(&self) -> Option<&exact::ExactTarget> {
        match self {
            Target::Exact(exact) => Some(exact.as_ref()),
            Target::Tryton(_) => None,
        }
    }

    /// The booking carrying this reference, if the target has one.
    pub async fn find(
        &self,
        reference: &str,
        kind: EntryKind,
    ) -> Result<Option<BookingRef>, ConnectorError> {
        match self {
            Target::Exact(exact) => exact.find(reference, kind).await,
            Target::Tryton(tryton) => tryton.find(reference, kind).await,
        }
    }

    /// Looks the plan's booking up by its reference, where that plan books it (an Exact
    /// sales entry, or a sales invoice when the invoice is e-mailed).
    pub async fn find_booking(
        &self,
        plan: &BookingPlan,
    ) -> Result<Option<BookingRef>, ConnectorError> {
        let emailed = plan.kind == EntryKind::SalesEntry
            && plan
                .payment
                .as_ref()
                .is_some_and(|p| p.email_invoice_item.is_some());
        match self {
            Target::Exact(exact) if emailed => exact.find_invoice(&plan.reference).await,
            _ => self.find(&plan.reference, plan.kind).await,
        }
    }

    /// Everything before the write: may wait, read and create relations; never the booking.
    /// Codes the settings name that the target does not have: (setting, code), for accounts,
    /// journals and VAT codes.
    pub async fn unknown_codes(
        &self,
        accounts: &[(String, String)],
        journals: &[(String, String)],
        vat_codes: &[(String, String)],
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        match self {
            Target::Exact(exact) => exact.unknown_codes(accounts, journals, vat_codes).await,
            Target::Tryton(tryton) => tryton.unknown_codes(accounts, journals, vat_codes).await,
        }
    }

    /// The ledger's own accounts, journals and VAT codes, for a person to choose from.
    pub async fn ledger_codes(&self) -> Result<LedgerCodes, ConnectorError> {
        match self {
            Target::Exact(exact) => exact.ledger_codes().await,
            Target::Tryton(tryton) => tryton.ledger_codes().await,
        }
    }

    pub async fn prepare(&self, plan: &BookingPlan) -> Result<PreparedBooking, ConnectorError> {
        match self {
            Target::Exact(exact) => exact.prepare(plan).await.map(PreparedBooking::Exact),
            Target::Tryton(tryton) => tryton.prepare(plan).await.map(PreparedBooking::Tryton),
        }
    }

    /// The one write that books.
    pub async fn post(&self, prepared: &PreparedBooking) -> Result<BookingRef, ConnectorError> {
        match (self, prepared) {
            (Target::Exact(exact), PreparedBooking::Exact(entry)) => exact.post(entry).await,
            (Target::Tryton(tryton), PreparedBooking::Tryton(invoice)) => {
                tryton.post(invoice).await
            }
            _ => Err(ConnectorError::config(
                "a booking prepared for one ledger cannot be posted to another",
            )),
        }
    }
}

/// A code of one of the ledger's lists, with the ledger's own description of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCode {
    pub code: String,
    pub description: String,
}

/// The lists the booking settings name codes of, in code order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCodes {
    pub accounts: Vec<LedgerCode>,
    pub journals: Vec<LedgerCode>,
    pub vat_codes: Vec<LedgerCode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Exact,
    Tryton,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Exact => "exact",
            TargetKind::Tryton => "tryton",
        }
    }
}

/// Where a booking landed in the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRef {
    /// The target's id of the booking (Exact `EntryID`).
    pub id: String,
    /// The number a bookkeeper sees (Exact `EntryNumber`), when the target gives one.
    pub number: Option<String>,
    /// The booking's total incl. VAT as the target recorded it, when it says.
    pub total: Option<ledgerlink_core::Money>,
}
