//! Sales invoices (`salesinvoice/SalesInvoices` with their `SalesInvoiceLines`) and their
//! processing through `salesinvoice/PrintedSalesInvoices`, as the reference describes them:
//! - a POSTed invoice is a draft (Status 10, "not included in financial reports, balances
//!   etc.") without an `InvoiceNumber`;
//! - every line names an item; its G/L account "is generated based on the revenue account of
//!   the item" and its VAT code defaults to the item's sales VAT code;
//! - printing processes the invoice (Status 50, "processed invoices can't be changed anymore"),
//!   assigns the number "based on the freenumbers as defined for the Journal", which "is copied
//!   to the fields EntryNumber and InvoiceNumber of the sales entry" it books, and e-mails it to
//!   the invoice customer when asked.
//!
//! Choices where the reference is silent:
//! - `Journal` may be left out (integrators report Exact then uses the default sales journal):
//!   the division's first unblocked sales journal.
//! - The booked sales entry has the invoice's ID as `EntryID` (`PrintedSalesInvoices.InvoiceID`
//!   is a "Reference to EntryID of SalesInvoice"), type 20 for an invoice and 21 for a credit
//!   note, Status 50, and the invoice customer (`InvoiceTo`) as `Customer`.
//! - Printing an invoice that is already processed is refused, so an invoice is e-mailed once.
//! - Only the division's currency: `SalesInvoices` has no `Rate`, and the sandbox holds no
//!   exchange rates.
//! - A line's price is `NetPrice`, else `UnitPrice` less `Discount`, else (without `AmountFC`)
//!   the item's `StandardSalesPrice` less `Discount`; `AmountFC` sent with a price must equal
//!   `Quantity` × net price rounded to cents.

use std::cmp::Ordering;

use axum::http::StatusCode;
use chrono::Datelike;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::api::ApiError;
use super::entities::{
    bad_request, check_your_ref, date_of, due_date, entry_lines, entry_type_description,
    line_vat_amount, midnight, nested_lines, parse_props, same_text, set_payment_condition, text,
    valid_email, CheckedLine, Ctx, Division, StoredEntry, CURRENCIES, ENTRY_PROCESSED,
    PRINTED_SALES_INVOICES, SALES_INVOICES, SALES_INVOICE_LINES,
};
use super::odata::{compare, get, round, Kind, Row, Val};
use super::{SalesEntryRecord, SalesInvoiceLineRecord, SalesInvoiceRecord, SentInvoiceEmail};

pub struct StoredInvoice {
    pub record: SalesInvoiceRecord,
    pub header: Row,
    pub lines: Vec<Row>,
    pub deleted: bool,
}

/// `Status` of an invoice.
const DRAFT: i64 = 10;
const PROCESSED: i64 = 50;

/// `Type` of an invoice.
const SALES_INVOICE: i64 = 8020;
const SALES_CREDIT_NOTE: i64 = 8021;

/// `Type` of a sales journal (20 = sales; 21, return invoices, is a sales journal too).
const SALES_JOURNAL: i64 = 20;

/// Account `InvoicingMethod`s ("Method of sending for sales invoices") that send something.
const BY_EMAIL: i64 = 2;
const BY_MAILBOX: i64 = 4;
const BY_PEPPOL: i64 = 32;

/// Properties Exact computes itself: values sent by a client are ignored.
const INVOICE_COMPUTED: &[&str] = &[
    "InvoiceID",
    "AmountDC",
    "Created",
    "Creator",
    "CreatorFullName",
    "DeliverToContactPersonFullName",
    "DeliverToName",
    "Division",
    "InvoiceNumber",
    "InvoiceToContactPersonFullName",
    "InvoiceToName",
    "JournalDescription",
    "Modified",
    "Modifier",
    "ModifierFullName",
    "OrderedByContactPersonFullName",
    "OrderedByName",
    "PaymentConditionDescription",
    "SalesChannelCode",
    "SalesChannelDescription",
    "SalespersonFullName",
    "SelectionCodeCode",
    "SelectionCodeDescription",
    "ShippingMethodCode",
    "ShippingMethodDescription",
    "StarterSalesInvoiceStatus",
    "StarterSalesInvoiceStatusDescription",
    "Status",
    "StatusDescription",
    "TypeDescription",
    "VATAmountDC",
];

/// Header properties an update of a draft may change.
const INVOICE_UPDATABLE: &[&str] = &[
    "Description",
    "DueDate",
    "IncotermAddress",
    "IncotermCode",
    "InvoiceDate",
    "OrderDate",
    "OrderNumber",
    "PaymentCondition",
    "PaymentReference",
    "Remarks",
    "YourRef",
];

/// Header references to records the sandbox holds none of (contacts, documents, employees,
/// sales channels, selection codes, shipping methods, warehouses): any value dangles.
const INVOICE_UNRESOLVABLE: &[&str] = &[
    "DeliverToContactPerson",
    "Document",
    "InvoiceToContactPerson",
    "OrderedByContactPerson",
    "SalesChannel",
    "Salesperson",
    "SelectionCode",
    "ShippingMethod",
    "Warehouse",
];

