//! Tryton 8.2 over JSON-RPC: one customer invoice (`account.invoice`, type out) per document,
//! created as a draft, its VAT checked against the plan to the cent, then posted.
//!
//! How a plan maps onto Tryton:
//! - `reference` → the invoice's `reference`. Tryton does not keep it unique, so `post` looks
//!   for an invoice with it before creating one, and posts a draft an earlier attempt left.
//! - `journal` → a revenue journal by `code` (Tryton ships `REV`); `lines[].account` → an
//!   account by `code`; `lines[].vat_code` → a sales tax by **name** (`account.tax` has no
//!   code), e.g. `VAT 21%`.
//! - Each plan line is one invoice line without a product: quantity 1 and the net amount as
//!   unit price, or quantity -1 for a negative amount. The sign sits in the quantity, as in
//!   Tryton's own credit wizard, so a credit note is an out invoice with negative quantities,
//!   numbered from the fiscal year's credit-note sequence. Its lines name the most similar
//!   line of the corrected invoice as `origin`, which is how Tryton links a credit note to
//!   the invoice it corrects ("Origin Invoices").
//! - Tryton computes the VAT itself, per line or per invoice, rounding half to even. Where
//!   its amount differs from what the shop charged by rounding only (at most a cent per
//!   line), the invoice's tax line is set to the shop's amount, as a person does in the
//!   invoice's tax tab; a larger difference is refused and the draft deleted. Nothing whose
//!   totals differ from the plan is ever posted, and a posted invoice is never written to.

mod master_data;
mod party;
mod rpc;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use ledgerlink_core::{BookingPlan, ConnectorError, EntryKind, ErrorKind, Money};
use ledgerlink_store::Store;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::BookingRef;
use master_data::Books;
pub use rpc::hide_session;
use rpc::{id_of, TrytonRpc};

#[derive(Clone, Debug, Deserialize)]
pub struct TrytonSettings {
    /// The server, e.g. `http://127.0.0.1:8000` (JSON-RPC goes to `<url>/<database>/rpc/`).
    pub url: String,
    pub database: String,
    /// A Tryton user in the groups Accounting and Party Administration, with a company.
    pub username: String,
    pub password: SecretString,
}

/// One company's books in one Tryton database, reached as one user.
#[derive(Clone)]
pub struct TrytonTarget {
    rpc: TrytonRpc,
}

/// A customer invoice, ready for its one write.
#[derive(Clone, Debug)]
pub struct PreparedInvoice {
    reference: String,
    /// The values for `account.invoice.create`.
    values: Value,
    party: i64,
    invoice_date: NaiveDate,
    lines: Vec<PreparedLine>,
    total: Money,
    total_vat: Money,
}

#[derive(Clone, Debug)]
struct PreparedLine {
    account: i64,
    tax: i64,
    tax_name: String,
    description: String,
    net: Money,
    vat: Money,
    extra: BTreeMap<String, String>,
}

/// What is read of an invoice to recognise and report it.
const INVOICE_FIELDS: [&str; 5] = ["state", "number", "total_amount", "party", "invoice_date"];

impl TrytonTarget {
    pub fn new(
        settings: TrytonSettings,
        store: Arc<dyn Store>,
        connection_id: &str,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        Ok(TrytonTarget {
            rpc: TrytonRpc::new(&settings, store, connection_id, timeout)?,
        })
    }

    /// The posted (or paid) customer invoice or credit note with this `reference`.
    pub async fn find(
        &self,
        reference: &str,
        kind: EntryKind,
    ) -> Result<Option<BookingRef>, ConnectorError> {
        let found = self.posted(reference, kind).await?;
        if found.len() > 1 {
            tracing::error!(
                reference,
                count = found.len(),
                "more than one posted Tryton invoice carries this reference"
            );
        }
        found.first().map(booking_ref).transpose()
    }

    async fn posted(&self, reference: &str, kind: EntryKind) -> Result<Vec<Value>, ConnectorError> {
        // Tryton has one invoice type for both: a credit note is one with a negative total.
        let sign = match kind {
            EntryKind::SalesEntry => ">=",
            EntryKind::CreditNote => "<",
        };
        let domain = json!([
            ["type", "=", "out"],
            ["reference", "=", reference],
            ["state", "in", ["posted", "paid"]],
            ["total_amount", sign, wire::decimal(Decimal::ZERO)],
        ]);
        self.rpc
            .search_read("account.invoice", domain, &INVOICE_FIELDS)
            .await
    }

