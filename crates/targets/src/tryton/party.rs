//! The customer as a Tryton party: found on the plan's `match_on` (an e-mail contact
//! mechanism, an EU VAT identifier or the party code), else created with its address, e-mail
//! and VAT number. No phone: Tryton refuses numbers it cannot parse, and a typo in a phone
//! number must not stop a booking.
//!
//! A party ledgerlink created follows the shop: a changed name or classification is written
//! to it, a changed address or delivery address is added as a new address (the old one stays
//! as posted invoices show it) and becomes the invoice address, a new e-mail address is added.
//! A party found in Tryton is left as the bookkeeper keeps it.

use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{Address, ConnectorError, PlanCustomer};
use serde_json::{json, Value};

use super::rpc::{id_of, TrytonRpc};
use crate::relation::Fingerprint;

pub(crate) struct Customer {
    pub(crate) party: i64,
    pub(crate) address: i64,
    /// The party's own receivable account and payment term, when it has them.
    pub(crate) receivable: Option<i64>,
    pub(crate) payment_term: Option<i64>,
}

pub(crate) async fn find_or_create(
    rpc: &TrytonRpc,
    customer: &PlanCustomer,
) -> Result<Customer, ConnectorError> {
    let (party, invoice_address) = match find(rpc, customer).await? {
        Some(party) if customer.collective => (party, None),
        Some(party) => (party, follow_the_shop(rpc, customer, party).await?),
        None if customer.collective => {
            return Err(ConnectorError::config(format!(
                "The collective relation `{}` does not exist in Tryton (no party has that code). Create it in Tryton or correct `collective_debtor` under [connections.booking.customers.private], then retry.",
                customer.match_value
            )))
        }
        None => {
            let party = create(rpc, customer).await?;
            let known = json!({ "fingerprint": Fingerprint::of(customer).to_string() });
            rpc.remember(PARTY, &party.to_string(), &known).await?;
            (party, None)
        }
    };
    let fields = ["addresses", "account_receivable", "customer_payment_term"];
    let read = rpc.read("party.party", &[party], &fields).await?;
    let record = read.first().ok_or_else(|| {
        ConnectorError::transient(
            "Tryton answered unexpectedly; ledgerlink will try again.",
            format!("party {party} read back as nothing"),
        )
    })?;
    let first_address = record["addresses"]
        .as_array()
        .and_then(|addresses| addresses.first())
        .and_then(Value::as_i64);
    let address = match invoice_address.or(first_address) {
        Some(address) => address,
        // A party entered by hand without one; an invoice needs an address.
        None => {
            let mut values = address_values(rpc, &customer.address).await?;
            values["party"] = json!(party);
            rpc.create("party.address", values).await?
        }
    };
    Ok(Customer {
        party,
        address,
        receivable: record["account_receivable"].as_i64(),
        payment_term: record["customer_payment_term"].as_i64(),
    })
}

/// The cache entity of the parties ledgerlink created.
const PARTY: &str = "party";

/// Brings a party ledgerlink created up to date with the shop; returns the invoice address
/// to use when it is not the party's first.
async fn follow_the_shop(
    rpc: &TrytonRpc,
    customer: &PlanCustomer,
    party: i64,
) -> Result<Option<i64>, ConnectorError> {
    let Some(known) = rpc.remembered(PARTY, &party.to_string()).await? else {
        return Ok(None);
    };
    let mut invoice_address = known["invoice_address"].as_i64();
    let before = Fingerprint::parse(known["fingerprint"].as_str().unwrap_or_default());
    let now = Fingerprint::of(customer);
    if before == now {
        return Ok(invoice_address);
    }
    if before.relation != now.relation {
        let mut values = json!({ "name": customer.name });
        if let Some(classification) = &customer.classification {
            values["categories"] = json!([["add", [category(rpc, classification).await?]]]);
        }
        rpc.write("party.party", &[party], values).await?;
        if let Some(email) = &customer.email {
            let domain = json!([
                ["party", "=", party],
                ["type", "=", "email"],
                ["value", "ilike", like_literal(email.as_str())]
            ]);
            if rpc
                .search_read("party.contact_mechanism", domain, &["id"])
                .await?
                .is_empty()
            {
                let mechanism = json!({ "party": party, "type": "email", "value": email.as_str() });
                rpc.create("party.contact_mechanism", mechanism).await?;
            }
        }
    }
    if before.billing != now.billing {
        let mut address = address_values(rpc, &customer.address).await?;
        address["party"] = json!(party);
        invoice_address = Some(rpc.create("party.address", address).await?);
    }
    if before.delivery != now.delivery {
        if let Some(delivery) = &customer.delivery_address {
            let mut address = address_values(rpc, delivery).await?;
            address["party"] = json!(party);
            rpc.create("party.address", address).await?;
        }
    }
    let known = json!({ "fingerprint": now.to_string(), "invoice_address": invoice_address });
    rpc.remember(PARTY, &party.to_string(), &known).await?;
    Ok(invoice_address)
}