/// Invoice-level discounts need a division setting (a G/L link for sales invoice discounts)
/// the sandbox's divisions do not have.
const HEADER_DISCOUNTS: &[&str] = &["AmountDiscount", "AmountDiscountExclVat", "Discount"];

/// "Not supported in The Netherlands", and every sandbox division is Dutch.
const WITHHOLDING_TAX: &[&str] = &[
    "WithholdingTaxAmountFC",
    "WithholdingTaxBaseAmount",
    "WithholdingTaxPercentage",
];

/// Line properties Exact computes itself.
const LINE_COMPUTED: &[&str] = &[
    "ID",
    "AmountDC",
    "CostCenterDescription",
    "CostUnitDescription",
    "Division",
    "EmployeeFullName",
    "GLAccountDescription",
    "InvoiceID",
    "ItemCode",
    "ItemDescription",
    "LineNumber",
    "PricelistDescription",
    "ProjectDescription",
    "ProjectWBSDescription",
    "SalesOrderLineNumber",
    "SalesOrderNumber",
    "SubscriptionDescription",
    "UnitDescription",
    "VATAmountDC",
    "VATCodeDescription",
    "VATPercentage",
];

/// Line references to records the sandbox holds none of.
const LINE_UNRESOLVABLE: &[&str] = &[
    "CostCenter",
    "CostUnit",
    "Employee",
    "Pricelist",
    "Project",
    "ProjectWBS",
    "SalesOrder",
    "SalesOrderLine",
    "Subscription",
];

/// What a `PrintedSalesInvoices` answer reports: values sent by a client are ignored.
const PRINT_RESULTS: &[&str] = &[
    "Division",
    "Document",
    "DocumentCreationError",
    "DocumentCreationSuccess",
    "EmailCreationError",
    "EmailCreationSuccess",
    "PeppolCreationError",
    "PeppolCreationSuccess",
    "PostboxMessageCreationError",
    "PostboxMessageCreationSuccess",
];

/// A line of a sales invoice after validation.
struct InvoiceLine {
    props: Row,
    item: Row,
    gl: Row,
    vat: Option<Row>,
    quantity: Decimal,
    unit_price: Decimal,
    discount: Decimal,
    net_price: Decimal,
    /// Excluding VAT.
    amount: Decimal,
    vat_amount: Decimal,
}

fn guid(row: &Row, name: &str) -> Option<Uuid> {
    row.get(name).and_then(Val::as_guid)
}

fn num(row: &Row, name: &str) -> Option<Decimal> {
    row.get(name).and_then(Val::as_num)
}

fn ymd(ms: i64) -> String {
    date_of(ms).format("%Y-%m-%d").to_string()
}

/// Reports each of `fields` that names a record (the sandbox holds none of them).
fn check_unresolvable(row: &Row, fields: &[&str], line: Option<usize>, errors: &mut Vec<String>) {
    for field in fields {
        if let Some(id) = guid(row, field) {
            let at = line.map(|n| format!(" (line {n})")).unwrap_or_default();
            errors.push(format!("Invalid reference: {field} {id}{at}"));
        }
    }
}

fn invoice_type_description(invoice_type: i64) -> &'static str {
    if invoice_type == SALES_CREDIT_NOTE {
        "Sales credit note"
    } else {
        "Sales invoice"
    }
}

fn set_invoice_payment_condition(header: &mut Row, condition: Option<&Row>) {
    let copy = |name| condition.map_or(Val::Null, |c| get(c, name, Kind::Str));
    header.insert("PaymentCondition", copy("Code"));
    header.insert("PaymentConditionDescription", copy("Description"));
}

/// "Processed invoices can't be changed anymore" (processing is what numbers an invoice).
fn check_draft(invoice: &StoredInvoice) -> Result<(), ApiError> {
    match invoice.record.invoice_number {
        Some(number) => Err(bad_request(format!(
            "Invalid: sales invoice {number} is processed (Status 50) and can't be changed \
             anymore"
        ))),
        None => Ok(()),
    }
}

impl Division {
    pub fn invoice(&self, id: Uuid) -> Option<&StoredInvoice> {
        self.invoices
            .iter()
            .find(|i| !i.deleted && i.record.invoice_id == id)
    }

