//! Master data of one division (GL accounts, VAT codes, journals, items, known customers),
//! cached in the store so that every plan is checked before a call is spent on it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ledgerlink_core::ConnectorError;
use ledgerlink_store::Store;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::http::ExactHttp;

/// An unknown code triggers at most one re-read of its list per this interval.
const REFRESH_INTERVAL_MINUTES: i64 = 10;

#[derive(Clone)]
pub(crate) struct MasterData {
    store: Arc<dyn Store>,
    connection_id: String,
    scope: String,
    division: i32,
    /// When each list was last read from Exact in this process.
    last_read: Arc<Mutex<HashMap<&'static str, DateTime<Utc>>>>,
    /// Records this process has read from the store, by list and code: a 20-line order names
    /// the same few codes forty times, and the store is asked once.
    memo: Arc<std::sync::Mutex<HashMap<(&'static str, String), Value>>>,
    /// Every list was found cached once; lists are never emptied.
    loaded: Arc<AtomicBool>,
}

/// (entity, `$select`) for every list that is cached whole, keyed by its `Code`.
const LISTS: [(&str, &str); 4] = [
    ("financial/GLAccounts", "ID,Code,Description,BalanceType"),
    ("vat/VATCodes", "ID,Code,Description,Percentage"),
    ("financial/Journals", "ID,Code,Description,Type"),
    ("logistics/Items", "ID,Code,Description"),
];

/// Lists read only by connections whose settings use them (payment terms, classification).
const LISTS_ON_USE: [(&str, &str); 2] = [
    (
        "cashflow/PaymentConditions",
        "ID,Code,Description,PaymentMethod",
    ),
    (
        "crm/AccountClassifications",
        "ID,Code,Description,AccountClassificationName",
    ),
];

fn store_error(error: ledgerlink_store::StoreError) -> ConnectorError {
    ConnectorError::transient("The ledger database is unavailable.", error.to_string())
}

impl MasterData {
    pub(crate) fn new(store: Arc<dyn Store>, connection_id: &str, division: i32) -> Self {
        MasterData {
            store,
            connection_id: connection_id.to_string(),
            scope: division.to_string(),
            division,
            last_read: Arc::default(),
            memo: Arc::default(),
            loaded: Arc::default(),
        }
    }

