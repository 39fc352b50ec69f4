//! The booking plan: exactly what will be sent to the target, decided before any call.
//! `ledgerlink plan` prints it as JSON (docs/plan-format.md); keep that shape stable.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{Address, Country, Currency, CustomerKind, Email, Money, VatNumber};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A sales entry (Exact type 20).
    SalesEntry,
    /// A credit note (Exact type 21), linked to the booking it corrects.
    CreditNote,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookingPlan {
    /// Our reference, carried in a field the target can search (Exact `YourRef`); the key of
    /// the exactly-once protocol.
    pub reference: String,
    pub kind: EntryKind,
    /// For a credit note: the reference of the booking it corrects.
    pub corrects_reference: Option<String>,
    pub entry_date: NaiveDate,
    pub currency: Currency,
    pub journal: String,
    pub description: String,
    pub customer: PlanCustomer,
    pub lines: Vec<PlanLine>,
    /// Sum of every line's amount plus VAT; equals the source document's total to the cent.
    pub total: Money,
    pub total_vat: Money,
}

impl BookingPlan {
    pub fn lines_total(&self) -> Money {
        self.lines.iter().map(|l| l.amount + l.vat_amount).sum()
    }
}

/// The relation to book on, and how to find or create it in the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanCustomer {
    /// Which field identifies the relation in the target.
    pub match_on: CustomerMatch,
    /// The value of that field (e-mail address, customer number or VAT number).
    pub match_value: String,
    pub kind: CustomerKind,
    pub name: String,
    pub email: Option<Email>,
    pub phone: Option<String>,
    pub vat_number: Option<VatNumber>,
    /// VIES's consultation number for `vat_number`, kept with the booking as evidence that
    /// reverse charge was checked.
    #[serde(default)]
    pub vies_consultation: Option<String>,
    pub address: Address,
    pub country: Country,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerMatch {
    Email,
    CustomerNumber,
    VatNumber,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanLine {
    /// The ledger account's code in the target (e.g. "8000").
    pub account: String,
    pub description: String,
    /// Net amount, two decimals.
    pub amount: Money,
    /// The target's VAT code.
    pub vat_code: String,
    /// VAT amount charged, two decimals.
    pub vat_amount: Money,
    /// The VAT treatment that chose the code, for the bookkeeper reading the plan.
    pub vat_treatment: String,
}
