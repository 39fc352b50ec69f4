//! What a plan names in Tryton, checked before anything is written: ledger accounts by code,
//! taxes by name, the journal by code, the currency, and the company's defaults for the
//! receivable account and payment term. Read fresh for every plan (a local JSON-RPC call is
//! cheap, and a closed account is noticed at once).

use std::collections::{BTreeSet, HashMap};

use ledgerlink_core::{BookingPlan, ConnectorError};
use serde_json::{json, Value};

use super::rpc::{id_of, TrytonRpc};
use super::wire;

pub(crate) struct Books {
    pub(crate) company: i64,
    pub(crate) currency: i64,
    pub(crate) journal: i64,
    /// Account id by code.
    pub(crate) accounts: HashMap<String, i64>,
    /// Tax id by name.
    pub(crate) taxes: HashMap<String, i64>,
    pub(crate) default_receivable: Option<i64>,
    pub(crate) default_payment_term: Option<i64>,
}

impl Books {
    pub(crate) async fn load(rpc: &TrytonRpc, plan: &BookingPlan) -> Result<Books, ConnectorError> {
        let (company, currency, journal, accounts, taxes, defaults) = tokio::try_join!(
            rpc.company(),
            currency(rpc, plan.currency.code()),
            journal(rpc, &plan.journal),
            accounts(rpc, plan),
            taxes(rpc, plan),
            rpc.read(
                "account.configuration",
                &[1],
                &[
                    "default_account_receivable",
                    "default_customer_payment_term"
                ],
            ),
        )?;
        let default = |field: &str| defaults.first().and_then(|d| d[field].as_i64());
        Ok(Books {
            company,
            currency,
            journal,
            accounts,
            taxes,
            default_receivable: default("default_account_receivable"),
            default_payment_term: default("default_customer_payment_term"),
        })
    }
}

/// Checks that the account an invoice is booked against can take it.
pub(crate) async fn check_receivable(rpc: &TrytonRpc, id: i64) -> Result<(), ConnectorError> {
    let domain = json!([
        ["id", "=", id],
        ["type.receivable", "=", true],
        ["closed", "!=", true]
    ]);
    if rpc
        .search_read("account.account", domain, &["code"])
        .await?
        .is_empty()
    {
        return Err(ConnectorError::config(format!(
            "The receivable account (id {id}) for this customer in Tryton is closed or not of a receivable type. Fix the customer's or the company's default receivable account in Tryton, then retry."
        )));
    }
    Ok(())
}

async fn currency(rpc: &TrytonRpc, code: &str) -> Result<i64, ConnectorError> {
    let found = rpc
        .search_read("currency.currency", json!([["code", "=", code]]), &["code"])
        .await?;
    let currency = found.first().ok_or_else(|| {
        ConnectorError::config(format!(
            "The currency {code} does not exist in Tryton. Add it (with its rates) in Tryton, then retry."
        ))
    })?;
    id_of(currency)
}

async fn journal(rpc: &TrytonRpc, code: &str) -> Result<i64, ConnectorError> {
    let found = rpc
        .search_read("account.journal", json!([["code", "=", code]]), &["type"])
        .await?;
    let journal = found.first().ok_or_else(|| {
        ConnectorError::config(format!(
            "Journal `{code}` does not exist in Tryton. Set `journal` to the code of a revenue journal (Tryton ships `REV`), then retry."
        ))
    })?;
    if journal["type"] != "revenue" {
        return Err(ConnectorError::config(format!(
            "Journal `{code}` in Tryton is not a revenue journal. Set `journal` to the code of a revenue journal (Tryton ships `REV`), then retry."
        )));
    }
    id_of(journal)
}

/// Every line's account by its code: one that exists once, is open and is of a revenue type
/// (Tryton allows nothing else on a customer invoice line).
async fn accounts(
    rpc: &TrytonRpc,
    plan: &BookingPlan,
) -> Result<HashMap<String, i64>, ConnectorError> {
    let codes: BTreeSet<&str> = plan.lines.iter().map(|l| l.account.as_str()).collect();
    let found = rpc
        .search_read(
            "account.account",
            json!([["code", "in", codes]]),
            &["code", "closed", "type.revenue"],
        )
        .await?;
    let mut accounts = HashMap::new();
    for code in codes {
        let matching: Vec<&Value> = found.iter().filter(|a| a["code"] == code).collect();
        let problem = match matching.as_slice() {
            [] => "does not exist in Tryton",
            [account] if wire::truthy(&account["closed"]) => "is closed in Tryton",
            // `type.` is the dotted read of the account's type (null for a view account).
            [account] if !wire::truthy(&account["type."]["revenue"]) => {
                "is not of a revenue type in Tryton, which customer invoice lines need"
            }
            [account] => {
                accounts.insert(code.to_string(), id_of(account)?);
                continue;
            }
            _ => "exists more than once in Tryton",
        };
        return Err(ConnectorError::config(format!(
            "Ledger account `{code}` {problem}. Fix it in Tryton or change the account in the settings, then retry."
        )));
    }
    Ok(accounts)
}

/// A plan's `vat_code` is the **name** of a Tryton tax (`account.tax` has no code field): an
/// active top-level sales tax, valid on the entry date.
async fn taxes(
    rpc: &TrytonRpc,
    plan: &BookingPlan,
) -> Result<HashMap<String, i64>, ConnectorError> {
    let names: BTreeSet<&str> = plan.lines.iter().map(|l| l.vat_code.as_str()).collect();
    let domain = json!([
        ["name", "in", names],
        ["parent", "=", null],
        [
            "OR",
            ["group", "=", null],
            ["group.kind", "in", ["sale", "both"]]
        ],
    ]);
    let found = rpc
        .search_read("account.tax", domain, &["name", "start_date", "end_date"])
        .await?;
    let mut taxes = HashMap::new();
    for name in names {
        let matching: Vec<&Value> = found.iter().filter(|t| t["name"] == name).collect();
        let valid = |tax: &Value| {
            let from = wire::to_date(&tax["start_date"]);
            let to = wire::to_date(&tax["end_date"]);
            from.is_none_or(|from| from <= plan.entry_date)
                && to.is_none_or(|to| plan.entry_date <= to)
        };
        let problem = match matching.as_slice() {
            [] => "is not the name of an active sales tax in Tryton".to_string(),
            [tax] if !valid(tax) => format!("is not valid on {} in Tryton", plan.entry_date),
            [tax] => {
                taxes.insert(name.to_string(), id_of(tax)?);
                continue;
            }
            _ => "names more than one sales tax in Tryton".to_string(),
        };
        return Err(ConnectorError::config(format!(
            "VAT code `{name}` {problem}. Map the VAT treatment to the name of a Tryton sales tax under [connections.booking.vat_codes], then retry."
        )));
    }
    Ok(taxes)
}
