//! Exact Online: OAuth 2 with rotating refresh tokens, the per-division rate budget from the
//! `X-RateLimit-*` headers, master data cached per division, customers found or created, and
//! one `POST salesentry/SalesEntries` per document with its lines inline.

mod error_guard;
mod http;
mod master_data;
mod oauth;

use std::sync::Arc;

use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{BookingPlan, ConnectorError, EntryKind, ErrorKind, Money, PlanCustomer};
use ledgerlink_store::audit::Auditor;
use ledgerlink_store::Store;
use serde::Deserialize;
use serde_json::{json, Value};

pub use http::exact_message;
pub use http::RateBudget;
pub use oauth::{authorization_url, refresh_lock, token_record, ExactApp};

use crate::relation::Fingerprint;
use crate::BookingRef;
use http::ExactHttp;
use master_data::MasterData;

/// One Exact Online division reached through one connection's tokens.
#[derive(Clone)]
pub struct ExactTarget {
    http: ExactHttp,
    master: MasterData,
    division: i32,
    /// The app and host a person authorises this connection with.
    app: ExactApp,
    base_url: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExactSettings {
    /// `https://start.exactonline.nl` (or .be, .de, ...); the sandbox's address in tests.
    pub base_url: String,
    pub division: i32,
}

/// The Exact Online user a connection is authorised as (`current/Me`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactUser {
    pub id: String,
    pub name: String,
    /// The division the user works in: where a shop added in the panel books.
    pub division: Option<i32>,
}

impl ExactTarget {
    pub fn new(
        app: ExactApp,
        settings: ExactSettings,
        store: Arc<dyn Store>,
        connection_id: &str,
        timeout: std::time::Duration,
    ) -> Result<Self, ConnectorError> {
        let auditor = Auditor::new(store.clone(), connection_id, "exact");
        let http = ExactHttp::new(
            app.clone(),
            &settings.base_url,
            settings.division,
            store.clone(),
            connection_id,
            auditor,
            timeout,
        )?;
        let master = MasterData::new(store, connection_id, settings.division);
        Ok(ExactTarget {
            http,
            master,
            division: settings.division,
            app,
            base_url: settings.base_url,
        })
    }

    /// The URL that starts the OAuth authorization-code flow for this connection; `state`
    /// comes back on the redirect and must be checked by the caller.
    pub fn authorization_url(&self, state: &str) -> String {
        authorization_url(&self.base_url, &self.app, state)
    }

    /// Exchanges an authorization code (from the OAuth redirect) for the connection's first
    /// tokens and stores them.
    pub async fn connect_with_code(&self, code: &str) -> Result<(), ConnectorError> {
        self.http.tokens().exchange_code(code).await
    }

    /// Who the connection is authorised as: Exact's `UserID` and the user's full name.
    pub async fn connected_user(&self) -> Result<ExactUser, ConnectorError> {
        let me = self.http.current_user().await?;
        let id = me["UserID"].as_str().ok_or_else(|| {
            ConnectorError::transient(
                "Exact Online answered unexpectedly.",
                "current/Me without a UserID",
            )
        })?;
        Ok(ExactUser {
            id: id.to_string(),
            name: me["FullName"].as_str().unwrap_or(id).to_string(),
            division: me["CurrentDivision"]
                .as_i64()
                .and_then(|d| i32::try_from(d).ok()),
        })
    }

    /// The division (company) it books into.
    pub fn division(&self) -> i32 {
        self.division
    }

    pub fn rate_budget(&self) -> Option<RateBudget> {
        self.http.budget()
    }

    /// Looks a booking up by our reference (`YourRef`).
    pub async fn find(
        &self,
        reference: &str,
        kind: EntryKind,
    ) -> Result<Option<BookingRef>, ConnectorError> {
        let filter = format!(
            "YourRef eq '{}' and Type eq {}",
            odata_string(reference),
            entry_type(kind)
        );
        let found = self
            .http
            .get_all(
                self.division,
                "salesentry/SalesEntries",
                &filter,
                "EntryID,EntryNumber,YourRef,Type,AmountFC",
            )
            .await?;
        if found.len() > 1 {
            tracing::error!(
                reference,
                count = found.len(),
                "more than one Exact entry carries this reference"
            );
        }
        found.first().map(booking_ref).transpose()
    }