    /// Everything before the write: master data checked, the customer found or created, the
    /// invoice's values built. Creates nothing but a party (or its missing address).
    pub async fn prepare(&self, plan: &BookingPlan) -> Result<PreparedInvoice, ConnectorError> {
        let books = Books::load(&self.rpc, plan).await?;
        let customer = party::find_or_create(&self.rpc, &plan.customer).await?;
        let receivable = customer
            .receivable
            .or(books.default_receivable)
            .ok_or_else(|| {
                ConnectorError::config(
                    "Tryton has no default receivable account. Set one in Accounting > Configuration in Tryton, then retry.",
                )
            })?;
        master_data::check_receivable(&self.rpc, receivable).await?;
        let lines: Vec<PreparedLine> = plan
            .lines
            .iter()
            .map(|line| PreparedLine {
                // Books::load found every code and name the plan uses.
                account: books.accounts[&line.account],
                tax: books.taxes[&line.vat_code],
                tax_name: line.vat_code.clone(),
                description: line.description.clone(),
                net: line.amount,
                vat: line.vat_amount,
                extra: line.extra.clone(),
            })
            .collect();
        let (description, originals) = match (plan.kind, &plan.corrects_reference) {
            (EntryKind::CreditNote, Some(original)) => (
                format!("{} (credits {original})", plan.description),
                self.original_lines(original).await?,
            ),
            _ => (plan.description.clone(), Vec::new()),
        };
        let line_values: Vec<Value> = lines
            .iter()
            .map(|line| {
                let mut values = json!({
                    "type": "line",
                    "description": line.description,
                    "quantity": if line.net.is_negative() { -1 } else { 1 },
                    "unit_price": wire::decimal(line.net.abs().amount()),
                    "account": line.account,
                    "taxes": [["add", [line.tax]]],
                });
                if let Some(origin) = origin_for(&originals, line) {
                    values["origin"] = json!(format!("account.invoice.line,{origin}"));
                }
                if let Some(note) = extra_text(&line.extra) {
                    values["note"] = json!(note);
                }
                values
            })
            .collect();
        // create() over RPC runs no on_change: everything the form would fill is given.
        let mut values = json!({
            "type": "out",
            "company": books.company,
            "party": customer.party,
            "invoice_address": customer.address,
            "account": receivable,
            "currency": books.currency,
            "journal": books.journal,
            "invoice_date": wire::date(plan.entry_date),
            "reference": plan.reference,
            "description": description,
            "lines": [["create", line_values]],
        });
        let chosen_term = match plan.payment.as_ref().and_then(|p| p.condition.as_deref()) {
            Some(name) => Some(self.payment_term(name).await?),
            None => None,
        };
        if let Some(term) = chosen_term
            .or(customer.payment_term)
            .or(books.default_payment_term)
        {
            values["payment_term"] = json!(term);
        }
        if let Some(payment) = &plan.payment {
            if payment.paid {
                return Err(ConnectorError::config(
                    "Registering a payment at once is not supported for Tryton: Tryton pays an invoice through its own payment wizard. Remove `paid = true` under [connections.booking.payment_terms] and let the bank statement settle it, then retry.",
                ));
            }
            if payment.email_invoice_item.is_some() {
                return Err(ConnectorError::config(
                    "Tryton does not e-mail invoices to customers (its core has no invoice e-mail). Remove `send_invoice_email = true` under [connections.booking.payment_terms] and send the invoice from Tryton's report, then retry.",
                ));
            }
            if let Some(due) = payment.due_date {
                values["payment_term_date"] = json!(wire::date(due));
            }
        }
        if let Some(comment) = extra_text(&plan.extra) {
            values["comment"] = json!(comment);
        }
        Ok(PreparedInvoice {
            reference: plan.reference.clone(),
            values,
            party: customer.party,
            invoice_date: plan.entry_date,
            lines,
            total: plan.total,
            total_vat: plan.total_vat,
        })
    }

    /// Codes the settings name that these books do not have: (setting, code).
    /// The accounts that have a code (those a booking can name), the journals and the taxes.
    pub async fn ledger_codes(&self) -> Result<crate::LedgerCodes, ConnectorError> {
        let list = |records: Vec<Value>, code: &str, description: &str| {
            let mut codes: Vec<crate::LedgerCode> = records
                .iter()
                .filter_map(|record| {
                    Some(crate::LedgerCode {
                        code: record[code].as_str()?.to_string(),
                        description: record[description].as_str().unwrap_or_default().to_string(),
                    })
                })
                .collect();
            codes.sort_by(|a, b| a.code.cmp(&b.code));
            codes
        };
        let accounts = self
            .rpc
            .search_read(
                "account.account",
                json!([["code", "!=", null]]),
                &["code", "name"],
            )
            .await?;
        let journals = self
            .rpc
            .search_read("account.journal", json!([]), &["code", "name"])
            .await?;
        let taxes = self
            .rpc
            .search_read(
                "account.tax",
                json!([["parent", "=", null]]),
                &["name", "description"],
            )
            .await?;
        Ok(crate::LedgerCodes {
            accounts: list(accounts, "code", "name"),
            journals: list(journals, "code", "name"),
            vat_codes: list(taxes, "name", "description"),
        })
    }

