//! What the rules need looked up first. VIES, for documents that would be booked with reverse
//! charge: answers are kept for a day per VAT number; an outage is never an "invalid": the
//! document waits and is checked again. And the year's distance sales so far, for the OSS
//! threshold of a merchant not registered for OSS.

use chrono::{DateTime, Datelike, Duration, Utc};
use ledgerlink_core::{BookingPlan, Document, DocumentKind};
use ledgerlink_lookups::vies::ViesAnswer;
use ledgerlink_rules::{vies::needs_vies, BookingSettings, Checks, ViesVerdict};
use serde_json::json;

use crate::{Connection, Engine};

/// How long a VIES answer about one number is relied on.
const VIES_ANSWER_HOURS: i64 = 24;

/// Why the rules cannot run yet, or not at all.
pub(crate) enum NotChecked {
    /// VIES is unavailable: try again then.
    Wait {
        reason: String,
        until: DateTime<Utc>,
    },
    /// VIES refused the question itself (a malformed number, our own number refused).
    Hold { reason: String },
}

impl Engine {
    /// The checks a decision under `settings` needs (the rules in force when the document's
    /// decision began: the checks and the decision take one snapshot).
    pub(crate) async fn checks(
        &self,
        connection: &Connection,
        settings: &BookingSettings,
        document: &Document,
        document_id: i64,
    ) -> anyhow::Result<Result<Checks, NotChecked>> {
        let vies = match self.vies_verdict(connection, settings, document).await? {
            Ok(verdict) => verdict,
            Err(not_checked) => return Ok(Err(not_checked)),
        };
        let distance_sales_this_year = if settings.oss_applies()
            || ledgerlink_rules::vat::distance_sales(document, settings).is_zero()
        {
            None
        } else {
            Some(
                self.store
                    .distance_sales(&connection.id, document.date.year(), document_id)
                    .await?,
            )
        };
        Ok(Ok(Checks {
            vies,
            distance_sales_this_year,
            sale_had_destination_vat: self.sale_had_destination_vat(connection, document).await?,
        }))
    }

    /// For a refund: whether the sale it corrects was planned with the destination's VAT.
    async fn sale_had_destination_vat(
        &self,
        connection: &Connection,
        document: &Document,
    ) -> anyhow::Result<Option<bool>> {
        let Some(refund_of) = &document.refund_of else {
            return Ok(None);
        };
        let sale = self
            .store
            .document_by_source(
                &connection.id,
                DocumentKind::Order.as_str(),
                &refund_of.source_ref.id,
            )
            .await?;
        let plan = sale
            .and_then(|row| row.plan_json)
            .and_then(|plan| serde_json::from_value::<BookingPlan>(plan).ok());
        Ok(plan.map(|plan| {
            plan.lines
                .iter()
                .any(|line| line.vat_treatment.starts_with("oss/"))
        }))
    }

    async fn vies_verdict(
        &self,
        connection: &Connection,
        settings: &BookingSettings,
        document: &Document,
    ) -> anyhow::Result<Result<Option<ViesVerdict>, NotChecked>> {
        let (Some(vies), Some(number)) = (&connection.vies, &document.customer.vat_number) else {
            return Ok(Ok(None));
        };
        if !needs_vies(document, settings) {
            return Ok(Ok(None));
        }
        let key = number.to_string();
        let cached = self
            .store
            .cache_get(&connection.id, "vies", "check", &key)
            .await?;
        if let Some(cached) = cached {
            let fresh = cached["checked_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| {
                    Utc::now() - t.with_timezone(&Utc) < Duration::hours(VIES_ANSWER_HOURS)
                });
            if let (true, Ok(verdict)) = (
                fresh,
                serde_json::from_value::<ViesVerdict>(cached["verdict"].clone()),
            ) {
                return Ok(Ok(Some(verdict)));
            }
        }
        let answer = match vies.check(number, settings.own_vat_number.as_ref()).await {
            Ok(answer) => answer,
            Err(error) if error.is_retryable() => {
                let until = match error.kind {
                    ledgerlink_core::ErrorKind::Transient {
                        retry_after: Some(after),
                    } => {
                        // Capped: a Retry-After is not trusted beyond a day.
                        Utc::now()
                            + Duration::from_std(after.min(std::time::Duration::from_secs(86_400)))
                                .unwrap_or_else(|_| Duration::minutes(5))
                    }
                    ledgerlink_core::ErrorKind::RateLimited { until } => until,
                    _ => Utc::now() + Duration::minutes(5),
                };
                return Ok(Err(NotChecked::Wait {
                    reason: error.message_for_user,
                    until,
                }));
            }
            Err(error) => {
                return Ok(Err(NotChecked::Hold {
                    reason: error.message_for_user,
                }))
            }
        };
        let (verdict, checked_at) = match answer {
            ViesAnswer::Valid {
                consultation,
                checked_at,
                ..
            } => (ViesVerdict::Valid { consultation }, checked_at),
            ViesAnswer::Invalid {
                consultation,
                checked_at,
            } => (ViesVerdict::Invalid { consultation }, checked_at),
        };
        let record = json!({ "verdict": verdict, "checked_at": checked_at.to_rfc3339() });
        self.store
            .cache_put(&connection.id, "vies", "check", &key, &record, Utc::now())
            .await?;
        Ok(Ok(Some(verdict)))
    }
}
