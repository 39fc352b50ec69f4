//! The entity sets the sandbox serves, the per-division store, and the business rules Exact
//! applies when records are created or changed.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Months, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::api::ApiError;
use super::invoices::StoredInvoice;
use super::odata::{self, get, round, EntitySet, Kind, Row, Val};
use super::{schema, seed, SalesEntryLineRecord, SalesEntryRecord, SentInvoiceEmail, User};

pub static SALES_ENTRIES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.SalesEntry",
    key: "EntryID",
    fields: schema::SALES_ENTRY,
};
pub static SALES_ENTRY_LINES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.SalesEntryLine",
    key: "ID",
    fields: schema::SALES_ENTRY_LINE,
};
pub static SALES_INVOICES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.SalesInvoice",
    key: "InvoiceID",
    fields: schema::SALES_INVOICE,
};
pub static SALES_INVOICE_LINES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.SalesInvoiceLine",
    key: "ID",
    fields: schema::SALES_INVOICE_LINE,
};
pub static PRINTED_SALES_INVOICES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.PrintedSalesInvoice",
    key: "InvoiceID",
    fields: schema::PRINTED_SALES_INVOICE,
};
pub static ACCOUNTS: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.Account",
    key: "ID",
    fields: schema::ACCOUNT,
};
pub static ITEMS: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.Item",
    key: "ID",
    fields: schema::ITEM,
};
pub static GL_ACCOUNTS: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.GLAccount",
    key: "ID",
    fields: schema::GL_ACCOUNT,
};
pub static JOURNALS: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.Journal",
    key: "ID",
    fields: schema::JOURNAL,
};
pub static VAT_CODES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.VATCode",
    key: "ID",
    fields: schema::VAT_CODE,
};
pub static PAYMENT_CONDITIONS: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.PaymentCondition",
    key: "ID",
    fields: schema::PAYMENT_CONDITION,
};
pub static ACCOUNT_CLASSIFICATION_NAMES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.AccountClassificationName",
    key: "ID",
    fields: schema::ACCOUNT_CLASSIFICATION_NAME,
};
pub static ACCOUNT_CLASSIFICATIONS: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.AccountClassification",
    key: "ID",
    fields: schema::ACCOUNT_CLASSIFICATION,
};
pub static ADDRESSES: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.Models.Address",
    key: "ID",
    fields: schema::ADDRESS,
};
pub static ME: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.System.Me",
    key: "UserID",
    fields: schema::ME,
};
pub static DIVISIONS: EntitySet = EntitySet {
    type_name: "Exact.Web.Api.System.SystemDivision",
    key: "Code",
    fields: schema::SYSTEM_DIVISION,
};

/// An endpoint of the REST API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Me,
    Divisions,
    Accounts,
    AccountClassificationNames,
    AccountClassifications,
    Addresses,
    Items,
    GlAccounts,
    VatCodes,
    Journals,
    SalesEntries,
    SalesEntryLines,
    SalesInvoices,
    SalesInvoiceLines,
    PrintedSalesInvoices,
    PaymentConditions,
}

const RESOURCES: &[(Resource, &str, &str)] = &[
    (Resource::Me, "current", "Me"),
    (Resource::Divisions, "system", "Divisions"),
    (Resource::Accounts, "crm", "Accounts"),
    (
        Resource::AccountClassificationNames,
        "crm",
        "AccountClassificationNames",
    ),
    (
        Resource::AccountClassifications,
        "crm",
        "AccountClassifications",
    ),
    (Resource::Addresses, "crm", "Addresses"),
    (Resource::Items, "logistics", "Items"),
    (Resource::GlAccounts, "financial", "GLAccounts"),
    (Resource::VatCodes, "vat", "VATCodes"),
    (Resource::Journals, "financial", "Journals"),
    (Resource::SalesEntries, "salesentry", "SalesEntries"),
    (Resource::SalesEntryLines, "salesentry", "SalesEntryLines"),
    (Resource::SalesInvoices, "salesinvoice", "SalesInvoices"),
    (
        Resource::SalesInvoiceLines,
        "salesinvoice",
        "SalesInvoiceLines",
    ),
    (
        Resource::PrintedSalesInvoices,
        "salesinvoice",
        "PrintedSalesInvoices",
    ),
    (Resource::PaymentConditions, "cashflow", "PaymentConditions"),
];

impl Resource {
    /// Service names are matched case-insensitively (like URL paths on IIS), entity-set names
    /// exactly (OData).
    pub fn lookup(service: &str, entity: &str) -> Option<Resource> {
        RESOURCES
            .iter()
            .find(|(_, s, e)| s.eq_ignore_ascii_case(service) && *e == entity)
            .map(|(r, _, _)| *r)
    }

    /// `service/Entity` as it appears in URLs.
    pub fn path(self) -> String {
        let (_, service, entity) = RESOURCES
            .iter()
            .find(|(r, _, _)| *r == self)
            .expect("every resource is listed");
        format!("{service}/{entity}")
    }

    pub fn set(self) -> &'static EntitySet {
        match self {
            Resource::Me => &ME,
            Resource::Divisions => &DIVISIONS,
            Resource::Accounts => &ACCOUNTS,
            Resource::AccountClassificationNames => &ACCOUNT_CLASSIFICATION_NAMES,
            Resource::AccountClassifications => &ACCOUNT_CLASSIFICATIONS,
            Resource::Addresses => &ADDRESSES,
            Resource::Items => &ITEMS,
            Resource::GlAccounts => &GL_ACCOUNTS,
            Resource::VatCodes => &VAT_CODES,
            Resource::Journals => &JOURNALS,
            Resource::SalesEntries => &SALES_ENTRIES,
            Resource::SalesEntryLines => &SALES_ENTRY_LINES,
            Resource::SalesInvoices => &SALES_INVOICES,
            Resource::SalesInvoiceLines => &SALES_INVOICE_LINES,
            Resource::PrintedSalesInvoices => &PRINTED_SALES_INVOICES,
            Resource::PaymentConditions => &PAYMENT_CONDITIONS,
        }
    }

    /// The navigation property holding a document's lines, and the lines' own resource.
    pub fn lines(self) -> Option<(&'static str, Resource)> {
        match self {
            Resource::SalesEntries => Some(("SalesEntryLines", Resource::SalesEntryLines)),
            Resource::SalesInvoices => Some(("SalesInvoiceLines", Resource::SalesInvoiceLines)),
            _ => None,
        }
    }
}