    pub async fn unknown_codes(
        &self,
        accounts: &[(String, String)],
        journals: &[(String, String)],
        vat_codes: &[(String, String)],
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let mut unknown = Vec::new();
        for (model, field, named) in [
            ("account.account", "code", accounts),
            ("account.journal", "code", journals),
            ("account.tax", "name", vat_codes),
        ] {
            let wanted: Vec<&str> = named.iter().map(|(_, code)| code.as_str()).collect();
            let found = self
                .rpc
                .search_read(model, json!([[field, "in", wanted]]), &[field])
                .await?;
            unknown.extend(
                named
                    .iter()
                    .filter(|(_, code)| !found.iter().any(|f| f[field] == code.as_str()))
                    .cloned(),
            );
        }
        Ok(unknown)
    }

    /// A payment term by its name.
    async fn payment_term(&self, name: &str) -> Result<i64, ConnectorError> {
        let found = self
            .rpc
            .search_read(
                "account.invoice.payment_term",
                json!([["name", "=", name]]),
                &["name"],
            )
            .await?;
        match found.first() {
            Some(term) => id_of(term),
            None => Err(ConnectorError::config(format!(
                "Tryton has no payment term `{name}`. Create it in Tryton or change `condition` under [connections.booking.payment_terms], then retry."
            ))),
        }
    }

    /// The write that books: the draft (created now, or left by an earlier attempt), its VAT
    /// settled to the plan's, then posted.
    pub async fn post(&self, prepared: &PreparedInvoice) -> Result<BookingRef, ConnectorError> {
        let reference = prepared.reference.as_str();
        let domain = json!([
            ["type", "=", "out"],
            ["reference", "=", reference],
            ["state", "!=", "cancelled"],
        ]);
        let existing = self
            .rpc
            .search_read("account.invoice", domain, &INVOICE_FIELDS)
            .await?;
        let (posted, unposted): (Vec<&Value>, Vec<&Value>) = existing
            .iter()
            .partition(|invoice| matches!(invoice["state"].as_str(), Some("posted" | "paid")));
        // Booked by an attempt whose answer was lost: that is the booking, not a second one.
        if let Some(booked) = posted.first() {
            let booked = booking_ref(booked)?;
            if booked.total == Some(prepared.total) {
                return Ok(booked);
            }
            return Err(ConnectorError::rejected(
                format!(
                    "Tryton already has invoice {} for {reference} with a total of {}, but this booking's total is {}. Check it in Tryton; ledgerlink posts nothing more for this reference.",
                    booked.number.as_deref().unwrap_or("(no number)"),
                    booked.total.map(|t| t.to_string()).unwrap_or_default(),
                    prepared.total
                ),
                format!("posted invoice {} found by reference", booked.id),
            ));
        }
        let invoice = match unposted.as_slice() {
            [] => self.create(prepared).await?,
            [draft] => self.reuse(draft, prepared).await?,
            drafts => {
                return Err(ConnectorError::rejected(
                    format!(
                        "{} unposted invoices in Tryton carry the reference {reference}. Delete all but one of them in Tryton, then retry.",
                        drafts.len()
                    ),
                    format!("drafts {drafts:?}"),
                ))
            }
        };
        if let Err(error) = self.settle_taxes(invoice, prepared).await {
            if error.kind == ErrorKind::Rejected {
                // It must never be posted: leave no draft a person might post by hand.
                if let Err(e) = self
                    .rpc
                    .on_ids("account.invoice", "delete", &[invoice])
                    .await
                {
                    let cause = &e.internal_cause;
                    tracing::warn!(invoice, cause, "could not delete a refused draft");
                }
            }
            return Err(error);
        }
        self.rpc
            .on_ids("account.invoice", "post", &[invoice])
            .await?;
        // Posted: from here on a failure to read it back is only a lookup to redo.
        let read_back = self
            .rpc
            .read("account.invoice", &[invoice], &INVOICE_FIELDS)
            .await
            .map_err(|e| {
                ConnectorError::uncertain(format!(
                    "invoice {invoice} posted, not read back: {}",
                    e.internal_cause
                ))
            })?;
        match read_back.first() {
            Some(record) if record["state"] == "posted" => booking_ref(record),
            _ => Err(ConnectorError::uncertain(format!(
                "invoice {invoice} read back after posting as {read_back:?}"
            ))),
        }
    }

