//! Target connectors, one folder per ledger: authentication, rate budgets, master data,
//! lookups by reference and posting a [`ledgerlink_core::BookingPlan`].
//!
//! Every target offers the two operations the exactly-once protocol needs: `find` a booking
//! by our reference, and `book` a plan. The set is closed ([`TargetKind`]).

pub mod exact;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Exact,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Exact => "exact",
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