    /// Looks an e-mailed invoice up by our reference. A draft left by a crash between creating
    /// and processing it is processed now — not created again; a processed one is booked.
    pub async fn find_invoice(
        &self,
        reference: &str,
    ) -> Result<Option<BookingRef>, ConnectorError> {
        let filter = format!("YourRef eq '{}'", odata_string(reference));
        let found = self
            .http
            .get_all(
                self.division,
                "salesinvoice/SalesInvoices",
                &filter,
                "InvoiceID,InvoiceNumber,YourRef,Status,AmountFC",
            )
            .await?;
        let Some(invoice) = found.first() else {
            return Ok(None);
        };
        let id = invoice["InvoiceID"].as_str().unwrap_or_default();
        if invoice["Status"].as_i64() == Some(DRAFT_INVOICE_STATUS) {
            return self.process_invoice(id, invoice).await.map(Some);
        }
        invoice_ref(invoice).map(Some)
    }

    /// Processes a draft invoice, asking Exact to e-mail it to the customer.
    async fn process_invoice(
        &self,
        id: &str,
        invoice: &Value,
    ) -> Result<BookingRef, ConnectorError> {
        let printed = self
            .http
            .post(
                self.division,
                "salesinvoice/PrintedSalesInvoices",
                &json!({ "InvoiceID": id, "SendEmailToCustomer": true }),
            )
            .await?;
        if let Some(error) = printed["EmailCreationError"]
            .as_str()
            .filter(|e| !e.is_empty())
        {
            // Booked all the same: the bookkeeper sends it from Exact.
            tracing::warn!(
                invoice = id,
                error,
                "Exact processed the invoice but sent no e-mail"
            );
        }
        invoice_ref(invoice)
    }

