//! The booking plan: exactly what will be sent to the target, decided before any call.
//! `ledgerlink plan` prints it as JSON (docs/plan-format.md); keep that shape stable.

use std::collections::BTreeMap;

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
    /// Document-level extra fields for the target, by name (`payment_reference`, …).
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
    /// Due date or payment registered at once, by payment method.
    #[serde(default)]
    pub payment: Option<PlanPayment>,
    /// Net amount of goods sold to consumers in other EU countries: counts towards the
    /// EUR 10,000 OSS threshold of the calendar year.
    #[serde(default)]
    pub distance_sales: Money,
    /// What each module did to this document, in the order the rules ran.
    #[serde(default)]
    pub modules: Vec<ModuleEffect>,
    /// For a summary entry: the references of the documents it books.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
}

/// One module's effect on a plan, for the bookkeeper reading the dry run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleEffect {
    pub module: String,
    pub effect: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPayment {
    /// The target's payment condition code, when one is mapped.
    pub condition: Option<String>,
    pub due_date: Option<NaiveDate>,
    /// Paid at checkout: the payment is registered on the booking at once.
    pub paid: bool,
    /// The target e-mails the invoice to the customer, booked with this item on its lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_invoice_item: Option<String>,
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
    /// The delivery address when it differs from the billing address, kept as its own
    /// address on the relation.
    #[serde(default)]
    pub delivery_address: Option<Address>,
    /// The relation's classification in the target, set by the merchant's rules.
    #[serde(default)]
    pub classification: Option<String>,
    /// A fixed relation that already exists in the target (a collective debtor): found by
    /// its number, never created or updated.
    #[serde(default)]
    pub collective: bool,
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
    /// Line-level extra fields for the target, by name (`serial_number`, `intrastat_…`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}
