//! Changing a connection's booking rules, and who hears of what, while it runs, as the panel
//! and its API do: what a person chooses from — the shop's own statuses, the ledger's own
//! accounts, journals and VAT codes — and the checks a change passes before the ledger keeps
//! it.

use std::sync::Arc;

use ledgerlink_rules::BookingSettings;
use ledgerlink_store::SettingsEdit;
use ledgerlink_targets::LedgerCodes;
use serde::Serialize;

use crate::notify::Recipients;
use crate::{Engine, Source};

/// A status an order can have in the shop, as a trigger names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShopStatus {
    /// What `triggers` and `skip_statuses` hold: a slug, `state:<id>` or `flag:<flag>`.
    pub trigger: String,
    pub name: String,
}

/// What a connection's rules can name, read from the shop and the ledger.
#[derive(Clone, Debug, Serialize)]
pub struct RuleChoices {
    pub statuses: Vec<ShopStatus>,
    pub codes: LedgerCodes,
}

/// WooCommerce's order statuses (its REST reference); plugins add their own, which a person
/// names by slug.
const WOOCOMMERCE_STATUSES: [(&str, &str); 8] = [
    ("pending", "Pending payment"),
    ("processing", "Processing"),
    ("on-hold", "On hold"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
    ("refunded", "Refunded"),
    ("failed", "Failed"),
    ("trash", "Trash"),
];

/// PrestaShop's status flags, which match every status that has them.
const PRESTASHOP_FLAGS: [(&str, &str); 4] = [
    ("flag:paid", "Any status flagged paid"),
    ("flag:invoice", "Any status that makes an invoice"),
    ("flag:shipped", "Any status flagged shipped"),
    ("flag:delivered", "Any status flagged delivered"),
];

/// Why rules were not taken: each problem names the setting and says what to do.
#[derive(Debug)]
pub enum RulesRefused {
    Problems(Vec<String>),
    /// Someone changed them since the revision the change was made on.
    Changed,
    UnknownConnection,
}

impl Engine {
    /// The shop's statuses and the ledger's codes for `connection_id`'s rules; `Err` says in
    /// words why the shop or the ledger could not be asked.
    pub async fn rule_choices(&self, connection_id: &str) -> Result<RuleChoices, String> {
        let connection = self
            .connection(connection_id)
            .ok_or_else(|| format!("There is no connection `{connection_id}`."))?;
        let statuses = match &connection.source {
            Source::Woocommerce { .. } => WOOCOMMERCE_STATUSES
                .iter()
                .map(|(slug, name)| ShopStatus {
                    trigger: slug.to_string(),
                    name: name.to_string(),
                })
                .collect(),
            Source::Prestashop { client } => {
                let states = client.order_states().await.map_err(|e| {
                    format!(
                        "The shop's order statuses could not be read: {}",
                        e.message_for_user
                    )
                })?;
                PRESTASHOP_FLAGS
                    .iter()
                    .map(|(trigger, name)| ShopStatus {
                        trigger: trigger.to_string(),
                        name: name.to_string(),
                    })
                    .chain(states.values().map(|state| ShopStatus {
                        trigger: format!("state:{}", state.id),
                        name: state.name.clone(),
                    }))
                    .collect()
            }
        };
        let codes = connection.target.ledger_codes().await.map_err(|e| {
            format!(
                "The {} ledger's accounts, journals and VAT codes could not be read: {}",
                connection.target.kind().as_str(),
                e.message_for_user
            )
        })?;
        Ok(RuleChoices { statuses, codes })
    }

    /// Checks `settings` as the settings file's are checked, and every code they name against
    /// the ledger; keeps them as `by`'s change and puts them in force at once (other processes
    /// take them up on their next round). With `read_at`, only while the rules are still the
    /// ones of that revision (the page the person changed).
    pub async fn change_rules(
        &self,
        connection_id: &str,
        settings: BookingSettings,
        by: &str,
        read_at: Option<i64>,
    ) -> anyhow::Result<Result<(), RulesRefused>> {
        let Some(connection) = self.connection(connection_id) else {
            return Ok(Err(RulesRefused::UnknownConnection));
        };
        if let Err(problems) = check_rules(&connection, &settings).await {
            return Ok(Err(RulesRefused::Problems(problems)));
        }
        let edit = SettingsEdit {
            by: by.to_string(),
            at: chrono::Utc::now(),
        };
        let saved = self
            .store
            .save_booking_settings(
                connection_id,
                &serde_json::to_value(&settings)?,
                Some(&edit),
                read_at,
            )
            .await;
        match saved {
            Ok(_) => {}
            Err(ledgerlink_store::StoreError::Changed(_)) => return Ok(Err(RulesRefused::Changed)),
            Err(error) => return Err(error.into()),
        }
        self.reload_settings().await?;
        Ok(Ok(()))
    }

    /// Puts the settings file's rules back in force for `connection_id`.
    pub async fn reset_rules(&self, connection_id: &str) -> anyhow::Result<bool> {
        let Some(connection) = self.connection(connection_id) else {
            return Ok(false);
        };
        let from_file = serde_json::to_value(connection.settings.from_file())?;
        self.store
            .save_booking_settings(connection_id, &from_file, None, None)
            .await?;
        self.reload_settings().await?;
        Ok(true)
    }
}

impl Engine {
    /// Puts `recipients` in force for `connection_id` once they can be sent to: e-mail needs
    /// the settings file's mail server, a report its hour of the day.
    pub async fn change_recipients(
        &self,
        connection_id: &str,
        recipients: Recipients,
        by: &str,
    ) -> anyhow::Result<Result<(), RulesRefused>> {
        if self.connection(connection_id).is_none() {
            return Ok(Err(RulesRefused::UnknownConnection));
        }
        let mut problems = Vec::new();
        match self.notifier().running() {
            None => problems.push(
                "this ledgerlink sends no notifications (it was started without them); nothing can be sent".to_string(),
            ),
            Some(false) if !recipients.email.is_empty() => problems.push(
                "`email`: this ledgerlink has no mail server to send through; the operator sets one in the settings file's `[smtp]`".to_string(),
            ),
            Some(_) => {}
        }
        if recipients.report_hour > 23 {
            problems.push(format!(
                "`report_hour`: {} is not an hour of the day (0 to 23, UTC)",
                recipients.report_hour
            ));
        }
        if !problems.is_empty() {
            return Ok(Err(RulesRefused::Problems(problems)));
        }
        let edit = SettingsEdit {
            by: by.to_string(),
            at: chrono::Utc::now(),
        };
        let json = serde_json::to_value(&recipients)?;
        self.store
            .save_notifications(connection_id, Some((&json, &edit)))
            .await?;
        self.reload_settings().await?;
        Ok(Ok(()))
    }

    /// The settings file's notifications in force again for `connection_id`.
    pub async fn reset_recipients(&self, connection_id: &str) -> anyhow::Result<bool> {
        if self.connection(connection_id).is_none() {
            return Ok(false);
        }
        self.store.save_notifications(connection_id, None).await?;
        self.reload_settings().await?;
        Ok(true)
    }
}

/// The settings' own rules, then every account, journal and VAT code against the ledger.
async fn check_rules(
    connection: &Arc<crate::Connection>,
    settings: &BookingSettings,
) -> Result<(), Vec<String>> {
    if let Err(found) = settings.validate(chrono::Utc::now().date_naive()) {
        return Err(found
            .into_iter()
            .map(|p| format!("`{}`: {}", p.setting, p.problem))
            .collect());
    }
    if settings.vies_check && connection.vies.is_none() {
        return Err(vec![format!(
            "`vies_check`: there is no VIES service to ask; set `vies_url` in the settings file (the EC's is {}) and restart, or leave the check off",
            ledgerlink_lookups::vies::VIES_REST_API
        )]);
    }
    let vat_codes: Vec<(String, String)> = settings
        .vat_codes
        .iter()
        .map(|(key, code)| (format!("vat_codes.\"{key}\""), code.clone()))
        .collect();
    let ledger = connection.target.kind().as_str();
    match connection
        .target
        .unknown_codes(
            &settings.account_codes(),
            &settings.journal_codes(),
            &vat_codes,
        )
        .await
    {
        Ok(unknown) if unknown.is_empty() => Ok(()),
        Ok(unknown) => Err(unknown
            .into_iter()
            .map(|(setting, code)| {
                format!("`{setting}`: `{code}` does not exist in the {ledger} books; choose one it has, or create it there first")
            })
            .collect()),
        Err(error) => Err(vec![format!(
            "The {ledger} ledger could not be asked whether these codes exist ({}); nothing was changed, try again in a moment",
            error.message_for_user
        )]),
    }
}