    /// Everything a booking needs before the one call that writes it: master data checked
    /// (Exact blocks an app after ten errors an hour), the customer found or created, the
    /// entry's body built. May wait for the rate budget; posts nothing but a new customer.
    pub async fn prepare(&self, plan: &BookingPlan) -> Result<PreparedEntry, ConnectorError> {
        if plan.reference.chars().count() > YOUR_REF_MAX_CHARS {
            return Err(ConnectorError::config(format!(
                "The reference `{}` is longer than the {YOUR_REF_MAX_CHARS} characters Exact Online keeps in YourRef. Shorten `reference_prefix` in the settings, then retry.",
                plan.reference
            )));
        }
        self.master.ensure_loaded(&self.http).await?;
        let journal = self.master.sales_journal(&self.http, &plan.journal).await?;
        let invoice_item = match (&plan.payment, plan.kind) {
            (Some(payment), EntryKind::SalesEntry) => match &payment.email_invoice_item {
                Some(code) => Some(self.master.item_id(&self.http, code).await?),
                None => None,
            },
            _ => None,
        };
        let mut lines = Vec::with_capacity(plan.lines.len());
        for line in &plan.lines {
            let gl_account = self.master.gl_account_id(&self.http, &line.account).await?;
            let vat_code = self.master.vat_code(&self.http, &line.vat_code).await?;
            let mut body = json!({
                "GLAccount": gl_account,
                "Description": truncate(&line.description, 60),
                "VATCode": vat_code,
                "VATAmountFC": amount_json(line.vat_amount),
            });
            match &invoice_item {
                // An invoice line is an item sold: one unit at the line's net amount, on the
                // line's own account and VAT code.
                Some(item) => {
                    body["Item"] = json!(item);
                    body["Quantity"] = json!(1);
                    body["NetPrice"] = amount_json(line.amount);
                }
                None => body["AmountFC"] = amount_json(line.amount),
            }
            match &invoice_item {
                Some(_) => invoice_line_extras(&mut body, &line.extra),
                None => line_extras(&mut body, &line.extra),
            }
            lines.push(body);
        }
        let customer = self.customer_id(plan).await?;
        let description = match (plan.kind, &plan.corrects_reference) {
            (EntryKind::CreditNote, Some(original)) => {
                format!("{} (credits {original})", plan.description)
            }
            _ => plan.description.clone(),
        };
        let date = format!("{}T00:00:00", plan.entry_date);
        let mut body = match invoice_item {
            Some(_) => json!({
                "Journal": journal,
                "OrderedBy": customer,
                "Type": SALES_INVOICE_TYPE,
                "InvoiceDate": date,
                "Currency": plan.currency.code(),
                "YourRef": plan.reference,
                "Description": truncate(&description, 60),
                "SalesInvoiceLines": lines,
            }),
            None => json!({
                "Journal": journal,
                "Customer": customer,
                "Type": entry_type(plan.kind),
                "EntryDate": date,
                "Currency": plan.currency.code(),
                "YourRef": plan.reference,
                "Description": truncate(&description, 60),
                "SalesEntryLines": lines,
            }),
        };
        // YourRef carries our reference (the key every retry searches by); a merchant's own
        // "your reference" is in the description.
        let invoice = body.get("SalesInvoiceLines").is_some();
        for (extra, field) in [
            ("payment_reference", "PaymentReference"),
            ("external_link_url", "ExternalLinkReference"),
            ("external_link_description", "ExternalLinkDescription"),
        ] {
            // A sales invoice has no external link.
            if invoice && field.starts_with("ExternalLink") {
                continue;
            }
            if let Some(value) = plan.extra.get(extra) {
                body[field] = json!(value);
            }
        }
        if let Some(payment) = &plan.payment {
            if payment.paid && payment.condition.is_none() {
                return Err(ConnectorError::config(
                    "Exact Online registers a payment at once through a payment condition of payment method Cash (e.g. `00`): set `condition` for this payment method under [connections.booking.payment_terms], then retry.",
                ));
            }
            if let Some(condition) = &payment.condition {
                body["PaymentCondition"] = json!(
                    self.master
                        .payment_condition(&self.http, condition, payment.paid)
                        .await?
                );
            }
            if let Some(due) = payment.due_date {
                body["DueDate"] = json!(format!("{due}T00:00:00"));
            }
        }
        Ok(PreparedEntry { body, invoice })
    }

    /// Codes the settings name that this division does not have: (setting, code).
    pub async fn ledger_codes(&self) -> Result<crate::LedgerCodes, ConnectorError> {
        self.master.ledger_codes(&self.http).await
    }

    pub async fn unknown_codes(
        &self,
        accounts: &[(String, String)],
        journals: &[(String, String)],
        vat_codes: &[(String, String)],
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        self.master
            .unknown_codes(&self.http, accounts, journals, vat_codes)
            .await
    }

    /// The one call that writes the booking. A sales invoice is created as a draft and then
    /// processed with the e-mail to the customer; once the draft exists, any failure is
    /// uncertain, so that the next attempt looks it up (and processes it) instead of creating
    /// a second one.
    pub async fn post(&self, entry: &PreparedEntry) -> Result<BookingRef, ConnectorError> {
        if entry.invoice {
            let created = self
                .http
                .post(self.division, "salesinvoice/SalesInvoices", &entry.body)
                .await?;
            let Some(id) = created["InvoiceID"].as_str().filter(|id| !id.is_empty()) else {
                return Err(ConnectorError::uncertain(format!(
                    "sales invoice created without an InvoiceID in the answer: {created}"
                )));
            };
            return self.process_invoice(id, &created).await.map_err(|error| {
                ConnectorError::uncertain(format!(
                    "sales invoice {id} was created but processing it failed: {}",
                    error.internal_cause
                ))
            });
        }
        let created = self
            .http
            .post(self.division, "salesentry/SalesEntries", &entry.body)
            .await?;
        match booking_ref(&created) {
            Ok(booked) if !booked.id.is_empty() => Ok(booked),
            // Exact said it worked but not where: find it by reference.
            _ => Err(ConnectorError::uncertain(format!(
                "sales entry created without an EntryID in the answer: {created}"
            ))),
        }
    }