    /// Reads every list that is not cached yet.
    pub(crate) async fn ensure_loaded(&self, http: &ExactHttp) -> Result<(), ConnectorError> {
        if self.loaded.load(Ordering::Relaxed) {
            return Ok(());
        }
        for (entity, select) in LISTS {
            let cached = self
                .store
                .cache_count(&self.connection_id, &self.scope, entity)
                .await
                .map_err(store_error)?;
            if cached == 0 {
                self.read(http, entity, select, true).await?;
            }
        }
        self.loaded.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Reads one list from Exact into the cache; unless forced, at most once per interval.
    async fn read(
        &self,
        http: &ExactHttp,
        entity: &'static str,
        select: &str,
        force: bool,
    ) -> Result<bool, ConnectorError> {
        let mut last_read = self.last_read.lock().await;
        let now = Utc::now();
        let recent = last_read
            .get(entity)
            .is_some_and(|at| now - *at < Duration::minutes(REFRESH_INTERVAL_MINUTES));
        if recent && !force {
            return Ok(false);
        }
        for record in http.get_all(self.division, entity, "", select).await? {
            if let Some(code) = record["Code"].as_str() {
                self.store
                    .cache_put(
                        &self.connection_id,
                        &self.scope,
                        entity,
                        code.trim(),
                        &record,
                        now,
                    )
                    .await
                    .map_err(store_error)?;
            }
        }
        last_read.insert(entity, now);
        self.memo
            .lock()
            .expect("memo lock")
            .retain(|(list, _), _| *list != entity);
        Ok(true)
    }

    /// A cached record by code; re-reads that one list once if the code is unknown (it may
    /// have been created in Exact since).
    async fn lookup(
        &self,
        http: &ExactHttp,
        entity: &'static str,
        code: &str,
    ) -> Result<Option<Value>, ConnectorError> {
        let key = (entity, code.trim().to_string());
        if let Some(found) = self.memo.lock().expect("memo lock").get(&key) {
            return Ok(Some(found.clone()));
        }
        let get = || async {
            let found = self
                .store
                .cache_get(&self.connection_id, &self.scope, entity, code.trim())
                .await
                .map_err(store_error)?;
            if let Some(found) = &found {
                self.memo
                    .lock()
                    .expect("memo lock")
                    .insert(key.clone(), found.clone());
            }
            Ok::<_, ConnectorError>(found)
        };
        if let Some(found) = get().await? {
            return Ok(Some(found));
        }
        let select = LISTS
            .iter()
            .chain(&LISTS_ON_USE)
            .find(|(e, _)| *e == entity)
            .map(|(_, s)| *s)
            .unwrap_or("ID,Code");
        if self.read(http, entity, select, false).await? {
            return get().await;
        }
        Ok(None)
    }

    pub(crate) async fn gl_account_id(
        &self,
        http: &ExactHttp,
        code: &str,
    ) -> Result<String, ConnectorError> {
        let account = self.lookup(http, "financial/GLAccounts", code).await?.ok_or_else(|| {
            ConnectorError::config(format!(
                "Ledger account `{code}` does not exist in Exact Online division {}. Create it in Exact or change the account in the settings, then retry.",
                self.division
            ))
        })?;
        id_of(&account)
    }

    /// The VAT code as Exact writes it (it may be space-padded).
    pub(crate) async fn vat_code(
        &self,
        http: &ExactHttp,
        code: &str,
    ) -> Result<String, ConnectorError> {
        let vat = self.lookup(http, "vat/VATCodes", code).await?.ok_or_else(|| {
            ConnectorError::config(format!(
                "VAT code `{code}` does not exist in Exact Online division {}. Map the VAT treatment to an existing code under [connections.booking.vat_codes], then retry.",
                self.division
            ))
        })?;
        Ok(vat["Code"].as_str().unwrap_or(code).to_string())
    }

    /// The item an e-mailed invoice's lines are booked with.
    pub(crate) async fn item_id(
        &self,
        http: &ExactHttp,
        code: &str,
    ) -> Result<String, ConnectorError> {
        let item = self
            .lookup(http, "logistics/Items", code)
            .await?
            .ok_or_else(|| {
                ConnectorError::config(format!(
                    "Item `{code}` does not exist in Exact Online division {}. Create it in Exact (Logistics > Items) or set `invoice_item` under [connections.booking.payment_terms] to an existing item's code, then retry.",
                    self.division
                ))
            })?;
        id_of(&item)
    }

    /// The journal's code, checked to be a sales journal (type 20).
    pub(crate) async fn sales_journal(
        &self,
        http: &ExactHttp,
        code: &str,
    ) -> Result<String, ConnectorError> {
        let journal = self.lookup(http, "financial/Journals", code).await?.ok_or_else(|| {
            ConnectorError::config(format!(
                "Journal `{code}` does not exist in Exact Online division {}. Set `journal` to the code of a sales journal, then retry.",
                self.division
            ))
        })?;
        if journal["Type"].as_i64() != Some(20) {
            return Err(ConnectorError::config(format!(
                "Journal `{code}` in Exact Online is not a sales journal. Set `journal` to the code of a sales journal, then retry."
            )));
        }
        Ok(journal["Code"].as_str().unwrap_or(code).trim().to_string())
    }

    /// The payment condition's code as Exact writes it. For a payment registered at once
    /// (`paid`) it must be of payment method Cash (`K`): Exact registers the payment through it.
    pub(crate) async fn payment_condition(
        &self,
        http: &ExactHttp,
        code: &str,
        paid: bool,
    ) -> Result<String, ConnectorError> {
        let condition = self
            .lookup(http, "cashflow/PaymentConditions", code)
            .await?
            .ok_or_else(|| {
                ConnectorError::config(format!(
                    "Payment condition `{code}` does not exist in Exact Online division {}. Set `condition` under [connections.booking.payment_terms] to an existing code, then retry.",
                    self.division
                ))
            })?;
        let method = condition["PaymentMethod"]
            .as_str()
            .unwrap_or_default()
            .trim();
        if paid && method != "K" {
            return Err(ConnectorError::config(format!(
                "Payment condition `{code}` in Exact Online division {} is of payment method `{method}`, not Cash (`K`), so Exact would not register the payment. Set `condition` under [connections.booking.payment_terms] to a Cash condition (e.g. `00`) for this payment method, or drop `paid = true`, then retry.",
                self.division
            )));
        }
        Ok(condition["Code"]
            .as_str()
            .unwrap_or(code)
            .trim()
            .to_string())
    }

    /// The `Classification<n>` field and the classification's id for a classification code:
    /// Exact keeps up to eight classifications per relation, one per classification name.
    pub(crate) async fn classification(
        &self,
        http: &ExactHttp,
        code: &str,
    ) -> Result<(String, String), ConnectorError> {
        let unknown = || {
            ConnectorError::config(format!(
                "Classification `{code}` does not exist in Exact Online division {}. Create it in Exact (CRM > Classifications) or change [[connections.booking.classifications]], then retry.",
                self.division
            ))
        };
        let classification = self
            .lookup(http, "crm/AccountClassifications", code)
            .await?
            .ok_or_else(unknown)?;
        let name = classification["AccountClassificationName"]
            .as_str()
            .ok_or_else(unknown)?;
        let names = match self
            .store
            .cache_get(
                &self.connection_id,
                &self.scope,
                "crm/AccountClassificationNames",
                "all",
            )
            .await
            .map_err(store_error)?
        {
            Some(names) => names,
            None => {
                let names = Value::Array(
                    http.get_all(
                        self.division,
                        "crm/AccountClassificationNames",
                        "",
                        "ID,SequenceNumber",
                    )
                    .await?,
                );
                self.store
                    .cache_put(
                        &self.connection_id,
                        &self.scope,
                        "crm/AccountClassificationNames",
                        "all",
                        &names,
                        Utc::now(),
                    )
                    .await
                    .map_err(store_error)?;
                names
            }
        };
        let sequence = names
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["ID"].as_str() == Some(name))
            .and_then(|n| n["SequenceNumber"].as_i64())
            .filter(|n| (1..=8).contains(n))
            .ok_or_else(unknown)?;
        Ok((format!("Classification{sequence}"), id_of(&classification)?))
    }