    async fn create(&self, prepared: &PreparedInvoice) -> Result<i64, ConnectorError> {
        self.rpc
            .create("account.invoice", prepared.values.clone())
            .await
    }

    /// The unposted invoice an earlier attempt left: posted if it is this booking, else
    /// replaced (it was never booked, and belongs to an older version of the document).
    async fn reuse(
        &self,
        draft: &Value,
        prepared: &PreparedInvoice,
    ) -> Result<i64, ConnectorError> {
        let id = id_of(draft)?;
        let reference = prepared.reference.as_str();
        if draft["state"] == "validated" {
            self.rpc.on_ids("account.invoice", "draft", &[id]).await?;
        }
        if self.is_this_booking(draft, prepared).await? {
            tracing::info!(
                reference,
                invoice = id,
                "posting the draft an earlier attempt left"
            );
            return Ok(id);
        }
        tracing::warn!(
            reference,
            invoice = id,
            "replacing a draft that differs from the plan"
        );
        self.rpc.on_ids("account.invoice", "delete", &[id]).await?;
        self.create(prepared).await
    }

    async fn is_this_booking(
        &self,
        draft: &Value,
        prepared: &PreparedInvoice,
    ) -> Result<bool, ConnectorError> {
        if draft["party"].as_i64() != Some(prepared.party)
            || wire::to_date(&draft["invoice_date"]) != Some(prepared.invoice_date)
        {
            return Ok(false);
        }
        let domain = json!([["invoice", "=", id_of(draft)?]]);
        let fields = ["account", "amount", "taxes", "description"];
        let lines = self
            .rpc
            .search_read("account.invoice.line", domain, &fields)
            .await?;
        let mut theirs: Vec<(Option<i64>, Option<Decimal>, String, String)> = lines
            .iter()
            .map(|line| {
                (
                    line["account"].as_i64(),
                    wire::to_decimal(&line["amount"]),
                    line["taxes"].to_string(),
                    line["description"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let mut ours: Vec<_> = prepared
            .lines
            .iter()
            .map(|line| {
                (
                    Some(line.account),
                    Some(line.net.amount()),
                    json!([line.tax]).to_string(),
                    line.description.clone(),
                )
            })
            .collect();
        theirs.sort();
        ours.sort();
        Ok(theirs == ours)
    }

    /// Makes the draft's VAT the plan's: Tryton's own amount where equal, the shop's where they
    /// differ by rounding; refuses anything else. Then checks the invoice's totals to the cent.
    async fn settle_taxes(
        &self,
        invoice: i64,
        prepared: &PreparedInvoice,
    ) -> Result<(), ConnectorError> {
        let reference = prepared.reference.as_str();
        let refuse = |message: String| ConnectorError::rejected(message.clone(), message);
        // Tryton keeps one tax line per tax and sign of the base.
        let mut expected: BTreeMap<(i64, bool), TaxGroup> = BTreeMap::new();
        for line in &prepared.lines {
            let group = expected
                .entry((line.tax, line.net.is_negative()))
                .or_insert_with(|| TaxGroup {
                    name: line.tax_name.clone(),
                    base: Money::ZERO,
                    vat: Money::ZERO,
                    lines: 0,
                });
            group.base += line.net;
            group.vat += line.vat;
            group.lines += 1;
        }
        let computed = self
            .rpc
            .search_read(
                "account.invoice.tax",
                json!([["invoice", "=", invoice]]),
                &["tax", "base", "amount", "description"],
            )
            .await?;
        for tax in &computed {
            let base = amount(&tax["base"])?;
            let computed_vat = amount(&tax["amount"])?;
            let key = (tax["tax"].as_i64().unwrap_or_default(), base.is_negative());
            let Some(group) = expected.remove(&key) else {
                return Err(refuse(format!(
                    "Tryton added a tax line `{}` of {computed_vat} on {base} to the invoice for {reference} that the booking does not have.",
                    tax["description"].as_str().unwrap_or_default()
                )));
            };
            if base != group.base {
                return Err(refuse(format!(
                    "Tryton computes the base of {} as {base} for {reference}, but the lines' net amounts add up to {}.",
                    group.name, group.base
                )));
            }
            let difference = (group.vat - computed_vat).abs();
            if difference.is_zero() {
                continue;
            }
            // Rounding per line or per invoice, half up or half even: at most a cent per line.
            let rounding = Money::new(Decimal::new(group.lines, 2));
            if difference > rounding {
                return Err(refuse(format!(
                    "Tryton computes {} of {computed_vat} on {base} for {reference}, but the shop charged {}: more than a rounding difference. Check that [connections.booking.vat_codes] maps this VAT treatment to a Tryton tax with the rate the shop charged, then retry.",
                    group.name, group.vat
                )));
            }
            let shop = group.vat.to_string();
            tracing::info!(
                reference,
                tax = group.name,
                shop,
                "booking VAT as the shop rounded it"
            );
            self.rpc
                .write(
                    "account.invoice.tax",
                    &[id_of(tax)?],
                    json!({"amount": wire::decimal(group.vat.amount())}),
                )
                .await?;
        }
        if let Some(group) = expected.values().find(|group| !group.vat.is_zero()) {
            return Err(refuse(format!(
                "Tryton computes no {} on {} for {reference}, but the shop charged {}. Check the tax's dates and rate in Tryton, then retry.",
                group.name, group.base, group.vat
            )));
        }
        let fields = ["untaxed_amount", "tax_amount", "total_amount"];
        let read = self
            .rpc
            .read("account.invoice", &[invoice], &fields)
            .await?;
        let totals = read.first().cloned().unwrap_or_default();
        let untaxed = amount(&totals["untaxed_amount"])?;
        let vat = amount(&totals["tax_amount"])?;
        let total = amount(&totals["total_amount"])?;
        let net: Money = prepared.lines.iter().map(|line| line.net).sum();
        if (untaxed, vat, total) != (net, prepared.total_vat, prepared.total) {
            return Err(refuse(format!(
                "The invoice for {reference} in Tryton comes to {untaxed} + VAT {vat} = {total}, but the booking is {net} + VAT {} = {}; it is not posted.",
                prepared.total_vat, prepared.total
            )));
        }
        Ok(())
    }

    /// The lines of the posted invoice a credit note corrects, if Tryton has it.
    async fn original_lines(&self, reference: &str) -> Result<Vec<Value>, ConnectorError> {
        let posted = self.posted(reference, EntryKind::SalesEntry).await?;
        let Some(original) = posted.first() else {
            tracing::warn!(
                reference,
                "the corrected invoice is not in Tryton; the credit note is not linked to it"
            );
            return Ok(Vec::new());
        };
        let domain = json!([["invoice", "=", id_of(original)?], ["type", "=", "line"]]);
        self.rpc
            .search_read(
                "account.invoice.line",
                domain,
                &["account", "taxes", "description"],
            )
            .await
    }
}

struct TaxGroup {
    name: String,
    base: Money,
    vat: Money,
    lines: i64,
}

/// The corrected invoice's line most like this credit line: same description and tax, else
/// same account and tax, else its first line. It only links the two invoices.
fn origin_for(originals: &[Value], line: &PreparedLine) -> Option<i64> {
    let same_booking = |original: &&Value| {
        original["account"].as_i64() == Some(line.account) && original["taxes"] == json!([line.tax])
    };
    originals
        .iter()
        .find(|original| {
            same_booking(original) && original["description"] == line.description.as_str()
        })
        .or_else(|| originals.iter().find(same_booking))
        .or_else(|| originals.first())
        .and_then(|original| original["id"].as_i64())
}

fn amount(value: &Value) -> Result<Money, ConnectorError> {
    wire::to_decimal(value).map(Money::new).ok_or_else(|| {
        ConnectorError::transient(
            "Tryton answered with an unreadable amount; ledgerlink will try again.",
            format!("amount {value}"),
        )
    })
}

/// The booking an `account.invoice` record of Tryton's answer stands for.
pub fn booking_ref(invoice: &Value) -> Result<BookingRef, ConnectorError> {
    Ok(BookingRef {
        id: id_of(invoice)?.to_string(),
        number: invoice["number"].as_str().map(str::to_string),
        total: Some(amount(&invoice["total_amount"])?),
    })
}

/// Extra fields as text for an invoice's comment or a line's note: Tryton has no fields of
/// their own for them.
fn extra_text(extra: &BTreeMap<String, String>) -> Option<String> {
    (!extra.is_empty()).then(|| {
        extra
            .iter()
            .map(|(name, value)| format!("{}: {value}", name.replace('_', " ")))
            .collect::<Vec<_>>()
            .join("\n")
    })
}