    /// The relation to book on: from the cache, else found in Exact, else created. A relation
    /// ledgerlink created is kept up to date: when the shop's data changed since, its master
    /// data is updated (one PUT); a relation found in Exact is left as the bookkeeper keeps it.
    async fn customer_id(&self, plan: &BookingPlan) -> Result<String, ConnectorError> {
        let customer = &plan.customer;
        let cache_key = format!(
            "{:?}:{}",
            customer.match_on,
            customer.match_value.to_lowercase()
        );
        let fields = account_fields(customer);
        let fingerprint = Fingerprint::of(customer);
        if let Some((id, known)) = self.master.cached_account(&cache_key).await? {
            let known = known
                .as_deref()
                .filter(|k| !k.is_empty())
                .map(Fingerprint::parse);
            if let (false, Some(known)) = (customer.collective, known) {
                if known.relation != fingerprint.relation {
                    let mut update = fields.clone();
                    self.set_classification(customer, &mut update).await?;
                    self.http
                        .put(self.division, "crm/Accounts", &id, &update)
                        .await?;
                }
                if known.delivery != fingerprint.delivery {
                    self.add_delivery_address(customer, &id).await?;
                }
                if known != fingerprint {
                    self.master
                        .cache_account(&cache_key, &id, &fingerprint.to_string())
                        .await?;
                }
            }
            return Ok(id);
        }
        let filter = match customer.match_on {
            CustomerMatch::Email => format!("Email eq '{}'", odata_string(&customer.match_value)),
            CustomerMatch::VatNumber => {
                format!("VATNumber eq '{}'", odata_string(&customer.match_value))
            }
            // Exact's Code is 18 characters, left-padded with spaces: unpadded never matches.
            CustomerMatch::CustomerNumber => {
                format!("Code eq '{:>18}'", odata_string(&customer.match_value))
            }
        };
        let found = self
            .http
            .get_all(self.division, "crm/Accounts", &filter, "ID,Code,Name")
            .await?;
        let (id, created_here) = match found.first().and_then(|a| a["ID"].as_str()) {
            Some(id) => (id.to_string(), false),
            None if customer.collective => {
                return Err(ConnectorError::config(format!(
                    "The collective relation `{}` does not exist in Exact Online division {}. Create it in Exact or correct `collective_debtor` under [connections.booking.customers.private], then retry.",
                    customer.match_value, self.division
                )))
            }
            None => (self.create_account(customer, fields).await?, true),
        };
        // A relation found in Exact gets no fingerprint: it is never updated from the shop.
        let stored = if created_here {
            fingerprint.to_string()
        } else {
            String::new()
        };
        self.master.cache_account(&cache_key, &id, &stored).await?;
        Ok(id)
    }

    async fn create_account(
        &self,
        customer: &PlanCustomer,
        mut account: Value,
    ) -> Result<String, ConnectorError> {
        account["Status"] = json!("C");
        account["IsSales"] = json!(true);
        if customer.match_on == CustomerMatch::CustomerNumber {
            account["Code"] = json!(format!("{:>18}", customer.match_value));
        }
        self.set_classification(customer, &mut account).await?;
        let created = self
            .http
            .post(self.division, "crm/Accounts", &account)
            .await?;
        let id = created["ID"]
            .as_str()
            .ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::Uncertain,
                    "Exact created the customer but did not return its id.",
                    created.to_string(),
                )
            })?
            .to_string();
        self.add_delivery_address(customer, &id).await?;
        Ok(id)
    }
}