/// Who acts, and when (emulator clock).
pub struct Ctx<'a> {
    pub now: i64,
    pub user: &'a User,
}

impl Ctx<'_> {
    pub fn stamp_created(&self, row: &mut Row, division: i32) {
        row.insert("Division", Val::Int(i64::from(division)));
        row.insert("Created", Val::Date(self.now));
        row.insert("Creator", Val::Guid(self.user.id));
        row.insert("CreatorFullName", Val::str(&self.user.full_name));
        self.stamp_modified(row);
    }

    pub fn stamp_modified(&self, row: &mut Row) {
        row.insert("Modified", Val::Date(self.now));
        row.insert("Modifier", Val::Guid(self.user.id));
        row.insert("ModifierFullName", Val::str(&self.user.full_name));
    }
}

pub struct StoredEntry {
    pub record: SalesEntryRecord,
    pub header: Row,
    pub lines: Vec<Row>,
    pub deleted: bool,
}

/// `Status` of a booked entry that can still be changed, and of one that cannot.
pub const ENTRY_OPEN: i64 = 20;
pub const ENTRY_PROCESSED: i64 = 50;

/// Entries booked by processing a sales invoice are processed, and "processed invoices can't
/// be changed anymore".
fn check_unprocessed(entry: &StoredEntry) -> Result<(), ApiError> {
    if entry.header.get("Status") == Some(&Val::Int(ENTRY_PROCESSED)) {
        return Err(bad_request(format!(
            "Invalid: entry {} is processed (Status 50) and can't be changed anymore",
            entry.record.entry_number
        )));
    }
    Ok(())
}

/// One administration ("division") and everything in it.
pub struct Division {
    pub code: i32,
    pub name: String,
    pub currency: String,
    pub created_ms: i64,
    /// The owner account of the division (`DivisionCustomer`).
    pub owner: Uuid,
    pub accounts: Vec<Row>,
    pub classification_names: Vec<Row>,
    pub classifications: Vec<Row>,
    pub addresses: Vec<Row>,
    pub payment_conditions: Vec<Row>,
    pub items: Vec<Row>,
    pub gl_accounts: Vec<Row>,
    pub vat_codes: Vec<Row>,
    pub journals: Vec<Row>,
    pub entries: Vec<StoredEntry>,
    /// Last entry number used per (journal code, financial year); processed sales invoices
    /// take their numbers from the same free numbers.
    pub entry_numbers: HashMap<(String, i32), i64>,
    pub invoices: Vec<StoredInvoice>,
    /// Every invoice e-mail processing sent, in order.
    pub invoice_emails: Vec<SentInvoiceEmail>,
}

/// Currencies the sandbox's currency table knows.
pub(super) const CURRENCIES: &[&str] = &[
    "EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "HUF", "RON", "BGN", "JPY",
    "CAD", "AUD",
];

/// G/L account types a sales entry line may not use (Exact: "Invalid: G/L account type"):
/// cash, bank, credit card, payment services, receivables, prepayments, payables, VAT.
const FORBIDDEN_LINE_GL_TYPES: &[i64] = &[10, 12, 14, 16, 20, 21, 22, 24];

/// Longest `YourRef` Exact stores.
pub const YOUR_REF_MAX: usize = 30;

/// Properties Exact computes itself: values sent by a client are ignored.
const ENTRY_COMPUTED: &[&str] = &[
    "EntryID",
    "AmountDC",
    "Created",
    "Creator",
    "CreatorFullName",
    "CustomerName",
    "Division",
    "EntryNumber",
    "InvoiceNumber",
    "JournalDescription",
    "Modified",
    "Modifier",
    "ModifierFullName",
    "PaymentConditionDescription",
    "PaymentConditionPaymentMethod",
    "Status",
    "StatusDescription",
    "TypeDescription",
    "VATAmountDC",
];

/// Header properties an update may change.
const ENTRY_UPDATABLE: &[&str] = &[
    "Description",
    "YourRef",
    "EntryDate",
    "DueDate",
    "PaymentReference",
    "PaymentCondition",
    "OrderNumber",
    "Document",
    "ExternalLinkReference",
    "ExternalLinkDescription",
];

/// Account properties Exact maintains itself: an update leaves them as they are.
const ACCOUNT_COMPUTED: &[&str] = &[
    "ID",
    "CountryName",
    "Created",
    "Creator",
    "CreatorFullName",
    "Division",
    "Modified",
    "Modifier",
    "ModifierFullName",
    "Type",
];

/// Account properties referring to a classification; the N-th takes classifications under the
/// classification name with `SequenceNumber` N.
const CLASSIFICATION_FIELDS: [&str; 8] = [
    "Classification1",
    "Classification2",
    "Classification3",
    "Classification4",
    "Classification5",
    "Classification6",
    "Classification7",
    "Classification8",
];

pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// SQL-collation equality (case-insensitive, trailing spaces ignored).
pub(super) fn same_text(a: &str, b: &str) -> bool {
    a.trim_end().eq_ignore_ascii_case(b.trim_end())
}

pub(super) fn text<'r>(row: &'r Row, name: &str) -> Option<&'r str> {
    row.get(name).and_then(Val::as_str)
}

pub(super) fn midnight(ms: i64) -> i64 {
    ms - ms.rem_euclid(86_400_000)
}

/// Checks `Country` (a two-letter code in any case); returns it upper-cased, `None` when empty.
fn check_country(row: &Row, errors: &mut Vec<String>) -> Option<String> {
    match text(row, "Country").map(str::trim) {
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        Some("") | None => None,
        Some(c) => {
            errors.push(format!("Invalid reference: Country '{c}'"));
            None
        }
    }
}

/// Stores a country checked by [`check_country`] with its Dutch `CountryName`.
fn set_country(row: &mut Row, country: Option<String>) {
    match country {
        Some(c) => {
            row.insert("CountryName", Val::opt_str(seed::country_name(&c)));
            row.insert("Country", Val::Str(c));
        }
        None => {
            row.insert("Country", Val::Null);
            row.insert("CountryName", Val::Null);
        }
    }
}