    /// The division's accounts, journals and VAT codes, as cached (read from Exact when the
    /// cache is empty or older than the refresh interval).
    pub(crate) async fn ledger_codes(
        &self,
        http: &ExactHttp,
    ) -> Result<crate::LedgerCodes, ConnectorError> {
        self.ensure_loaded(http).await?;
        let mut lists = Vec::new();
        for entity in ["financial/GLAccounts", "financial/Journals", "vat/VATCodes"] {
            let select = LISTS
                .iter()
                .find(|(listed, _)| *listed == entity)
                .map(|(_, select)| *select)
                .unwrap_or("ID,Code,Description");
            self.read(http, entity, select, false).await?;
            let records = self
                .store
                .cache_list(&self.connection_id, &self.scope, entity)
                .await
                .map_err(store_error)?;
            lists.push(
                records
                    .iter()
                    .filter_map(|record| {
                        Some(crate::LedgerCode {
                            code: record["Code"].as_str()?.trim().to_string(),
                            description: record["Description"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        })
                    })
                    .collect(),
            );
        }
        let [accounts, journals, vat_codes] = <[_; 3]>::try_from(lists).unwrap_or_default();
        Ok(crate::LedgerCodes {
            accounts,
            journals,
            vat_codes,
        })
    }

    /// Every code the settings name that the division does not have, with its setting.
    pub(crate) async fn unknown_codes(
        &self,
        http: &ExactHttp,
        accounts: &[(String, String)],
        journals: &[(String, String)],
        vat_codes: &[(String, String)],
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        self.ensure_loaded(http).await?;
        let mut unknown = Vec::new();
        for (entity, codes) in [
            ("financial/GLAccounts", accounts),
            ("financial/Journals", journals),
            ("vat/VATCodes", vat_codes),
        ] {
            for (setting, code) in codes {
                if self.lookup(http, entity, code).await?.is_none() {
                    unknown.push((setting.clone(), code.clone()));
                }
            }
        }
        Ok(unknown)
    }

    /// A relation found before: its id and the fingerprint of the shop's data it was last
    /// created or updated with.
    pub(crate) async fn cached_account(
        &self,
        key: &str,
    ) -> Result<Option<(String, Option<String>)>, ConnectorError> {
        let found = self
            .store
            .cache_get(&self.connection_id, &self.scope, "crm/Accounts", key)
            .await
            .map_err(store_error)?;
        Ok(found.and_then(|v| {
            let id = v["ID"].as_str()?.to_string();
            let fingerprint = v["fingerprint"].as_str().filter(|f| !f.is_empty());
            Some((id, fingerprint.map(str::to_string)))
        }))
    }

    pub(crate) async fn cache_account(
        &self,
        key: &str,
        id: &str,
        fingerprint: &str,
    ) -> Result<(), ConnectorError> {
        self.store
            .cache_put(
                &self.connection_id,
                &self.scope,
                "crm/Accounts",
                key,
                &json!({ "ID": id, "fingerprint": fingerprint }),
                Utc::now(),
            )
            .await
            .map_err(store_error)
    }
}

fn id_of(record: &Value) -> Result<String, ConnectorError> {
    record["ID"].as_str().map(str::to_string).ok_or_else(|| {
        ConnectorError::transient(
            "Exact Online's master data is incomplete.",
            format!("record without ID: {record}"),
        )
    })
}