async fn find(rpc: &TrytonRpc, customer: &PlanCustomer) -> Result<Option<i64>, ConnectorError> {
    let value = customer.match_value.trim();
    let (model, domain, field) = match customer.match_on {
        CustomerMatch::Email => (
            "party.contact_mechanism",
            json!([
                ["type", "=", "email"],
                ["value", "ilike", like_literal(value)]
            ]),
            "party",
        ),
        CustomerMatch::VatNumber => (
            "party.identifier",
            json!([
                ["type", "=", "eu_vat"],
                ["code_compact", "=", vat_code(customer)]
            ]),
            "party",
        ),
        CustomerMatch::CustomerNumber => ("party.party", json!([["code", "=", value]]), "id"),
    };
    let found = rpc.search_read(model, domain, &[field]).await?;
    Ok(found.first().and_then(|record| record[field].as_i64()))
}

async fn create(rpc: &TrytonRpc, customer: &PlanCustomer) -> Result<i64, ConnectorError> {
    let mut addresses = vec![address_values(rpc, &customer.address).await?];
    if let Some(delivery) = &customer.delivery_address {
        addresses.push(address_values(rpc, delivery).await?);
    }
    let mut party = json!({
        "name": customer.name,
        "addresses": [["create", addresses]],
    });
    let email = match (&customer.email, customer.match_on) {
        (Some(email), _) => Some(email.as_str()),
        (None, CustomerMatch::Email) => Some(customer.match_value.trim()),
        (None, _) => None,
    };
    if let Some(email) = email {
        party["contact_mechanisms"] = json!([["create", [{"type": "email", "value": email}]]]);
    }
    if customer.vat_number.is_some() || customer.match_on == CustomerMatch::VatNumber {
        party["identifiers"] =
            json!([["create", [{"type": "eu_vat", "code": vat_code(customer)}]]]);
    }
    if customer.match_on == CustomerMatch::CustomerNumber {
        party["code"] = json!(customer.match_value.trim());
    }
    if let Some(classification) = &customer.classification {
        party["categories"] = json!([["add", [category(rpc, classification).await?]]]);
    }
    rpc.create("party.party", party).await
}

/// A classification is a Tryton party category, by name.
async fn category(rpc: &TrytonRpc, name: &str) -> Result<i64, ConnectorError> {
    let found = rpc
        .search_read("party.category", json!([["name", "=", name]]), &["name"])
        .await?;
    match found.first() {
        Some(category) => id_of(category),
        None => Err(ConnectorError::config(format!(
            "Tryton has no party category `{name}`. Create it in Tryton (Party > Categories) or change [[connections.booking.classifications]], then retry."
        ))),
    }
}

async fn address_values(rpc: &TrytonRpc, address: &Address) -> Result<Value, ConnectorError> {
    let street = match address.line2.as_deref().map(str::trim) {
        Some(line2) if !line2.is_empty() => format!("{}\n{line2}", address.line1),
        _ => address.line1.clone(),
    };
    let mut values = json!({
        "street": street,
        "postal_code": address.postcode,
        "city": address.city,
    });
    // Tryton does not require a country, and not every install has loaded them.
    let code = address.country.code();
    let countries = rpc
        .search_read("country.country", json!([["code", "=", code]]), &["code"])
        .await?;
    if let Some(country) = countries.first() {
        values["country"] = json!(id_of(country)?);
    }
    Ok(values)
}

/// The VAT number as Tryton keeps it compacted (`NL000099998B57`).
fn vat_code(customer: &PlanCustomer) -> String {
    match &customer.vat_number {
        Some(vat) => vat.to_string(),
        None => customer.match_value.trim().to_string(),
    }
}

/// `ilike` without wildcards is a case-insensitive equality; `%` and `_` in an e-mail address
/// must then match only themselves.
fn like_literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_an_email_match_only_themselves() {
        assert_eq!(
            like_literal(r"jan_de%vries\x@example.nl"),
            r"jan\_de\%vries\\x@example.nl"
        );
    }
}