/// Sets `PaymentCondition` and the properties Exact copies from the condition.
pub(super) fn set_payment_condition(header: &mut Row, condition: Option<&Row>) {
    let copy = |name| condition.map_or(Val::Null, |c| get(c, name, Kind::Str));
    header.insert("PaymentCondition", copy("Code"));
    header.insert("PaymentConditionDescription", copy("Description"));
    header.insert("PaymentConditionPaymentMethod", copy("PaymentMethod"));
}

/// The due date a payment condition gives, as the reference describes it: first
/// `PaymentEndOfMonths` month endings (17/01 with 2 → 31/03), then `PaymentDays` days
/// (15 → 15/04).
pub(super) fn due_date(entry_date: i64, condition: &Row) -> i64 {
    let count = |name| condition.get(name).and_then(Val::as_int).unwrap_or(0);
    let mut date = date_of(entry_date).date_naive();
    if let Ok(months @ 1..) = u32::try_from(count("PaymentEndOfMonths")) {
        // The day before the first of the month after the target month.
        date = date
            .with_day(1)
            .and_then(|first| first.checked_add_months(Months::new(months + 1)))
            .and_then(|next| next.pred_opt())
            .unwrap_or(date);
    }
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis() + count("PaymentDays") * 86_400_000
}

pub(super) fn date_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Reads a request body's properties into a row, rejecting what Exact's OData layer rejects:
/// unknown property names and values of the wrong type. Collections named in `nested` are left
/// for the caller.
pub fn parse_props(
    set: &EntitySet,
    body: &Map<String, Value>,
    nested: &[&str],
) -> Result<Row, ApiError> {
    let mut row = Row::new();
    for (name, value) in body {
        if name == "__metadata" || nested.contains(&name.as_str()) {
            continue;
        }
        let (field, kind) = set.field(name).ok_or_else(|| {
            bad_request(format!(
                "Error processing request stream. The property '{name}' does not exist on type \
                 '{}'. Make sure to only use property names that are defined by the type.",
                set.type_name
            ))
        })?;
        if matches!(kind, Kind::Collection) {
            return Err(bad_request(format!(
                "Error processing request stream. Inserting '{name}' together with a \
                 '{}' is not supported.",
                set.type_name
            )));
        }
        let parsed = Val::from_json(kind, value).map_err(|edm| {
            bad_request(format!(
                "Error processing request stream. The value of property '{name}' cannot be \
                 converted to type '{edm}'."
            ))
        })?;
        row.insert(field, parsed);
    }
    Ok(row)
}

/// The objects of a nested line collection (`SalesEntryLines`, …) of a POST body; none when
/// absent.
pub(super) fn nested_lines<'b>(
    body: &'b Map<String, Value>,
    name: &str,
    lines: &EntitySet,
) -> Result<Vec<&'b Map<String, Value>>, ApiError> {
    let line_type = lines.type_name.rsplit('.').next().unwrap_or_default();
    match body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| {
                v.as_object().ok_or_else(|| {
                    bad_request(format!(
                        "Error processing request stream. Each element of {name} must be a \
                         {line_type} object."
                    ))
                })
            })
            .collect(),
        Some(_) => Err(bad_request(format!(
            "Error processing request stream. {name} must be an array of {line_type} objects."
        ))),
    }
}

/// A line of a sales entry after validation.
pub(super) struct CheckedLine {
    /// The line's own properties (`Description`, `Quantity`, `Notes`, …).
    pub props: Row,
    pub gl: Row,
    pub vat: Option<Row>,
    /// Excluding VAT.
    pub amount: Decimal,
    pub vat_amount: Decimal,
}

/// The VAT of a line: the `VATAmountFC` sent, else the code's percentage of `amount` for codes
/// that charge VAT on top ("E").
pub(super) fn line_vat_amount(props: &Row, amount: Decimal, vat: Option<&Row>) -> Decimal {
    match props.get("VATAmountFC").and_then(Val::as_num) {
        Some(given) => round(given, 2),
        None => vat
            .filter(|v| text(v, "Type") == Some("E"))
            .and_then(|v| v.get("Percentage").and_then(Val::as_num))
            .map_or(Decimal::ZERO, |pct| round(amount * pct, 2)),
    }
}

pub(super) fn valid_email(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
}

pub(super) fn entry_type_description(entry_type: i64) -> &'static str {
    if entry_type == 21 {
        "Sales credit note"
    } else {
        "Sales entry"
    }
}

pub(super) fn check_your_ref(your_ref: Option<&str>, errors: &mut Vec<String>) {
    if your_ref.is_some_and(|r| r.chars().count() > YOUR_REF_MAX) {
        errors.push(format!(
            "Invalid: YourRef is longer than {YOUR_REF_MAX} characters"
        ));
    }
}

/// The `SalesEntryLines` rows of entry `entry_id` and their records; a line without its own
/// description takes the entry's.
pub(super) fn entry_lines(
    division: i32,
    entry_id: Uuid,
    entry_type: i64,
    rate: Decimal,
    description: Option<&str>,
    lines: Vec<CheckedLine>,
) -> (Vec<Row>, Vec<SalesEntryLineRecord>) {
    let mut line_rows = Vec::new();
    let mut line_records = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        let CheckedLine {
            mut props,
            gl,
            vat,
            amount,
            vat_amount,
        } = line;
        let line_description = text(&props, "Description")
            .or(description)
            .map(str::to_string);
        props.insert("ID", Val::Guid(Uuid::new_v4()));
        props.insert("EntryID", Val::Guid(entry_id));
        props.insert("Division", Val::Int(i64::from(division)));
        props.insert("LineNumber", Val::Int(index as i64 + 1));
        props.insert("Type", Val::Int(entry_type));
        props.insert("GLAccount", gl["ID"].clone());
        props.insert("GLAccountCode", gl["Code"].clone());
        props.insert("GLAccountDescription", gl["Description"].clone());
        props.insert("AmountFC", Val::Num(amount));
        props.insert("AmountDC", Val::Num(round(amount * rate, 2)));
        props.insert("VATAmountFC", Val::Num(vat_amount));
        props.insert("VATAmountDC", Val::Num(round(vat_amount * rate, 2)));
        props.insert("VATBaseAmountFC", Val::Num(amount));
        props.insert("VATBaseAmountDC", Val::Num(round(amount * rate, 2)));
        props.insert("Description", Val::opt_str(line_description.as_deref()));
        match &vat {
            Some(v) => {
                props.insert("VATCode", v["Code"].clone());
                props.insert("VATCodeDescription", v["Description"].clone());
                props.insert("VATPercentage", get(v, "Percentage", Kind::Double));
            }
            None => {
                props.insert("VATCode", Val::Null);
                props.insert("VATCodeDescription", Val::Null);
                props.insert("VATPercentage", Val::Num(Decimal::ZERO));
            }
        }
        line_records.push(SalesEntryLineRecord {
            gl_account: gl["ID"].as_guid().expect("G/L accounts have an ID"),
            amount_fc: amount,
            vat_code: vat
                .as_ref()
                .and_then(|v| text(v, "Code"))
                .map(|c| c.trim().to_string()),
            vat_amount_fc: vat_amount,
            description: line_description,
        });
        line_rows.push(props);
    }
    (line_rows, line_records)
}