impl ExactTarget {
    /// The relation's classification field, when the rules set one.
    async fn set_classification(
        &self,
        customer: &PlanCustomer,
        account: &mut Value,
    ) -> Result<(), ConnectorError> {
        if let Some(code) = &customer.classification {
            let (field, id) = self.master.classification(&self.http, code).await?;
            account[field] = json!(id);
        }
        Ok(())
    }

    /// The shop's delivery address as a delivery address (type 4) of the relation. A changed
    /// one is added: Exact keeps a relation's delivery addresses side by side.
    async fn add_delivery_address(
        &self,
        customer: &PlanCustomer,
        account: &str,
    ) -> Result<(), ConnectorError> {
        let Some(delivery) = &customer.delivery_address else {
            return Ok(());
        };
        self.http
            .post(
                self.division,
                "crm/Addresses",
                &json!({
                    "Account": account,
                    "Type": DELIVERY_ADDRESS_TYPE,
                    "AddressLine1": truncate(&delivery.line1, 100),
                    "AddressLine2": delivery.line2.as_deref().map(|l| truncate(l, 100)),
                    "Postcode": delivery.postcode,
                    "City": truncate(&delivery.city, 50),
                    "Country": delivery.country.code(),
                }),
            )
            .await?;
        Ok(())
    }
}

/// The relation's fields that come from the shop, as Exact names them.
fn account_fields(customer: &PlanCustomer) -> Value {
    let mut account = json!({
        "Name": truncate(&customer.name, 50),
        "Country": customer.country.code(),
        "AddressLine1": truncate(&customer.address.line1, 100),
        "Postcode": customer.address.postcode,
        "City": truncate(&customer.address.city, 50),
    });
    if let Some(email) = &customer.email {
        account["Email"] = json!(email.as_str());
    }
    if let Some(phone) = &customer.phone {
        account["Phone"] = json!(truncate(phone, 30));
    }
    if let Some(vat) = &customer.vat_number {
        account["VATNumber"] = json!(vat.to_string());
    }
    account
}

fn entry_type(kind: EntryKind) -> i32 {
    match kind {
        EntryKind::SalesEntry => 20,
        EntryKind::CreditNote => 21,
    }
}

/// `Status` of a sales invoice not processed yet.
const DRAFT_INVOICE_STATUS: i64 = 10;

/// The booking a sales invoice of Exact's answer (`salesinvoice/SalesInvoices`) stands for.
pub fn invoice_ref(invoice: &Value) -> Result<BookingRef, ConnectorError> {
    // Built afresh: an answer that is not an object has no fields to set.
    booking_ref(&json!({
        "EntryID": invoice["InvoiceID"],
        "EntryNumber": invoice["InvoiceNumber"],
        "AmountFC": invoice["AmountFC"],
    }))
}

/// The booking a sales entry of Exact's answer (`salesentry/SalesEntries`) stands for.
pub fn booking_ref(entry: &Value) -> Result<BookingRef, ConnectorError> {
    let total = match entry.get("AmountFC").filter(|a| !a.is_null()) {
        Some(amount) => Some(
            amount
                .to_string()
                .trim_matches('"')
                .parse::<rust_decimal::Decimal>()
                .map(Money::new)
                .map_err(|e| {
                    ConnectorError::transient(
                        "Exact Online answered with an unreadable amount.",
                        format!("AmountFC {amount}: {e}"),
                    )
                })?,
        ),
        None => None,
    };
    Ok(BookingRef {
        id: entry["EntryID"].as_str().unwrap_or_default().to_string(),
        number: entry
            .get("EntryNumber")
            .filter(|n| !n.is_null())
            .map(|n| n.to_string().trim_matches('"').to_string()),
        total,
    })
}

/// The entry's body, ready for the one call that writes it.
#[derive(Clone, Debug)]
pub struct PreparedEntry {
    body: Value,
    /// A sales invoice to be processed with an e-mail to the customer, rather than an entry.
    invoice: bool,
}

/// `Type` of a sales invoice (8021 would be a credit invoice, which is never e-mailed here).
const SALES_INVOICE_TYPE: i32 = 8020;

