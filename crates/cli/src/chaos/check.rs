//! The judge of a chaos run: only what the emulated shops and Exact recorded, and the ledger's
//! reasons for what it holds. Every paid document is booked exactly once — to the cent — or
//! held with a reason; nothing unpaid is booked; no booked entry is ever changed; every call
//! is made with its own tenant's credentials.

use std::collections::{BTreeMap, BTreeSet};

use ledgerlink_sandbox::exact::ExactSandbox;
use ledgerlink_store::{DocState, Store};
use rust_decimal::Decimal;

/// A document the shops made that must end booked (or held): its reference and total.
pub struct Expected {
    pub connection: String,
    pub division: i32,
    pub kind: &'static str,
    pub source_id: String,
    pub reference: String,
    pub total: Decimal,
}

/// What was found; `problems` empty means the run passed.
#[derive(Debug, Default, serde::Serialize)]
pub struct Verdict {
    pub expected: usize,
    pub booked: usize,
    pub held: usize,
    pub entries: usize,
    pub problems: Vec<String>,
}

pub async fn judge(
    store: &dyn Store,
    exact: &ExactSandbox,
    divisions: &BTreeMap<String, i32>,
    expected: &[Expected],
    never_booked: &[(String, i32, String)],
) -> anyhow::Result<Verdict> {
    let mut verdict = Verdict {
        expected: expected.len(),
        ..Verdict::default()
    };
    let mut problem = |text: String| verdict.problems.push(text);
    // Entries per division by reference.
    let mut entries: BTreeMap<(i32, String), Vec<Decimal>> = BTreeMap::new();
    let mut entry_count = 0;
    for division in divisions.values() {
        for entry in exact.sales_entries(*division) {
            entry_count += 1;
            if entry.modified_after_creation {
                problem(format!(
                    "entry {} in division {division} was changed after it was booked",
                    entry.entry_number
                ));
            }
            entries
                .entry((*division, entry.your_ref.clone().unwrap_or_default()))
                .or_default()
                .push(entry.amount_fc);
        }
    }
    let mut booked = 0;
    let mut held = 0;
    for document in expected {
        let found = entries
            .get(&(document.division, document.reference.clone()))
            .cloned()
            .unwrap_or_default();
        let row = store
            .document_by_source(&document.connection, document.kind, &document.source_id)
            .await?;
        match (found.as_slice(), row.as_ref().map(|r| r.state)) {
            ([total], Some(DocState::Booked)) => {
                booked += 1;
                if *total != document.total {
                    problem(format!(
                        "{} is booked for {total}, the shop's total is {}",
                        document.reference, document.total
                    ));
                }
            }
            ([], Some(DocState::Held)) => {
                held += 1;
                if row
                    .and_then(|r| r.reason)
                    .is_none_or(|r| r.trim().is_empty())
                {
                    problem(format!("{} is held without a reason", document.reference));
                }
            }
            ([], state) => problem(format!(
                "{} ({} {} of {}) was lost: no entry, ledger state {state:?}",
                document.reference, document.kind, document.source_id, document.connection
            )),
            (many, state) if many.len() > 1 => problem(format!(
                "{} is booked {} times (ledger state {state:?})",
                document.reference,
                many.len()
            )),
            (_, state) => problem(format!(
                "{} is in the target but the ledger says {state:?}",
                document.reference
            )),
        }
    }
    for (connection, division, reference) in never_booked {
        if entries.contains_key(&(*division, reference.clone())) {
            problem(format!(
                "{reference} of {connection} was never paid but is booked"
            ));
        }
    }
    let known: BTreeSet<(i32, String)> = expected
        .iter()
        .map(|d| (d.division, d.reference.clone()))
        .collect();
    for (division, reference) in entries.keys() {
        if !known.contains(&(*division, reference.clone())) {
            problem(format!(
                "division {division} has an entry {reference} no shop document explains"
            ));
        }
    }
    // No entry is ever changed or deleted, and each consent serves one division only.
    let mut divisions_per_credential: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for request in exact.recorder().all() {
        let writes_entry =
            request.path.contains("salesentry") || request.path.contains("salesinvoice");
        if writes_entry
            && matches!(
                request.method.as_str(),
                "PUT" | "PATCH" | "MERGE" | "DELETE"
            )
        {
            problem(format!("{} {} was sent", request.method, request.path));
        }
        if let (Some(credential), Some(tenant)) = (request.credential, request.tenant) {
            divisions_per_credential
                .entry(credential)
                .or_default()
                .insert(tenant);
        }
    }
    for (credential, tenants) in &divisions_per_credential {
        if tenants.len() > 1 {
            problem(format!(
                "the credentials of {credential} were used for divisions {tenants:?}"
            ));
        }
    }
    if divisions_per_credential.len() < divisions.len() {
        problem(format!(
            "{} divisions were booked with only {} consents",
            divisions.len(),
            divisions_per_credential.len()
        ));
    }
    verdict.booked = booked;
    verdict.held = held;
    verdict.entries = entry_count;
    Ok(verdict)
}