impl Division {
    pub fn find<'r>(rows: &'r [Row], key: &str, id: Uuid) -> Option<&'r Row> {
        rows.iter().find(|r| r.get(key) == Some(&Val::Guid(id)))
    }

    /// The payment condition a `PaymentCondition` value names, `None` when it names none; an
    /// unknown code is an error.
    pub(super) fn check_payment_condition(
        &self,
        value: Option<&Val>,
        errors: &mut Vec<String>,
    ) -> Option<Row> {
        let code = value
            .and_then(Val::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty())?;
        let found = self
            .payment_conditions
            .iter()
            .find(|r| text(r, "Code").is_some_and(|c| same_text(c, code)));
        if found.is_none() {
            errors.push(format!("Invalid reference: PaymentCondition '{code}'"));
        }
        found.cloned()
    }

    pub(super) fn vat_code(&self, code: &str) -> Option<&Row> {
        self.vat_codes
            .iter()
            .find(|r| text(r, "Code").is_some_and(|c| same_text(c, code)))
    }

    /// The sales entry a credit note (type 21) of `customer` credits: the earliest live type-20
    /// entry of the customer with the same `YourRef` (see `SalesEntryRecord::original_entry`).
    pub(super) fn original_entry(
        &self,
        customer: Uuid,
        your_ref: Option<&str>,
        entry_type: i64,
    ) -> Option<Uuid> {
        let your_ref = your_ref.filter(|_| entry_type == 21)?;
        self.entries
            .iter()
            .find(|e| {
                !e.deleted
                    && e.record.entry_type == 20
                    && e.record.customer == customer
                    && e.record
                        .your_ref
                        .as_deref()
                        .is_some_and(|o| same_text(o, your_ref))
            })
            .map(|e| e.record.entry_id)
    }

    pub fn entry(&self, id: Uuid) -> Option<&StoredEntry> {
        self.entries
            .iter()
            .find(|e| !e.deleted && e.record.entry_id == id)
    }

    /// The lines of the live document `id` of `resource` (an entry or an invoice).
    pub fn lines_of(&self, resource: Resource, id: Uuid) -> Option<&[Row]> {
        match resource {
            Resource::SalesEntries => self.entry(id).map(|e| e.lines.as_slice()),
            Resource::SalesInvoices => self.invoice(id).map(|i| i.lines.as_slice()),
            _ => None,
        }
    }

    /// All rows of a division-scoped resource as the API lists them.
    pub fn rows(&self, resource: Resource) -> Vec<Row> {
        match resource {
            Resource::Accounts => self.accounts.clone(),
            Resource::AccountClassificationNames => self.classification_names.clone(),
            Resource::AccountClassifications => self.classifications.clone(),
            Resource::Addresses => self.addresses.clone(),
            Resource::PaymentConditions => self.payment_conditions.clone(),
            Resource::Items => self.items.clone(),
            Resource::GlAccounts => self.gl_accounts.clone(),
            Resource::VatCodes => self.vat_codes.clone(),
            Resource::Journals => self.journals.clone(),
            Resource::SalesEntries => self
                .entries
                .iter()
                .filter(|e| !e.deleted)
                .map(|e| e.header.clone())
                .collect(),
            Resource::SalesEntryLines => self
                .entries
                .iter()
                .filter(|e| !e.deleted)
                .flat_map(|e| e.lines.iter().cloned())
                .collect(),
            Resource::SalesInvoices => self
                .invoices
                .iter()
                .filter(|i| !i.deleted)
                .map(|i| i.header.clone())
                .collect(),
            Resource::SalesInvoiceLines => self
                .invoices
                .iter()
                .filter(|i| !i.deleted)
                .flat_map(|i| i.lines.iter().cloned())
                .collect(),
            Resource::Me | Resource::Divisions | Resource::PrintedSalesInvoices => Vec::new(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // crm/Accounts
    // -----------------------------------------------------------------------------------------

    /// POST crm/Accounts. `Code` is stored left-padded with spaces to 18 characters; without one
    /// the next free number is assigned.
    pub fn create_account(
        &mut self,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<Row, ApiError> {
        let mut row = parse_props(&ACCOUNTS, body, &[])?;
        self.check_account(&mut row, None)?;
        row.insert("ID", Val::Guid(Uuid::new_v4()));
        row.insert("Type", Val::str("A"));
        ctx.stamp_created(&mut row, self.code);
        self.accounts.push(row.clone());
        Ok(row)
    }

    /// PUT crm/Accounts(guid'…'): the properties sent replace the stored ones, then the account
    /// is validated as a whole, as on creation.
    pub fn update_account(
        &mut self,
        id: Uuid,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(), ApiError> {
        let changes = parse_props(&ACCOUNTS, body, &[])?;
        let index = self
            .accounts
            .iter()
            .position(|r| r.get("ID") == Some(&Val::Guid(id)))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("Account {id} was not found."),
                )
            })?;
        let mut row = self.accounts[index].clone();
        for (name, value) in changes {
            if !ACCOUNT_COMPUTED.contains(&name) {
                row.insert(name, value);
            }
        }
        self.check_account(&mut row, Some(id))?;
        ctx.stamp_modified(&mut row);
        self.accounts[index] = row;
        Ok(())
    }

    /// Validates an account as it is to be stored and normalises `Code` (padded) and `Country`
    /// (with `CountryName`). `id` is the account's own ID when it already exists.
    fn check_account(&self, row: &mut Row, id: Option<Uuid>) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        match text(row, "Name").map(str::trim) {
            Some(name) if !name.is_empty() => {}
            _ => errors.push("Mandatory: Name".to_string()),
        }
        let others: Vec<String> = self
            .accounts
            .iter()
            .filter(|r| id.is_none_or(|id| r.get("ID") != Some(&Val::Guid(id))))
            .filter_map(|r| text(r, "Code").map(|c| c.trim().to_string()))
            .collect();
        let code = match text(row, "Code").map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) if code.len() > 18 => {
                errors.push(format!(
                    "Invalid: Code '{code}' is longer than 18 characters"
                ));
                None
            }
            Some(code) if !code.chars().all(|c| c.is_ascii_digit()) => {
                errors.push(format!(
                    "Invalid: Code '{code}' (account codes are numeric)"
                ));
                None
            }
            Some(code) if others.iter().any(|c| c == code) => {
                errors.push(format!("Duplicate: Code '{code}' already exists"));
                None
            }
            Some(code) => Some(code.to_string()),
            // Only a PUT clearing the code gets here for an existing account.
            None if id.is_some() => {
                errors.push("Mandatory: Code".to_string());
                None
            }
            None => {
                let next = others
                    .iter()
                    .filter_map(|c| c.parse::<u64>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                Some(next.to_string())
            }
        };
        if let Some(status) = text(row, "Status") {
            if !["A", "S", "P", "C"].contains(&status) {
                errors.push(format!(
                    "Invalid: Status '{status}' (A = none, S = suspect, P = prospect, C = customer)"
                ));
            }
        }
        let country = check_country(row, &mut errors);
        if let Some(email) = text(row, "Email").filter(|e| !e.is_empty()) {
            if !valid_email(email) {
                errors.push(format!("Invalid: Email '{email}'"));
            }
        }
        self.check_classifications(row, &mut errors);
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }
        let code = code.expect("a code is assigned when there are no errors");
        row.insert("Code", Val::str(format!("{code:>18}")));
        set_country(row, country);
        Ok(())
    }

    /// `ClassificationN` must be the ID of a classification under the classification name with
    /// sequence number N.
    fn check_classifications(&self, row: &Row, errors: &mut Vec<String>) {
        for (number, field) in (1..).zip(CLASSIFICATION_FIELDS) {
            let Some(id) = row.get(field).and_then(Val::as_guid) else {
                continue;
            };
            let Some(classification) = Self::find(&self.classifications, "ID", id) else {
                errors.push(format!(
                    "Invalid reference: {field} {id} is not an account classification"
                ));
                continue;
            };
            let name = classification
                .get("AccountClassificationName")
                .and_then(Val::as_guid)
                .and_then(|name| Self::find(&self.classification_names, "ID", name));
            let sequence = name
                .and_then(|n| n.get("SequenceNumber"))
                .and_then(Val::as_int);
            if sequence != Some(number) {
                errors.push(format!(
                    "Invalid reference: {field} {id} ('{}') belongs to account classification \
                     name '{}', not to classification {number}",
                    text(classification, "Code").unwrap_or_default(),
                    text(classification, "AccountClassificationNameDescription")
                        .unwrap_or_default()
                ));
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // crm/Addresses
    // -----------------------------------------------------------------------------------------

    /// POST crm/Addresses: `Account` and `Type` are mandatory. The first address of a type is
    /// the account's main one for that type; a later one sent with `Main: true` takes over.
    pub fn create_address(
        &mut self,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<Row, ApiError> {
        let mut row = parse_props(&ADDRESSES, body, &[])?;
        let mut errors = Vec::new();
        let account = match row.get("Account").and_then(Val::as_guid) {
            None => {
                errors.push("Mandatory: Account".to_string());
                None
            }
            Some(id) => match Self::find(&self.accounts, "ID", id) {
                None => {
                    errors.push(format!("Invalid reference: Account {id}"));
                    None
                }
                Some(account) => Some(account.clone()),
            },
        };
        let address_type = match row.get("Type") {
            None | Some(Val::Null) => {
                errors.push("Mandatory: Type".to_string());
                None
            }
            Some(Val::Int(t @ 1..=4)) => Some(*t),
            Some(other) => {
                errors.push(format!(
                    "Invalid: Type {} (1 = visit, 2 = postal, 3 = invoice, 4 = delivery)",
                    other.to_json()
                ));
                None
            }
        };
        // The sandbox holds no contacts or warehouses, so any reference to one dangles.
        for field in ["Contact", "Warehouse"] {
            if let Some(id) = row.get(field).and_then(Val::as_guid) {
                errors.push(format!("Invalid reference: {field} {id}"));
            }
        }
        let country = check_country(&row, &mut errors);
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }
        let account = account.expect("validated");
        let address_type = address_type.expect("validated");
        let account_id = account["ID"].clone();
        let same_kind = |r: &Row| {
            r.get("Account") == Some(&account_id) && r.get("Type") == Some(&Val::Int(address_type))
        };
        let main = match row.get("Main") {
            Some(Val::Bool(main)) => *main,
            _ => !self.addresses.iter().any(same_kind),
        };
        if main {
            for other in self.addresses.iter_mut().filter(|r| same_kind(r)) {
                other.insert("Main", Val::Bool(false));
            }
        }
        row.insert("ID", Val::Guid(Uuid::new_v4()));
        row.insert("Main", Val::Bool(main));
        row.insert("AccountName", get(&account, "Name", Kind::Str));
        row.insert("AccountIsSupplier", get(&account, "IsSupplier", Kind::Bool));
        set_country(&mut row, country);
        ctx.stamp_created(&mut row, self.code);
        self.addresses.push(row.clone());
        Ok(row)
    }

    // -----------------------------------------------------------------------------------------
    // logistics/Items
    // -----------------------------------------------------------------------------------------

    /// POST logistics/Items: `Code` and `Description` are mandatory, `Code` is unique.
    pub fn create_item(&mut self, body: &Map<String, Value>, ctx: &Ctx) -> Result<Row, ApiError> {
        let mut row = parse_props(&ITEMS, body, &[])?;
        let mut errors = Vec::new();
        match text(&row, "Code").map(str::trim) {
            None | Some("") => errors.push("Mandatory: Code".to_string()),
            Some(code) if code.chars().count() > 30 => errors.push(format!(
                "Invalid: Code '{code}' is longer than 30 characters"
            )),
            Some(code) => {
                if self
                    .items
                    .iter()
                    .any(|r| text(r, "Code").is_some_and(|c| same_text(c, code)))
                {
                    errors.push(format!("Duplicate: Code '{code}' already exists"));
                }
            }
        }
        if text(&row, "Description").is_none_or(|d| d.trim().is_empty()) {
            errors.push("Mandatory: Description".to_string());
        }
        let revenue = match row.get("GLRevenue").and_then(Val::as_guid) {
            Some(id) => match Self::find(&self.gl_accounts, "ID", id) {
                Some(gl) => Some(gl.clone()),
                None => {
                    errors.push("Invalid reference: GLRevenue".to_string());
                    None
                }
            },
            None => None,
        };
        let vat = match text(&row, "SalesVatCode")
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(code) => match self.vat_code(code) {
                Some(v) => Some(v.clone()),
                None => {
                    errors.push(format!("Invalid reference: SalesVatCode '{code}'"));
                    None
                }
            },
            None => None,
        };
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }
        row.insert("ID", Val::Guid(Uuid::new_v4()));
        if let Some(gl) = revenue {
            row.insert("GLRevenueCode", gl["Code"].clone());
            row.insert("GLRevenueDescription", gl["Description"].clone());
        }
        if let Some(v) = vat {
            row.insert("SalesVatCode", v["Code"].clone());
            row.insert("SalesVatCodeDescription", v["Description"].clone());
        }
        row.entry("IsSalesItem").or_insert(Val::Bool(true));
        ctx.stamp_created(&mut row, self.code);
        self.items.push(row.clone());
        Ok(row)
    }

    // -----------------------------------------------------------------------------------------
    // salesentry/SalesEntries
    // -----------------------------------------------------------------------------------------

    /// The G/L account `id` of line `number` of a `line_kind` ("sales entry line"): it must
    /// exist, be a profit-and-loss or general account and not be blocked.
    pub(super) fn check_line_gl(
        &self,
        id: Uuid,
        number: usize,
        line_kind: &str,
        errors: &mut Vec<String>,
    ) -> Option<Row> {
        let Some(gl) = Self::find(&self.gl_accounts, "ID", id) else {
            errors.push(format!("Invalid reference: GLAccount {id} (line {number})"));
            return None;
        };
        let gl_type = gl.get("Type").and_then(Val::as_int).unwrap_or_default();
        if FORBIDDEN_LINE_GL_TYPES.contains(&gl_type) {
            errors.push(format!(
                "Invalid: G/L account type (line {number}: {} {} is a {} account and cannot be \
                 used on a {line_kind})",
                text(gl, "Code").unwrap_or_default(),
                text(gl, "Description").unwrap_or_default(),
                seed::gl_type_description(gl_type).to_lowercase()
            ));
        }
        if gl.get("IsBlocked") == Some(&Val::Bool(true)) {
            errors.push(format!("Blocked: GLAccount (line {number})"));
        }
        Some(gl.clone())
    }

    /// The VAT code `code` of line `number`: it must exist, be a sales code and not be blocked.
    pub(super) fn check_line_vat(
        &self,
        code: &str,
        number: usize,
        errors: &mut Vec<String>,
    ) -> Option<Row> {
        let Some(v) = self.vat_code(code) else {
            errors.push(format!(
                "Invalid reference: VATCode '{code}' (line {number})"
            ));
            return None;
        };
        if text(v, "VATTransactionType") == Some("P") {
            errors.push(format!(
                "Invalid: VATCode '{code}' is a purchase VAT code (line {number})"
            ));
        }
        if v.get("IsBlocked") == Some(&Val::Bool(true)) {
            errors.push(format!("Blocked: VATCode '{code}' (line {number})"));
        }
        Some(v.clone())
    }

    fn check_line(
        &self,
        number: usize,
        value: &Map<String, Value>,
        errors: &mut Vec<String>,
    ) -> Result<Option<CheckedLine>, ApiError> {
        let mut props = parse_props(&SALES_ENTRY_LINES, value, &[])?;
        let start = errors.len();
        // `From`/`To` bound the accrual period in days, like `EntryDate`.
        for name in ["From", "To"] {
            if let Some(ms) = props.get(name).and_then(Val::as_date) {
                props.insert(name, Val::Date(midnight(ms)));
            }
        }
        if let (Some(from), Some(to)) = (
            props.get("From").and_then(Val::as_date),
            props.get("To").and_then(Val::as_date),
        ) {
            if from > to {
                errors.push(format!("Invalid: From is after To (line {number})"));
            }
        }
        let gl = match props.get("GLAccount").and_then(Val::as_guid) {
            None => {
                errors.push(format!("Mandatory: GLAccount (line {number})"));
                None
            }
            Some(id) => self.check_line_gl(id, number, "sales entry line", errors),
        };
        let amount = match props.get("AmountFC").and_then(Val::as_num) {
            Some(a) => Some(round(a, 2)),
            None => {
                errors.push(format!("Mandatory: AmountFC (line {number})"));
                None
            }
        };
        let requested_code = text(&props, "VATCode")
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let default_code = gl
            .as_ref()
            .and_then(|g| text(g, "VATCode"))
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let vat = requested_code
            .or(default_code)
            .and_then(|code| self.check_line_vat(code, number, errors));
        if errors.len() > start {
            return Ok(None);
        }
        let (Some(gl), Some(amount)) = (gl, amount) else {
            return Ok(None);
        };
        let vat_amount = line_vat_amount(&props, amount, vat.as_ref());
        Ok(Some(CheckedLine {
            props,
            gl,
            vat,
            amount,
            vat_amount,
        }))
    }

    /// The sales journal with `code`: it must exist, be a sales (or return invoice) journal and
    /// not be blocked.
    pub(super) fn check_sales_journal(&self, code: &str, errors: &mut Vec<String>) -> Option<Row> {
        let Some(j) = self
            .journals
            .iter()
            .find(|j| text(j, "Code").is_some_and(|c| same_text(c, code)))
        else {
            errors.push(format!("Invalid reference: Journal '{code}'"));
            return None;
        };
        let journal_type = j.get("Type").and_then(Val::as_int).unwrap_or_default();
        if !matches!(journal_type, 20 | 21) {
            errors.push(format!(
                "Invalid: Journal '{code}' ({}) is not a sales journal",
                text(j, "Description").unwrap_or_default()
            ));
        }
        if j.get("IsBlocked") == Some(&Val::Bool(true)) {
            errors.push(format!("Blocked: Journal '{code}'"));
        }
        Some(j.clone())
    }

    /// The account a customer property (`field`) names: mandatory, existing, not blocked.
    pub(super) fn check_customer(
        &self,
        field: &str,
        id: Option<Uuid>,
        errors: &mut Vec<String>,
    ) -> Option<Row> {
        let Some(id) = id else {
            errors.push(format!("Mandatory: {field}"));
            return None;
        };
        let Some(account) = Self::find(&self.accounts, "ID", id) else {
            errors.push(format!("Invalid reference: {field} {id}"));
            return None;
        };
        if account.get("Blocked") == Some(&Val::Bool(true)) {
            errors.push(format!("Blocked: {field}"));
        }
        Some(account.clone())
    }

    pub(super) fn next_entry_number(&mut self, journal: &str, year: i32) -> i64 {
        let seq = self
            .entry_numbers
            .entry((journal.to_string(), year))
            .or_insert(0);
        *seq += 1;
        let journal_number: i64 = journal.trim().parse().unwrap_or(0);
        i64::from(year.rem_euclid(100)) * 1_000_000 + journal_number * 10_000 + *seq
    }

    /// POST salesentry/SalesEntries with its lines; returns the index of the stored entry.
    pub fn create_sales_entry(
        &mut self,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<usize, ApiError> {
        let mut header = parse_props(&SALES_ENTRIES, body, &["SalesEntryLines"])?;
        let line_values = nested_lines(body, "SalesEntryLines", &SALES_ENTRY_LINES)?;
        let mut errors: Vec<String> = Vec::new();

        let journal = match text(&header, "Journal")
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            None => {
                errors.push("Mandatory: Journal".into());
                None
            }
            Some(code) => self.check_sales_journal(code, &mut errors),
        };
        let customer = self.check_customer(
            "Customer",
            header.get("Customer").and_then(Val::as_guid),
            &mut errors,
        );
        let payment_condition =
            self.check_payment_condition(header.get("PaymentCondition"), &mut errors);
        let entry_type = match header.get("Type") {
            None | Some(Val::Null) => 20,
            Some(Val::Int(t @ (20 | 21))) => *t,
            Some(other) => {
                errors.push(format!(
                    "Invalid: Type {} (20 = sales entry, 21 = sales credit note)",
                    other.to_json()
                ));
                20
            }
        };
        let your_ref = text(&header, "YourRef").map(str::to_string);
        check_your_ref(your_ref.as_deref(), &mut errors);
        let currency = text(&header, "Currency")
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| self.currency.clone());
        let rate = if currency == self.currency {
            Decimal::ONE
        } else if !CURRENCIES.contains(&currency.as_str()) {
            errors.push(format!("Invalid reference: Currency '{currency}'"));
            Decimal::ONE
        } else {
            match header.get("Rate").and_then(Val::as_num) {
                Some(r) if r > Decimal::ZERO => r,
                _ => {
                    errors.push(format!(
                        "Mandatory: Rate (no exchange rate for {currency} to {} is available)",
                        self.currency
                    ));
                    Decimal::ONE
                }
            }
        };
        if line_values.is_empty() {
            errors.push("Mandatory: SalesEntryLines (an entry needs at least one line)".into());
        }
        let mut lines = Vec::new();
        for (index, value) in line_values.iter().enumerate() {
            if let Some(line) = self.check_line(index + 1, value, &mut errors)? {
                lines.push(line);
            }
        }
        let total_vat: Decimal = lines.iter().map(|l| l.vat_amount).sum();
        let total: Decimal = lines.iter().map(|l| l.amount + l.vat_amount).sum();
        if errors.is_empty() {
            if let Some(given) = header.get("AmountFC").and_then(Val::as_num) {
                if round(given, 2) != total {
                    errors.push(format!(
                        "The entry is not in balance: AmountFC {given} differs from the sum of \
                         the lines including VAT ({total})"
                    ));
                }
            }
            if let Some(given) = header.get("VATAmountFC").and_then(Val::as_num) {
                if round(given, 2) != total_vat {
                    errors.push(format!(
                        "The entry is not in balance: VATAmountFC {given} differs from the sum \
                         of the VAT of the lines ({total_vat})"
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }
        let journal = journal.expect("validated");
        let customer = customer.expect("validated");

        let entry_date = midnight(
            header
                .get("EntryDate")
                .and_then(Val::as_date)
                .unwrap_or(ctx.now),
        );
        let date = date_of(entry_date);
        let journal_code = text(&journal, "Code").unwrap_or_default().to_string();
        let entry_number = self.next_entry_number(&journal_code, date.year());
        let entry_id = Uuid::new_v4();
        let description = text(&header, "Description").map(str::to_string);

        for name in ENTRY_COMPUTED {
            header.remove(name);
        }
        header.insert("EntryID", Val::Guid(entry_id));
        header.insert("AmountFC", Val::Num(total));
        header.insert("AmountDC", Val::Num(round(total * rate, 2)));
        header.insert("VATAmountFC", Val::Num(total_vat));
        header.insert("VATAmountDC", Val::Num(round(total_vat * rate, 2)));
        header.insert("Currency", Val::str(&currency));
        header.insert("Rate", Val::Num(rate));
        header.insert("Customer", customer["ID"].clone());
        header.insert("CustomerName", get(&customer, "Name", Kind::Str));
        header.insert("Journal", Val::str(&journal_code));
        header.insert(
            "JournalDescription",
            get(&journal, "Description", Kind::Str),
        );
        header.insert("EntryDate", Val::Date(entry_date));
        // A DueDate sent wins over the one the payment condition gives.
        let due_date = header.get("DueDate").and_then(Val::as_date).map_or_else(
            || {
                payment_condition
                    .as_ref()
                    .map_or(entry_date, |c| due_date(entry_date, c))
            },
            midnight,
        );
        header.insert("DueDate", Val::Date(due_date));
        set_payment_condition(&mut header, payment_condition.as_ref());
        header.insert("EntryNumber", Val::Int(entry_number));
        header.insert("InvoiceNumber", Val::Int(entry_number));
        for (name, derived) in [
            ("ReportingYear", date.year()),
            ("ReportingPeriod", date.month() as i32),
        ] {
            let value = header
                .get(name)
                .and_then(Val::as_int)
                .unwrap_or(i64::from(derived));
            header.insert(name, Val::Int(value));
        }
        header.insert("Status", Val::Int(ENTRY_OPEN));
        header.insert("StatusDescription", Val::str("Open"));
        header.insert("Type", Val::Int(entry_type));
        header.insert(
            "TypeDescription",
            Val::str(entry_type_description(entry_type)),
        );
        ctx.stamp_created(&mut header, self.code);

        let (line_rows, line_records) = entry_lines(
            self.code,
            entry_id,
            entry_type,
            rate,
            description.as_deref(),
            lines,
        );
        let customer_id = customer["ID"].as_guid().expect("accounts have an ID");
        let original_entry = self.original_entry(customer_id, your_ref.as_deref(), entry_type);
        let record = SalesEntryRecord {
            entry_id,
            entry_number,
            entry_type: entry_type as i32,
            journal: journal_code,
            customer: customer_id,
            your_ref,
            currency,
            entry_date: date.format("%Y-%m-%d").to_string(),
            lines: line_records,
            amount_fc: total,
            vat_amount_fc: total_vat,
            original_entry,
            invoice: None,
            modified_after_creation: false,
        };
        self.entries.push(StoredEntry {
            record,
            header,
            lines: line_rows,
            deleted: false,
        });
        Ok(self.entries.len() - 1)
    }

    fn live_entry_mut(&mut self, id: Uuid) -> Result<&mut StoredEntry, ApiError> {
        self.entries
            .iter_mut()
            .find(|e| !e.deleted && e.record.entry_id == id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("SalesEntry {id} was not found."),
                )
            })
    }

    /// PUT/PATCH/MERGE salesentry/SalesEntries(guid'…'): header fields only.
    pub fn update_sales_entry(
        &mut self,
        id: Uuid,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(), ApiError> {
        let changes = parse_props(&SALES_ENTRIES, body, &["SalesEntryLines"])?;
        if body.get("SalesEntryLines").is_some_and(|v| !v.is_null()) {
            return Err(bad_request(
                "Error processing request stream. Binding to new entities is not supported in \
                 update operations: change lines through salesentry/SalesEntryLines.",
            ));
        }
        let mut errors = Vec::new();
        let payment_condition =
            self.check_payment_condition(changes.get("PaymentCondition"), &mut errors);
        let entry = self.live_entry_mut(id)?;
        check_unprocessed(entry)?;
        for (name, value) in &changes {
            let current = entry.header.get(name).cloned().unwrap_or(Val::Null);
            if ENTRY_UPDATABLE.contains(name) || ENTRY_COMPUTED.contains(name) {
                continue;
            }
            if odata::compare(&current, value) != std::cmp::Ordering::Equal {
                errors.push(format!(
                    "Invalid: {name} cannot be changed on an existing entry"
                ));
            }
        }
        check_your_ref(changes.get("YourRef").and_then(Val::as_str), &mut errors);
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }
        for (name, value) in changes {
            if !ENTRY_UPDATABLE.contains(&name) {
                continue;
            }
            match (name, &value) {
                ("YourRef", v) => entry.record.your_ref = v.as_str().map(str::to_string),
                ("EntryDate", Val::Date(ms)) => {
                    let date = date_of(midnight(*ms));
                    entry.record.entry_date = date.format("%Y-%m-%d").to_string();
                    entry.header.insert("EntryDate", Val::Date(midnight(*ms)));
                    entry
                        .header
                        .insert("ReportingYear", Val::Int(i64::from(date.year())));
                    entry
                        .header
                        .insert("ReportingPeriod", Val::Int(i64::from(date.month())));
                    continue;
                }
                ("PaymentCondition", _) => {
                    set_payment_condition(&mut entry.header, payment_condition.as_ref());
                    continue;
                }
                _ => {}
            }
            entry.header.insert(name, value);
        }
        ctx.stamp_modified(&mut entry.header);
        entry.record.modified_after_creation = true;
        Ok(())
    }

    /// DELETE salesentry/SalesEntries(guid'…').
    pub fn delete_sales_entry(&mut self, id: Uuid) -> Result<(), ApiError> {
        let entry = self.live_entry_mut(id)?;
        check_unprocessed(entry)?;
        entry.deleted = true;
        entry.record.modified_after_creation = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(date: &str) -> i64 {
        odata::parse_request_date(date).expect("a valid date")
    }

    #[test]
    fn due_date_follows_the_reference_example() {
        // "invoice date = 17/01 PaymentEndOfMonths = 2 => 31/03 PaymentDays = 15 => 15/04"
        let mut condition = Row::new();
        condition.insert("PaymentEndOfMonths", Val::Int(2));
        assert_eq!(due_date(ms("2024-01-17"), &condition), ms("2024-03-31"));
        condition.insert("PaymentDays", Val::Int(15));
        assert_eq!(due_date(ms("2024-01-17"), &condition), ms("2024-04-15"));
        condition.insert("PaymentEndOfMonths", Val::Int(0));
        assert_eq!(due_date(ms("2024-01-17"), &condition), ms("2024-02-01"));
    }
}