/// `crm/Addresses` type of a delivery address.
const DELIVERY_ADDRESS_TYPE: i32 = 4;

/// Line-level extra fields in Exact's names. A tracking number goes into the notes: Exact's
/// `TrackingNumber` refers to its own tracking-number records, not to free text.
fn line_extras(body: &mut Value, extra: &std::collections::BTreeMap<String, String>) {
    let text_fields = [
        ("serial_number", "SerialNumber"),
        ("intrastat_country", "IntraStatCountry"),
        ("intrastat_commodity_code", "StatisticalNumber"),
        ("intrastat_transaction_a", "IntraStatTransactionA"),
        ("intrastat_transaction_b", "IntraStatTransactionB"),
        ("intrastat_transport_mode", "IntraStatTransportMethod"),
        ("intrastat_delivery_terms", "IntraStatDeliveryTerm"),
    ];
    for (extra_name, field) in text_fields {
        if let Some(value) = extra.get(extra_name) {
            body[field] = json!(value);
        }
    }
    for (extra_name, field) in [
        ("intrastat_statistical_value", "StatisticalValue"),
        ("intrastat_statistical_quantity", "StatisticalQuantity"),
        ("intrastat_net_weight", "StatisticalNetWeight"),
    ] {
        if let Some(value) = extra.get(extra_name) {
            if let Ok(number) = serde_json::from_str::<Value>(value) {
                body[field] = number;
            }
        }
    }
    for (extra_name, field) in [("period_from", "From"), ("period_to", "To")] {
        if let Some(date) = extra.get(extra_name) {
            body[field] = json!(format!("{date}T00:00:00"));
        }
    }
    let notes: Vec<String> = [("notes", ""), ("tracking_number", "Tracking number: ")]
        .iter()
        .filter_map(|(name, label)| extra.get(*name).map(|v| format!("{label}{v}")))
        .collect();
    if !notes.is_empty() {
        body["Notes"] = json!(notes.join("\n"));
    }
}

/// A sales invoice line has only `Notes` of the extra fields (Intrastat and the like come
/// from the item there), so each one is kept in the notes as "name: value".
fn invoice_line_extras(body: &mut Value, extra: &std::collections::BTreeMap<String, String>) {
    let notes: Vec<String> = extra
        .iter()
        .map(|(name, value)| match name.as_str() {
            "notes" => value.clone(),
            _ => format!("{}: {value}", name.replace('_', " ")),
        })
        .collect();
    if !notes.is_empty() {
        body["Notes"] = json!(notes.join("\n"));
    }
}

/// Exact keeps `YourRef` up to this length; a longer reference could never be found again.
const YOUR_REF_MAX_CHARS: usize = 30;

/// OData string literals double their single quotes.
fn odata_string(text: &str) -> String {
    text.replace('\'', "''")
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Exact amounts are Edm.Double on the wire. The JSON number is written from the amount's
/// decimal text, rounded to cents half away from zero; serde_json keeps it as an f64, whose
/// shortest representation gives back exactly those digits for any amount below 2^53 cents.
fn amount_json(amount: Money) -> Value {
    let text = amount.round_cents().amount().normalize().to_string();
    serde_json::from_str(&text).expect("a decimal's text is a valid JSON number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invoice_reads_as_its_booking() {
        let invoice = json!({"InvoiceID": "a1", "InvoiceNumber": 24000002, "AmountFC": "12.10"});
        let booked = invoice_ref(&invoice).unwrap();
        assert_eq!(booked.id, "a1");
        assert_eq!(booked.number.as_deref(), Some("24000002"));
        assert_eq!(booked.total, Some("12.10".parse().unwrap()));
    }

    #[test]
    fn an_invoice_that_is_not_an_object_is_no_booking() {
        // Found by fuzzing: `d.results` holding a number panicked.
        let booked = invoice_ref(&json!(5)).unwrap();
        assert_eq!((booked.id.as_str(), booked.total), ("", None));
    }
}