    fn live_invoice_index(&self, id: Uuid) -> Result<usize, ApiError> {
        self.invoices
            .iter()
            .position(|i| !i.deleted && i.record.invoice_id == id)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("SalesInvoice {id} was not found."),
                )
            })
    }

    /// "By default the number is based on a setting for the first free number".
    fn next_order_number(&self) -> i64 {
        self.invoices
            .iter()
            .filter_map(|i| i.header.get("OrderNumber").and_then(Val::as_int))
            .max()
            .unwrap_or(0)
            + 1
    }

    /// `DeliverToAddress` must be an address of the delivery account; without one the
    /// account's main delivery address (type 4) is used, when it has one.
    fn check_delivery_address(
        &self,
        id: Option<Uuid>,
        deliver_to: Option<&Row>,
        errors: &mut Vec<String>,
    ) -> Val {
        let account = deliver_to.map(|a| a["ID"].clone());
        let of_account =
            |address: &Row| account.is_some() && address.get("Account") == account.as_ref();
        match id {
            Some(id) => {
                if !Self::find(&self.addresses, "ID", id).is_some_and(of_account) {
                    errors.push(format!("Invalid reference: DeliverToAddress {id}"));
                }
                Val::Guid(id)
            }
            None => self
                .addresses
                .iter()
                .find(|a| {
                    of_account(a)
                        && a.get("Type") == Some(&Val::Int(4))
                        && a.get("Main") == Some(&Val::Bool(true))
                })
                .map_or(Val::Null, |a| a["ID"].clone()),
        }
    }

    fn check_invoice_line(
        &self,
        number: usize,
        value: &Map<String, Value>,
        errors: &mut Vec<String>,
    ) -> Result<Option<InvoiceLine>, ApiError> {
        let props = parse_props(&SALES_INVOICE_LINES, value, &[])?;
        let start = errors.len();
        check_unresolvable(&props, LINE_UNRESOLVABLE, Some(number), errors);
        let item = match guid(&props, "Item") {
            None => {
                errors.push(format!("Mandatory: Item (line {number})"));
                None
            }
            Some(id) => match Self::find(&self.items, "ID", id) {
                None => {
                    errors.push(format!("Invalid reference: Item {id} (line {number})"));
                    None
                }
                Some(item) => {
                    if item.get("IsSalesItem") != Some(&Val::Bool(true)) {
                        errors.push(format!(
                            "Invalid: Item '{}' is not a sales item (line {number})",
                            text(item, "Code").unwrap_or_default()
                        ));
                    }
                    Some(item.clone())
                }
            },
        };
        let gl = match guid(&props, "GLAccount")
            .or_else(|| item.as_ref().and_then(|i| guid(i, "GLRevenue")))
        {
            Some(id) => self.check_line_gl(id, number, "sales invoice line", errors),
            None => {
                if item.is_some() {
                    errors.push(format!(
                        "Mandatory: GLAccount (line {number}: the item has no revenue account)"
                    ));
                }
                None
            }
        };
        let vat_code = [
            text(&props, "VATCode"),
            item.as_ref().and_then(|i| text(i, "SalesVatCode")),
            gl.as_ref().and_then(|g| text(g, "VATCode")),
        ]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|c| !c.is_empty());
        let vat = vat_code.and_then(|code| self.check_line_vat(code, number, errors));
        if let (Some(unit), Some(item)) = (
            text(&props, "UnitCode")
                .map(str::trim)
                .filter(|u| !u.is_empty()),
            &item,
        ) {
            if !text(item, "Unit").is_some_and(|u| same_text(u, unit)) {
                errors.push(format!(
                    "Invalid reference: UnitCode '{unit}' (line {number})"
                ));
            }
        }

        let quantity = num(&props, "Quantity").unwrap_or(Decimal::ONE);
        let discount = num(&props, "Discount").unwrap_or(Decimal::ZERO);
        let given_amount = num(&props, "AmountFC").map(|a| round(a, 2));
        let priced = match (num(&props, "NetPrice"), num(&props, "UnitPrice")) {
            (Some(net), _) => Some(net),
            (None, Some(unit)) => Some(unit * (Decimal::ONE - discount)),
            (None, None) => None,
        };
        let (net_price, amount) = match (priced, given_amount) {
            (Some(net), Some(amount)) => {
                let priced_amount = round(quantity * net, 2);
                if priced_amount != amount {
                    errors.push(format!(
                        "Invalid: AmountFC {amount} differs from Quantity × NetPrice \
                         ({priced_amount}) (line {number})"
                    ));
                }
                (net, amount)
            }
            (Some(net), None) => (net, round(quantity * net, 2)),
            (None, Some(amount)) if quantity.is_zero() => {
                if !amount.is_zero() {
                    errors.push(format!(
                        "Invalid: AmountFC {amount} with Quantity 0 (line {number})"
                    ));
                }
                (Decimal::ZERO, amount)
            }
            (None, Some(amount)) => (amount / quantity, amount),
            // "Discount = (DefaultPrice of Item - PriceItem in line) / DefaultPrice of Item"
            (None, None) => {
                let default_price = item
                    .as_ref()
                    .and_then(|i| num(i, "StandardSalesPrice"))
                    .unwrap_or_default();
                let net = default_price * (Decimal::ONE - discount);
                (net, round(quantity * net, 2))
            }
        };
        let unit_price = num(&props, "UnitPrice").unwrap_or_else(|| {
            if discount == Decimal::ONE {
                net_price
            } else {
                net_price / (Decimal::ONE - discount)
            }
        });
        if errors.len() > start {
            return Ok(None);
        }
        let (Some(item), Some(gl)) = (item, gl) else {
            return Ok(None);
        };
        let vat_amount = line_vat_amount(&props, amount, vat.as_ref());
        Ok(Some(InvoiceLine {
            props,
            item,
            gl,
            vat,
            quantity,
            unit_price,
            discount,
            net_price,
            amount,
            vat_amount,
        }))
    }

    /// POST salesinvoice/SalesInvoices with its lines: stores a draft and returns its index.
    pub fn create_sales_invoice(
        &mut self,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<usize, ApiError> {
        let mut header = parse_props(
            &SALES_INVOICES,
            body,
            &["SalesInvoiceLines", "SalesInvoiceOrderChargeLines"],
        )?;
        if body
            .get("SalesInvoiceOrderChargeLines")
            .is_some_and(|v| !v.is_null())
        {
            return Err(bad_request(
                "SalesInvoiceOrderChargeLines are not supported by the sandbox: send shipping \
                 costs and other charges as item lines.",
            ));
        }
        let line_values = nested_lines(body, "SalesInvoiceLines", &SALES_INVOICE_LINES)?;
        let mut errors: Vec<String> = Vec::new();

        let ordered_by = self.check_customer("OrderedBy", guid(&header, "OrderedBy"), &mut errors);
        // Without InvoiceTo, the account the orderer is invoiced through, else the orderer.
        let invoice_to = match guid(&header, "InvoiceTo") {
            Some(id) => self.check_customer("InvoiceTo", Some(id), &mut errors),
            None => ordered_by.as_ref().map(|o| {
                guid(o, "InvoiceAccount")
                    .and_then(|id| Self::find(&self.accounts, "ID", id))
                    .unwrap_or(o)
                    .clone()
            }),
        };
        let deliver_to = match guid(&header, "DeliverTo") {
            Some(id) => self.check_customer("DeliverTo", Some(id), &mut errors),
            None => ordered_by.clone(),
        };
        let deliver_to_address = self.check_delivery_address(
            guid(&header, "DeliverToAddress"),
            deliver_to.as_ref(),
            &mut errors,
        );
        check_unresolvable(&header, INVOICE_UNRESOLVABLE, None, &mut errors);
        let journal = match text(&header, "Journal")
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(code) => self.check_sales_journal(code, &mut errors),
            None => {
                let default = self
                    .journals
                    .iter()
                    .find(|j| {
                        j.get("Type") == Some(&Val::Int(SALES_JOURNAL))
                            && j.get("IsBlocked") != Some(&Val::Bool(true))
                    })
                    .cloned();
                if default.is_none() {
                    errors.push("Mandatory: Journal".into());
                }
                default
            }
        };
        let invoice_type = match header.get("Type") {
            None | Some(Val::Null) => SALES_INVOICE,
            Some(Val::Int(t @ (SALES_INVOICE | SALES_CREDIT_NOTE))) => *t,
            Some(Val::Int(t @ (8023 | 8024))) => {
                errors.push(format!(
                    "Invalid: Type {t} (direct sales invoices and credit notes need a \
                     Wholesale & Distribution or Manufacturing edition)"
                ));
                SALES_INVOICE
            }
            Some(other) => {
                errors.push(format!(
                    "Invalid: Type {} (8020 = sales invoice, 8021 = sales credit note)",
                    other.to_json()
                ));
                SALES_INVOICE
            }
        };
        let payment_condition =
            self.check_payment_condition(header.get("PaymentCondition"), &mut errors);
        let your_ref = text(&header, "YourRef").map(str::to_string);
        check_your_ref(your_ref.as_deref(), &mut errors);
        let currency = text(&header, "Currency")
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| self.currency.clone());
        if currency != self.currency {
            errors.push(if CURRENCIES.contains(&currency.as_str()) {
                format!(
                    "Invalid: Currency '{currency}' (no exchange rate for {currency} to {} is \
                     available)",
                    self.currency
                )
            } else {
                format!("Invalid reference: Currency '{currency}'")
            });
        }
        if HEADER_DISCOUNTS
            .iter()
            .any(|name| num(&header, name).is_some_and(|d| !d.is_zero()))
        {
            errors.push(
                "Not available: Setting ( General ledger accounts : Links - Sales invoice \
                 discounts )"
                    .into(),
            );
        }
        for name in WITHHOLDING_TAX {
            if num(&header, name).is_some_and(|v| !v.is_zero()) {
                errors.push(format!(
                    "Invalid: {name} (withholding tax is not supported in the Netherlands)"
                ));
            }
        }
        if let Some(version) = header.get("IncotermVersion").and_then(Val::as_int) {
            if !matches!(version, 2010 | 2020) {
                errors.push(format!(
                    "Invalid: IncotermVersion {version} (supported: 2010, 2020)"
                ));
            }
        }
        if line_values.is_empty() {
            errors.push("Mandatory: SalesInvoiceLines (an invoice needs at least one line)".into());
        }
        let mut lines = Vec::new();
        for (index, value) in line_values.into_iter().enumerate() {
            if let Some(line) = self.check_invoice_line(index + 1, value, &mut errors)? {
                lines.push(line);
            }
        }
        let total_excl: Decimal = lines.iter().map(|l| l.amount).sum();
        let total_vat: Decimal = lines.iter().map(|l| l.vat_amount).sum();
        let total = total_excl + total_vat;
        if errors.is_empty() {
            for (name, computed, what) in [
                ("AmountFC", total, "the sum of the lines including VAT"),
                (
                    "AmountFCExclVat",
                    total_excl,
                    "the sum of the lines excluding VAT",
                ),
                ("VATAmountFC", total_vat, "the sum of the VAT of the lines"),
            ] {
                if let Some(given) = num(&header, name) {
                    if round(given, 2) != computed {
                        errors.push(format!(
                            "The invoice is not in balance: {name} {given} differs from {what} \
                             ({computed})"
                        ));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }
        let ordered_by = ordered_by.expect("validated");
        let invoice_to = invoice_to.expect("validated");
        let deliver_to = deliver_to.expect("validated");
        let journal = journal.expect("validated");

        let invoice_id = Uuid::new_v4();
        let invoice_date = midnight(
            header
                .get("InvoiceDate")
                .and_then(Val::as_date)
                .unwrap_or(ctx.now),
        );
        // A DueDate sent wins over the one the payment condition gives.
        let due = header.get("DueDate").and_then(Val::as_date).map_or_else(
            || {
                payment_condition
                    .as_ref()
                    .map_or(invoice_date, |c| due_date(invoice_date, c))
            },
            midnight,
        );
        let order_number = header
            .get("OrderNumber")
            .and_then(Val::as_int)
            .unwrap_or_else(|| self.next_order_number());
        let journal_code = text(&journal, "Code").unwrap_or_default().to_string();

        for name in INVOICE_COMPUTED {
            header.remove(name);
        }
        header.insert("InvoiceID", Val::Guid(invoice_id));
        // Division currency only, so the amounts in default currency are the same.
        header.insert("AmountFC", Val::Num(total));
        header.insert("AmountDC", Val::Num(total));
        header.insert("AmountFCExclVat", Val::Num(total_excl));
        header.insert("VATAmountFC", Val::Num(total_vat));
        header.insert("VATAmountDC", Val::Num(total_vat));
        header.insert("Currency", Val::str(&currency));
        for (field, name_field, account) in [
            ("OrderedBy", "OrderedByName", &ordered_by),
            ("InvoiceTo", "InvoiceToName", &invoice_to),
            ("DeliverTo", "DeliverToName", &deliver_to),
        ] {
            header.insert(field, account["ID"].clone());
            header.insert(name_field, get(account, "Name", Kind::Str));
        }
        header.insert("DeliverToAddress", deliver_to_address);
        header.insert("Journal", Val::str(&journal_code));
        header.insert(
            "JournalDescription",
            get(&journal, "Description", Kind::Str),
        );
        header.insert("InvoiceDate", Val::Date(invoice_date));
        header.insert("DueDate", Val::Date(due));
        set_invoice_payment_condition(&mut header, payment_condition.as_ref());
        header.insert("OrderNumber", Val::Int(order_number));
        header.insert("InvoiceNumber", Val::Null);
        header.insert("Status", Val::Int(DRAFT));
        header.insert("StatusDescription", Val::str("Draft"));
        header.insert("Type", Val::Int(invoice_type));
        header.insert(
            "TypeDescription",
            Val::str(invoice_type_description(invoice_type)),
        );
        ctx.stamp_created(&mut header, self.code);

        let mut line_rows = Vec::new();
        let mut line_records = Vec::new();
        for (index, line) in lines.into_iter().enumerate() {
            let InvoiceLine {
                mut props,
                item,
                gl,
                vat,
                quantity,
                unit_price,
                discount,
                net_price,
                amount,
                vat_amount,
            } = line;
            for name in LINE_COMPUTED {
                props.remove(name);
            }
            // Exact fills a line's description with the item's.
            let description = text(&props, "Description")
                .or_else(|| text(&item, "Description"))
                .map(str::to_string);
            props.insert("ID", Val::Guid(Uuid::new_v4()));
            props.insert("InvoiceID", Val::Guid(invoice_id));
            props.insert("Division", Val::Int(i64::from(self.code)));
            props.insert("LineNumber", Val::Int(index as i64 + 1));
            props.insert("Item", item["ID"].clone());
            props.insert("ItemCode", item["Code"].clone());
            props.insert("ItemDescription", item["Description"].clone());
            props.insert("Description", Val::opt_str(description.as_deref()));
            props.insert("UnitCode", get(&item, "Unit", Kind::Str));
            props.insert("UnitDescription", get(&item, "UnitDescription", Kind::Str));
            props.insert("Quantity", Val::Num(quantity));
            props.insert("UnitPrice", Val::Num(unit_price));
            props.insert("Discount", Val::Num(discount));
            props.insert("NetPrice", Val::Num(net_price));
            props.insert("AmountFC", Val::Num(amount));
            props.insert("AmountDC", Val::Num(amount));
            props.insert("VATAmountFC", Val::Num(vat_amount));
            props.insert("VATAmountDC", Val::Num(vat_amount));
            props.insert("GLAccount", gl["ID"].clone());
            props.insert("GLAccountDescription", gl["Description"].clone());
            props.insert(
                "VATCode",
                vat.as_ref().map_or(Val::Null, |v| v["Code"].clone()),
            );
            props.insert(
                "VATCodeDescription",
                vat.as_ref().map_or(Val::Null, |v| v["Description"].clone()),
            );
            props.insert(
                "VATPercentage",
                vat.as_ref().map_or(Val::Num(Decimal::ZERO), |v| {
                    get(v, "Percentage", Kind::Double)
                }),
            );
            line_records.push(SalesInvoiceLineRecord {
                item: item["ID"].as_guid().expect("items have an ID"),
                item_code: text(&item, "Code").unwrap_or_default().to_string(),
                quantity,
                net_price,
                gl_account: gl["ID"].as_guid().expect("G/L accounts have an ID"),
                amount_fc: amount,
                vat_code: vat
                    .as_ref()
                    .and_then(|v| text(v, "Code"))
                    .map(|c| c.trim().to_string()),
                vat_amount_fc: vat_amount,
                description,
            });
            line_rows.push(props);
        }

        let record = SalesInvoiceRecord {
            invoice_id,
            invoice_number: None,
            status: DRAFT as i32,
            invoice_type: invoice_type as i32,
            your_ref,
            customer: ordered_by["ID"].as_guid().expect("accounts have an ID"),
            invoice_to: invoice_to["ID"].as_guid().expect("accounts have an ID"),
            journal: journal_code,
            currency,
            invoice_date: ymd(invoice_date),
            lines: line_records,
            amount_fc: total,
            vat_amount_fc: total_vat,
            sales_entry: None,
            modified_after_creation: false,
        };
        self.invoices.push(StoredInvoice {
            record,
            header,
            lines: line_rows,
            deleted: false,
        });
        Ok(self.invoices.len() - 1)
    }

    /// PUT/PATCH/MERGE salesinvoice/SalesInvoices(guid'…'): header fields of a draft only.
    pub fn update_sales_invoice(
        &mut self,
        id: Uuid,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(), ApiError> {
        let changes = parse_props(&SALES_INVOICES, body, &["SalesInvoiceLines"])?;
        if body.get("SalesInvoiceLines").is_some_and(|v| !v.is_null()) {
            return Err(bad_request(
                "Error processing request stream. Binding to new entities is not supported in \
                 update operations: change lines through salesinvoice/SalesInvoiceLines.",
            ));
        }
        let mut errors = Vec::new();
        let payment_condition =
            self.check_payment_condition(changes.get("PaymentCondition"), &mut errors);
        let index = self.live_invoice_index(id)?;
        let invoice = &mut self.invoices[index];
        check_draft(invoice)?;
        for (name, value) in &changes {
            if INVOICE_UPDATABLE.contains(name) || INVOICE_COMPUTED.contains(name) {
                continue;
            }
            let current = invoice.header.get(name).cloned().unwrap_or(Val::Null);
            if compare(&current, value) != Ordering::Equal {
                errors.push(format!(
                    "Invalid: {name} cannot be changed on an existing invoice"
                ));
            }
        }
        check_your_ref(changes.get("YourRef").and_then(Val::as_str), &mut errors);
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }
        for (name, value) in changes {
            if !INVOICE_UPDATABLE.contains(&name) {
                continue;
            }
            let value = match (name, value) {
                ("YourRef", v) => {
                    invoice.record.your_ref = v.as_str().map(str::to_string);
                    v
                }
                ("InvoiceDate", Val::Date(ms)) => {
                    invoice.record.invoice_date = ymd(midnight(ms));
                    Val::Date(midnight(ms))
                }
                ("DueDate" | "OrderDate", Val::Date(ms)) => Val::Date(midnight(ms)),
                ("PaymentCondition", _) => {
                    set_invoice_payment_condition(&mut invoice.header, payment_condition.as_ref());
                    continue;
                }
                (_, v) => v,
            };
            invoice.header.insert(name, value);
        }
        ctx.stamp_modified(&mut invoice.header);
        invoice.record.modified_after_creation = true;
        Ok(())
    }

    /// DELETE salesinvoice/SalesInvoices(guid'…'): drafts only.
    pub fn delete_sales_invoice(&mut self, id: Uuid) -> Result<(), ApiError> {
        let index = self.live_invoice_index(id)?;
        let invoice = &mut self.invoices[index];
        check_draft(invoice)?;
        invoice.deleted = true;
        invoice.record.modified_after_creation = true;
        Ok(())
    }

    /// POST salesinvoice/PrintedSalesInvoices: processes a draft, books its sales entry and
    /// sends what the request asks for. Returns the `PrintedSalesInvoice` answered.
    pub fn print_sales_invoice(
        &mut self,
        body: &Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<Row, ApiError> {
        let mut printed = parse_props(&PRINTED_SALES_INVOICES, body, &[])?;
        for name in PRINT_RESULTS {
            printed.remove(name);
        }
        let id = guid(&printed, "InvoiceID").ok_or_else(|| bad_request("Mandatory: InvoiceID"))?;
        let index = self.live_invoice_index(id)?;
        if let Some(number) = self.invoices[index].record.invoice_number {
            return Err(bad_request(format!(
                "Invalid: sales invoice {number} is already processed (Status 50) and cannot \
                 be printed again"
            )));
        }
        let mut errors = Vec::new();
        // The sandbox holds no layouts.
        check_unresolvable(
            &printed,
            &["DocumentLayout", "EmailLayout"],
            None,
            &mut errors,
        );
        if let Some(sender) = text(&printed, "SenderEmailAddress").filter(|s| !s.is_empty()) {
            if !valid_email(sender) {
                errors.push(format!("Invalid: SenderEmailAddress '{sender}'"));
            }
        }
        if let Some(period) = printed.get("ReportingPeriod").and_then(Val::as_int) {
            if !(1..=12).contains(&period) {
                errors.push(format!("Invalid: ReportingPeriod {period} (1 to 12)"));
            }
        }
        if !errors.is_empty() {
            return Err(bad_request(errors.join("\r\n")));
        }

        let header = self.invoices[index].header.clone();
        let drafted_date = header
            .get("InvoiceDate")
            .and_then(Val::as_date)
            .unwrap_or(ctx.now);
        // "During the printing process the invoice date can be entered".
        let invoice_date = printed
            .get("InvoiceDate")
            .and_then(Val::as_date)
            .map_or(drafted_date, midnight);
        let condition = text(&header, "PaymentCondition").and_then(|code| {
            self.payment_conditions
                .iter()
                .find(|c| text(c, "Code").is_some_and(|c| same_text(c, code)))
                .cloned()
        });
        let derived_due = |date| condition.as_ref().map_or(date, |c| due_date(date, c));
        let drafted_due = header
            .get("DueDate")
            .and_then(Val::as_date)
            .unwrap_or(drafted_date);
        // A due date derived from the invoice date moves with it; one sent explicitly stays.
        let due = if drafted_due == derived_due(drafted_date) {
            derived_due(invoice_date)
        } else {
            drafted_due
        };
        let date = date_of(invoice_date);
        let journal = text(&header, "Journal").unwrap_or_default().to_string();
        let number = self.next_entry_number(&journal, date.year());
        let reporting_year = printed
            .get("ReportingYear")
            .and_then(Val::as_int)
            .unwrap_or(i64::from(date.year()));
        let reporting_period = printed
            .get("ReportingPeriod")
            .and_then(Val::as_int)
            .unwrap_or(i64::from(date.month()));
        let entry_type = if header.get("Type") == Some(&Val::Int(SALES_CREDIT_NOTE)) {
            21
        } else {
            20
        };
        let invoice_to = guid(&header, "InvoiceTo").expect("invoices have an InvoiceTo");

        let mut entry = Row::new();
        for name in [
            "AmountFC",
            "AmountDC",
            "Currency",
            "Description",
            "Journal",
            "JournalDescription",
            "OrderNumber",
            "PaymentReference",
            "VATAmountFC",
            "VATAmountDC",
            "YourRef",
        ] {
            if let Some(value) = header.get(name) {
                entry.insert(name, value.clone());
            }
        }
        entry.insert("EntryID", Val::Guid(id));
        entry.insert("Rate", Val::Num(Decimal::ONE));
        entry.insert("Customer", Val::Guid(invoice_to));
        entry.insert("CustomerName", get(&header, "InvoiceToName", Kind::Str));
        entry.insert("EntryDate", Val::Date(invoice_date));
        entry.insert("DueDate", Val::Date(due));
        set_payment_condition(&mut entry, condition.as_ref());
        entry.insert("EntryNumber", Val::Int(number));
        entry.insert("InvoiceNumber", Val::Int(number));
        entry.insert("ReportingYear", Val::Int(reporting_year));
        entry.insert("ReportingPeriod", Val::Int(reporting_period));
        entry.insert("Status", Val::Int(ENTRY_PROCESSED));
        entry.insert("StatusDescription", Val::str("Processed"));
        entry.insert("Type", Val::Int(entry_type));
        entry.insert(
            "TypeDescription",
            Val::str(entry_type_description(entry_type)),
        );
        ctx.stamp_created(&mut entry, self.code);

        let lines: Vec<CheckedLine> = self.invoices[index]
            .lines
            .iter()
            .map(|line| self.entry_line_of(line))
            .collect();
        let description = text(&header, "Description");
        let (line_rows, line_records) =
            entry_lines(self.code, id, entry_type, Decimal::ONE, description, lines);
        let your_ref = text(&header, "YourRef").map(str::to_string);
        let record = SalesEntryRecord {
            entry_id: id,
            entry_number: number,
            entry_type: entry_type as i32,
            journal,
            customer: invoice_to,
            your_ref: your_ref.clone(),
            currency: text(&header, "Currency").unwrap_or_default().to_string(),
            entry_date: ymd(invoice_date),
            lines: line_records,
            amount_fc: num(&header, "AmountFC").unwrap_or_default(),
            vat_amount_fc: num(&header, "VATAmountFC").unwrap_or_default(),
            original_entry: self.original_entry(invoice_to, your_ref.as_deref(), entry_type),
            invoice: Some(id),
            modified_after_creation: false,
        };
        self.entries.push(StoredEntry {
            record,
            header: entry,
            lines: line_rows,
            deleted: false,
        });

        printed.insert("InvoiceID", Val::Guid(id));
        printed.insert("Division", Val::Int(i64::from(self.code)));
        printed.insert("InvoiceDate", Val::Date(invoice_date));
        printed.insert("ReportingYear", Val::Int(reporting_year));
        printed.insert("ReportingPeriod", Val::Int(reporting_period));
        printed.insert("Document", Val::Guid(Uuid::new_v4()));
        printed.insert(
            "DocumentCreationSuccess",
            Val::str(format!("The document of invoice {number} was created.")),
        );
        self.send_invoice(&mut printed, invoice_to, number, your_ref);

        let invoice = &mut self.invoices[index];
        invoice.header.insert("InvoiceNumber", Val::Int(number));
        invoice.header.insert("Status", Val::Int(PROCESSED));
        invoice
            .header
            .insert("StatusDescription", Val::str("Processed"));
        invoice
            .header
            .insert("InvoiceDate", Val::Date(invoice_date));
        invoice.header.insert("DueDate", Val::Date(due));
        ctx.stamp_modified(&mut invoice.header);
        invoice.record.invoice_number = Some(number);
        invoice.record.status = PROCESSED as i32;
        invoice.record.invoice_date = ymd(invoice_date);
        invoice.record.sales_entry = Some(id);
        Ok(printed)
    }

    /// A stored invoice line as the line of the sales entry that processing books.
    fn entry_line_of(&self, line: &Row) -> CheckedLine {
        let gl = guid(line, "GLAccount")
            .and_then(|id| Self::find(&self.gl_accounts, "ID", id))
            .cloned()
            .expect("invoice lines name an existing G/L account");
        let vat = text(line, "VATCode")
            .and_then(|code| self.vat_code(code))
            .cloned();
        let mut props = Row::new();
        for name in ["Description", "Quantity", "Notes"] {
            if let Some(value) = line.get(name) {
                props.insert(name, value.clone());
            }
        }
        CheckedLine {
            props,
            gl,
            vat,
            amount: num(line, "AmountFC").unwrap_or_default(),
            vat_amount: num(line, "VATAmountFC").unwrap_or_default(),
        }
    }

    /// Sends invoice `number` the ways `printed` asks for (or, with `SendOutputBasedOnAccount`,
    /// the account's `InvoicingMethod` says) and reports each outcome in `printed`. The invoice
    /// is processed whatever the outcome.
    fn send_invoice(
        &mut self,
        printed: &mut Row,
        invoice_to: Uuid,
        number: i64,
        your_ref: Option<String>,
    ) {
        let account = Self::find(&self.accounts, "ID", invoice_to)
            .cloned()
            .unwrap_or_default();
        let flag = |name: &str| printed.get(name) == Some(&Val::Bool(true));
        let (email, postbox, peppol) = if flag("SendOutputBasedOnAccount") {
            let method = account.get("InvoicingMethod").and_then(Val::as_int);
            (
                method == Some(BY_EMAIL),
                method == Some(BY_MAILBOX),
                method == Some(BY_PEPPOL),
            )
        } else {
            // SendEmailToCustomer "overrules SendInvoiceToCustomerPostbox".
            (
                flag("SendEmailToCustomer"),
                flag("SendInvoiceToCustomerPostbox") && !flag("SendEmailToCustomer"),
                flag("SendInvoiceViaPeppol"),
            )
        };
        if email {
            match text(&account, "Email")
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                Some(to) => {
                    printed.insert(
                        "EmailCreationSuccess",
                        Val::str(format!(
                            "The e-mail with invoice {number} was sent to {to}."
                        )),
                    );
                    self.invoice_emails.push(SentInvoiceEmail {
                        invoice_id: guid(printed, "InvoiceID").expect("set before sending"),
                        invoice_number: number,
                        to: to.to_string(),
                        your_ref,
                        sender: text(printed, "SenderEmailAddress")
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                    });
                }
                None => {
                    printed.insert(
                        "EmailCreationError",
                        Val::str(format!(
                            "The e-mail with invoice {number} was not created: account '{}' \
                             has no e-mail address.",
                            text(&account, "Name").unwrap_or_default()
                        )),
                    );
                }
            }
        }
        if postbox {
            printed.insert(
                "PostboxMessageCreationError",
                Val::str(
                    "The digital postbox is not available: the licence has no Mailbox feature set.",
                ),
            );
        }
        if peppol {
            printed.insert(
                "PeppolCreationError",
                Val::str(
                    "Sending via Peppol is not available: e-invoicing via Peppol is not activated.",
                ),
            );
        }
    }
}
