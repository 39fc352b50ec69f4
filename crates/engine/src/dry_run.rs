//! Test mode: what a date range of the shop would book, before going live. The orders are read
//! from the shop exactly as a backfill reads them, but into a scratch ledger in memory; VIES is
//! asked about reverse charge as for a real booking; the rules decide on each — nothing is
//! written to the real ledger, nothing is sent to the target.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;
use ledgerlink_core::{Document, Money};
use ledgerlink_rules::Decision;
use ledgerlink_store::{DocState, SqliteStore, Store};
use serde::Serialize;

use crate::vies::NotChecked;
use crate::{Connection, Engine};

/// One document of the range and what would happen to it.
#[derive(Debug, Serialize)]
pub struct DryRunDocument {
    /// `order` or `refund`.
    pub kind: String,
    /// The shop's number.
    pub number: String,
    /// `book`, `not_yet`, `skip` or `hold`.
    pub outcome: &'static str,
    /// The reference it would carry in the ledger (when booked).
    pub reference: String,
    pub currency: String,
    /// The amount booked (refunds negative); empty unless booked.
    pub total: Option<Money>,
    /// Why it would not be booked.
    pub reason: String,
}

/// What a date range would book, and an upper bound of the target API calls it would cost.
#[derive(Debug, Serialize)]
pub struct DryRun {
    pub documents: Vec<DryRunDocument>,
    pub to_book: usize,
    /// Booked amounts per currency.
    pub totals: Vec<(String, Money)>,
    /// Distinct customers of the documents to book.
    pub customers: usize,
    /// One call per booking, and at most two per customer (look it up; create it when the
    /// ledger does not have it). Customers the ledger knows cost less.
    pub most_calls: usize,
}

impl Engine {
    /// Reads the orders created on the shop-local days [from, until) and decides on each with
    /// the connection's rules, without booking anything.
    pub async fn dry_run(
        &self,
        connection_id: &str,
        from: NaiveDate,
        until: NaiveDate,
    ) -> anyhow::Result<DryRun> {
        let connection = self
            .connection(connection_id)
            .ok_or_else(|| anyhow::anyhow!("unknown connection `{connection_id}`"))?;
        let scratch: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await?);
        // The scratch ledger knows the connection as the real one does.
        let record =
            self.store.connection(connection_id).await?.ok_or_else(|| {
                anyhow::anyhow!("connection `{connection_id}` is not in the ledger")
            })?;
        scratch.upsert_connection(&record).await?;
        let reader = Engine::new(
            scratch.clone(),
            vec![Connection {
                id: connection.id.clone(),
                owner: connection.owner.clone(),
                settings: crate::LiveSettings::new((*connection.settings.get()).clone()),
                source: connection.source.clone(),
                target: connection.target.clone(),
                vies: connection.vies.clone(),
            }],
            self.options.clone(),
        );
        reader
            .backfill(connection_id, from, until, &|_, _| {})
            .await?;
        let checked = reader
            .connection(connection_id)
            .expect("the reader has the connection")
            .clone();
        let mut documents = Vec::new();
        let mut totals: std::collections::BTreeMap<String, Money> = Default::default();
        let mut customers = BTreeSet::new();
        for row in scratch.documents(connection_id, None).await? {
            let mut item = DryRunDocument {
                kind: row.kind.clone(),
                number: row.number.clone(),
                outcome: "hold",
                reference: String::new(),
                currency: String::new(),
                total: None,
                reason: row.reason.clone().unwrap_or_default(),
            };
            let document = (row.state != DocState::Held)
                .then(|| serde_json::from_value::<Document>(row.document_json.clone()).ok())
                .flatten();
            if let Some(document) = document {
                let settings = connection.settings.get();
                let checks = match reader
                    .checks(&checked, &settings, &document, row.id)
                    .await?
                {
                    Ok(checks) => checks,
                    Err(NotChecked::Wait { reason, .. }) => {
                        (item.outcome, item.reason) = ("not_yet", reason);
                        documents.push(item);
                        continue;
                    }
                    Err(NotChecked::Hold { reason }) => {
                        item.reason = reason;
                        documents.push(item);
                        continue;
                    }
                };
                match ledgerlink_rules::decide_checked(&document, &settings, &checks) {
                    Decision::Book { plan } => {
                        item.outcome = "book";
                        item.reference = plan.reference.clone();
                        item.currency = plan.currency.to_string();
                        item.total = Some(plan.total);
                        *totals.entry(item.currency.clone()).or_insert(Money::ZERO) += plan.total;
                        customers.insert(plan.customer.match_value.clone());
                    }
                    Decision::NotYet { reason } => {
                        (item.outcome, item.reason) = ("not_yet", reason)
                    }
                    Decision::Skip { reason } => (item.outcome, item.reason) = ("skip", reason),
                    Decision::Hold { reason } => (item.outcome, item.reason) = ("hold", reason),
                }
            }
            documents.push(item);
        }
        let to_book = documents.iter().filter(|d| d.outcome == "book").count();
        Ok(DryRun {
            to_book,
            totals: totals.into_iter().collect(),
            customers: customers.len(),
            most_calls: to_book + 2 * customers.len(),
            documents,
        })
    }
}
