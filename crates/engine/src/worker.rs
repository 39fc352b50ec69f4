//! The worker: claims due documents under a lease and moves each one step by step through
//! the exactly-once protocol.

use std::time::Duration;

use chrono::Utc;
use ledgerlink_core::{BookingPlan, ConnectorError, Document, DocumentKind, EntryKind, ErrorKind};
use ledgerlink_rules::Decision;
use ledgerlink_store::{DocState, Lease, LedgerRow, StoreError, Transition};
use ledgerlink_targets::BookingRef;

use crate::{Connection, Engine, Target};

fn after(delay: Duration) -> Option<chrono::DateTime<Utc>> {
    Some(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default())
}

fn reason(text: impl Into<String>) -> Transition {
    Transition {
        reason: Some(text.into()),
        ..Transition::default()
    }
}

impl Engine {
    /// One round: claims what is due and works on each document. Returns how many.
    pub async fn run_due(&self) -> anyhow::Result<usize> {
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(self.options.lease)?;
        let rows = self
            .store
            .claim_due(&self.worker_id, now, lease_until, self.options.batch)
            .await?;
        let count = rows.len();
        for row in rows {
            let id = row.id;
            match self.work_on(row).await {
                Ok(()) => {}
                // Another worker took over after our lease ran out; it owns the outcome now.
                Err(error)
                    if matches!(
                        error.downcast_ref::<StoreError>(),
                        Some(StoreError::LeaseLost { .. })
                    ) =>
                {
                    tracing::warn!(document = id, "lease lost; another worker continues");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(count)
    }

    async fn work_on(&self, row: LedgerRow) -> anyhow::Result<()> {
        let lease = row.lease();
        let Some(connection) = self.connections.get(&row.connection_id).cloned() else {
            // Another process serves this connection; let the lease run out for it.
            return Ok(());
        };
        match row.state {
            DocState::Received => self.decide(&connection, &row, lease).await,
            DocState::Planned => {
                let plan: BookingPlan =
                    serde_json::from_value(row.plan_json.clone().unwrap_or_default())?;
                self.post(&connection, &row, lease, &plan).await
            }
            // Posting means a crash during the call; uncertain means the call's outcome was
            // unknown. Either way: search the target first.
            DocState::Posting | DocState::Uncertain => {
                let plan: BookingPlan =
                    serde_json::from_value(row.plan_json.clone().unwrap_or_default())?;
                match find(&connection.target, &plan).await {
                    Ok(Some(found)) => {
                        self.booked(
                            lease,
                            found,
                            "found in the target by reference after an uncertain outcome",
                        )
                        .await
                    }
                    Ok(None) => self.post(&connection, &row, lease, &plan).await,
                    Err(error) => self.failed(&row, lease, DocState::Uncertain, error).await,
                }
            }
            DocState::Waiting | DocState::Booked | DocState::Held | DocState::Skipped => Ok(()),
        }
    }

    async fn decide(
        &self,
        connection: &Connection,
        row: &LedgerRow,
        lease: Lease,
    ) -> anyhow::Result<()> {
        let now = Utc::now();
        let document: Document = match serde_json::from_value(row.document_json.clone()) {
            Ok(document) => document,
            Err(_) => {
                let why = row.document_json["unreadable"]
                    .as_str()
                    .unwrap_or("the stored document is unreadable");
                self.store
                    .transition(
                        lease,
                        DocState::Held,
                        reason(format!(
                            "{why}. Correct it in the shop; the next change is read again."
                        )),
                        now,
                    )
                    .await?;
                return Ok(());
            }
        };
        match ledgerlink_rules::decide(&document, &connection.settings) {
            Decision::Book { plan } => {
                let change = Transition {
                    plan_json: Some(serde_json::to_value(&plan)?),
                    reference: Some(plan.reference.clone()),
                    ..Transition::default()
                };
                self.store
                    .transition_keep_lease(lease, DocState::Planned, change, now)
                    .await?;
                self.post(connection, row, lease, &plan).await
            }
            Decision::NotYet { reason: why } => Ok(self
                .store
                .transition(lease, DocState::Waiting, reason(why), now)
                .await?),
            Decision::Skip { reason: why } => Ok(self
                .store
                .transition(lease, DocState::Skipped, reason(why), now)
                .await?),
            Decision::Hold { reason: why } => Ok(self
                .store
                .transition(lease, DocState::Held, reason(why), now)
                .await?),
        }
    }

    async fn post(
        &self,
        connection: &Connection,
        row: &LedgerRow,
        lease: Lease,
        plan: &BookingPlan,
    ) -> anyhow::Result<()> {
        let corrects = match self.original_booking(connection, row, plan).await? {
            Ok(original) => original,
            Err(wait_or_hold) => {
                return Ok(self
                    .store
                    .transition(lease, wait_or_hold.0, wait_or_hold.1, Utc::now())
                    .await?)
            }
        };
        let posting = Transition {
            counts_as_attempt: true,
            ..Transition::default()
        };
        self.store
            .transition_keep_lease(lease, DocState::Posting, posting, Utc::now())
            .await?;
        let Target::Exact(target) = &connection.target;
        match target.book(plan, corrects.as_ref()).await {
            Ok(booked) => self.booked(lease, booked, "booked").await,
            Err(error) => self.failed(row, lease, DocState::Posting, error).await,
        }
    }

    /// For a credit note: the original's booking, or the state to wait in until it exists.
    async fn original_booking(
        &self,
        connection: &Connection,
        row: &LedgerRow,
        plan: &BookingPlan,
    ) -> anyhow::Result<Result<Option<BookingRef>, (DocState, Transition)>> {
        if plan.kind != EntryKind::CreditNote {
            return Ok(Ok(None));
        }
        let document: Document = serde_json::from_value(row.document_json.clone())?;
        let original_id = document
            .refund_of
            .as_ref()
            .map(|r| r.source_ref.id.clone())
            .unwrap_or_default();
        let original = self
            .store
            .document_by_source(&connection.id, DocumentKind::Order.as_str(), &original_id)
            .await?;
        Ok(match original {
            Some(original) if original.state == DocState::Booked => Ok(Some(BookingRef {
                id: original.target_id.unwrap_or_default(),
                number: None,
            })),
            Some(original) if matches!(original.state, DocState::Skipped | DocState::Held) => Err((
                DocState::Held,
                reason(format!(
                    "Refund {} corrects order {}, which is {} and not booked, so there is no booking to credit. Book or resolve the order first, then retry this refund.",
                    row.number, original.number, original.state
                )),
            )),
            _ => Err((
                DocState::Planned,
                Transition {
                    reason: Some(format!("Waiting for order {original_id} to be booked before its refund.")),
                    next_attempt_at: after(self.options.retry_base.max(Duration::from_millis(200))),
                    ..Transition::default()
                },
            )),
        })
    }

    async fn booked(&self, lease: Lease, booked: BookingRef, how: &str) -> anyhow::Result<()> {
        let change = Transition {
            target_id: Some(booked.id),
            reason: Some(how.to_string()),
            ..Transition::default()
        };
        Ok(self
            .store
            .transition(lease, DocState::Booked, change, Utc::now())
            .await?)
    }

    /// One place decides what a failed call means for the document.
    async fn failed(
        &self,
        row: &LedgerRow,
        lease: Lease,
        during: DocState,
        error: ConnectorError,
    ) -> anyhow::Result<()> {
        tracing::warn!(document = row.id, cause = %error.internal_cause, "booking attempt failed");
        let backoff = self.backoff(row.attempts);
        let retry = |at| Transition {
            reason: Some(error.message_for_user.clone()),
            next_attempt_at: at,
            ..Transition::default()
        };
        // After a failed search the outcome of the earlier post is still unknown.
        let unapplied_state = if during == DocState::Uncertain {
            DocState::Uncertain
        } else {
            DocState::Planned
        };
        let (state, change) = match &error.kind {
            ErrorKind::Uncertain => (
                DocState::Uncertain,
                retry(after(self.options.settle_delay.max(backoff))),
            ),
            ErrorKind::Transient { retry_after } => (
                unapplied_state,
                retry(after(retry_after.unwrap_or(backoff))),
            ),
            ErrorKind::RateLimited { until } => (unapplied_state, retry(Some(*until))),
            // A connection problem, not the document's: keep it queued, slowly.
            ErrorKind::Auth => (unapplied_state, retry(after(self.options.max_backoff))),
            ErrorKind::Rejected | ErrorKind::Config | ErrorKind::NotFound
                if during == DocState::Uncertain =>
            {
                (DocState::Uncertain, retry(after(backoff)))
            }
            ErrorKind::Rejected | ErrorKind::Config | ErrorKind::NotFound => {
                (DocState::Held, reason(error.message_for_user.clone()))
            }
        };
        Ok(self
            .store
            .transition(lease, state, change, Utc::now())
            .await?)
    }

    fn backoff(&self, attempts: i64) -> Duration {
        let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(0, 16)).unwrap_or(16));
        self.options
            .retry_base
            .saturating_mul(factor)
            .min(self.options.max_backoff)
    }
}

async fn find(target: &Target, plan: &BookingPlan) -> Result<Option<BookingRef>, ConnectorError> {
    match target {
        Target::Exact(exact) => exact.find(&plan.reference, plan.kind).await,
    }
}
