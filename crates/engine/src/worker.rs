//! The worker: claims due documents under a lease and moves each one through the
//! exactly-once protocol.
//!
//! The lease guards the booking call itself: `posting` is committed with a fresh lease, the
//! call is the only thing done under it and is cut off before the lease ends, and a `posting`
//! document only becomes due again after its lease and a settle delay. So no second worker can
//! start on a document while a call for it may still be under way.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ledgerlink_core::{BookingPlan, ConnectorError, Document, DocumentKind, EntryKind, ErrorKind};
use ledgerlink_rules::posting::{self, SummaryGroup, SUMMARY_KIND};
use ledgerlink_rules::Decision;
use ledgerlink_store::{DocState, Lease, LedgerRow, StoreError, SummaryJoin, Transition};
use ledgerlink_targets::BookingRef;

use crate::vies::NotChecked;
use crate::{Connection, Engine};

/// A rate limit lifting within this is the minute's budget (Exact resets it every minute).
const MINUTE_BUDGET_PAUSE_MINUTES: i64 = 2;

/// How long a credit note waits for the order it corrects before it is held.
const WAIT_FOR_ORIGINAL_HOURS: i64 = 24;

/// Where a failure happened, which decides what it means for the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before the write: master data, customer, budget. The entry was not sent.
    Preparing,
    /// The write itself.
    Posting,
    /// Searching the target after an outcome that may have landed.
    Searching,
}

/// Where the order a credit note corrects stands.
enum Original {
    /// Not booked yet: the credit note waits (or is held) in this state.
    Wait(DocState, Transition),
    /// Booked, on its own or in the summary entry with this reference.
    Booked { summary_reference: Option<String> },
}

/// Now plus `delay`, capped at a day: a delay is never worth more, and an absurd one (a
/// `Retry-After` of a thousand years) must not overflow.
fn at(delay: Duration) -> DateTime<Utc> {
    let delay =
        chrono::Duration::from_std(delay.min(Duration::from_secs(86_400))).unwrap_or_default();
    Utc::now() + delay
}

fn reason(text: impl Into<String>) -> Transition {
    Transition {
        reason: Some(text.into()),
        ..Transition::default()
    }
}

fn is_lease_lost(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<StoreError>(),
        Some(StoreError::LeaseLost { .. })
    )
}

impl Engine {
    /// One round: claims what is due and works on each document. Returns how many.
    /// A failure on one document is logged and leaves the others unharmed; the failed one is
    /// due again when its lease runs out.
    pub async fn run_due(&self) -> anyhow::Result<usize> {
        // Webhook deliveries first: they become the documents worked on below.
        let taken_in = self.run_inbox().await?;
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(self.options.lease)?;
        let paused = self.paused_connections(now);
        let rows = self
            .store
            .claim_due_except(
                &self.worker_id,
                now,
                lease_until,
                self.options.batch,
                &paused,
            )
            .await?;
        let count = rows.len();
        for row in rows {
            let id = row.id;
            if let Err(error) = self.work_on(row).await {
                if is_lease_lost(&error) {
                    // Another worker, or a newer version from the source, took over.
                    tracing::info!(
                        document = id,
                        "lease lost; the document is worked on elsewhere"
                    );
                } else {
                    tracing::error!(document = id, error = %error, "working on a document failed; it is retried later");
                }
            }
        }
        Ok(taken_in + count)
    }

    async fn work_on(&self, row: LedgerRow) -> anyhow::Result<()> {
        let lease = row.lease();
        let Some(connection) = self.connection(&row.connection_id) else {
            // Another process serves this connection; let the lease run out for it.
            return Ok(());
        };
        if row.kind == SUMMARY_KIND {
            return self.work_on_summary(&connection, row).await;
        }
        if row.state == DocState::Received {
            return self.decide(&connection, &row, lease).await;
        }
        let plan: BookingPlan = match row.plan_json.clone().map(serde_json::from_value) {
            Some(Ok(plan)) => plan,
            _ => {
                let why = "The stored plan of this document is unreadable. Check the target for its reference before retrying.";
                return self.release(&row, lease, DocState::Held, reason(why)).await;
            }
        };
        self.continue_plan(&connection, &row, lease, &plan).await
    }

    /// Takes a planned document on from where it stands.
    async fn continue_plan(
        &self,
        connection: &Connection,
        row: &LedgerRow,
        lease: Lease,
        plan: &BookingPlan,
    ) -> anyhow::Result<()> {
        match row.state {
            DocState::Planned => self.post(connection, row, lease, plan).await,
            // `posting` means a crash during the call, `uncertain` an unknown outcome: the
            // target is searched before anything else.
            DocState::Posting | DocState::Uncertain => {
                match self.search(connection, row, lease, plan).await? {
                    Some(()) => Ok(()),
                    None => self.post(connection, row, lease, plan).await,
                }
            }
            DocState::Received
            | DocState::Waiting
            | DocState::Booked
            | DocState::Held
            | DocState::Skipped
            | DocState::Collecting
            | DocState::Pooled => Ok(()),
        }
    }

    /// A summary entry: when its day has closed it stops collecting, its plan is made from
    /// its members' plans, and from there it is booked like any document. The plan is made
    /// again (the same, from the same members) whenever none is stored or a person retries.
    async fn work_on_summary(&self, connection: &Connection, row: LedgerRow) -> anyhow::Result<()> {
        let lease = row.lease();
        let stored_plan = row
            .plan_json
            .clone()
            .and_then(|p| serde_json::from_value::<BookingPlan>(p).ok());
        let plan = match (row.state, stored_plan) {
            (DocState::Planned | DocState::Posting | DocState::Uncertain, Some(plan)) => plan,
            _ => {
                let now = Utc::now();
                if row.state == DocState::Collecting {
                    // From here on no document joins it.
                    self.store
                        .transition_keep_lease(
                            lease,
                            DocState::Planned,
                            reason("its day has closed"),
                            now,
                        )
                        .await?;
                }
                let plan = match self.summary_plan(&row).await? {
                    Ok(plan) => plan,
                    Err(why) => {
                        return self.release(&row, lease, DocState::Held, reason(why)).await
                    }
                };
                let change = Transition {
                    plan_json: Some(serde_json::to_value(&plan)?),
                    reason: Some(format!("covers {} documents", plan.covers.len())),
                    ..Transition::default()
                };
                self.store
                    .transition_keep_lease(lease, DocState::Planned, change, now)
                    .await?;
                plan
            }
        };
        // `row.state` still says whether the entry may have been sent before (a retried
        // summary is searched for first, like any document).
        match row.state {
            DocState::Posting | DocState::Uncertain => {
                self.continue_plan(connection, &row, lease, &plan).await
            }
            _ => self.post(connection, &row, lease, &plan).await,
        }
    }

    /// The summary's plan from its members' stored plans; `Err` says why there is none.
    async fn summary_plan(&self, row: &LedgerRow) -> anyhow::Result<Result<BookingPlan, String>> {
        let Ok(group) = serde_json::from_value::<SummaryGroup>(row.document_json.clone()) else {
            return Ok(Err("The summary's group is unreadable in the ledger. Report this as a bug; its documents stay pooled and nothing is booked.".into()));
        };
        let mut plans = Vec::new();
        for member in self.store.summary_members(row.id).await? {
            match member.plan_json.map(serde_json::from_value::<BookingPlan>) {
                Some(Ok(plan)) => plans.push(plan),
                _ => return Ok(Err(format!("The plan of document {} in this summary is unreadable. Report this as a bug; nothing of the summary is booked.", member.number))),
            }
        }
        Ok(posting::summarise(&row.number, &group, &plans).map_err(|why| {
            format!("This summary cannot be made: {why}. Report this as a bug; nothing of it is booked.")
        }))
    }

    async fn decide(
        &self,
        connection: &Connection,
        row: &LedgerRow,
        lease: Lease,
    ) -> anyhow::Result<()> {
        let now = Utc::now();
        let Ok(document) = serde_json::from_value::<Document>(row.document_json.clone()) else {
            let why = row.document_json["unreadable"]
                .as_str()
                .unwrap_or("The stored document is unreadable");
            let why = format!("{why}. Correct it in the shop; its next change is read again.");
            return self.release(row, lease, DocState::Held, reason(why)).await;
        };
        let settings = connection.settings.get();
        let checks = match self
            .checks(connection, &settings, &document, row.id)
            .await?
        {
            Ok(checks) => checks,
            Err(NotChecked::Wait { reason: why, until }) => {
                let wait = Transition {
                    reason: Some(why),
                    next_attempt_at: Some(until),
                    ..Transition::default()
                };
                return self.release(row, lease, DocState::Received, wait).await;
            }
            Err(NotChecked::Hold { reason: why }) => {
                return self.release(row, lease, DocState::Held, reason(why)).await;
            }
        };
        match ledgerlink_rules::decide_checked(&document, &settings, &checks) {
            Decision::Book { plan } => {
                if let Some(group) = posting::summary_group(&plan, &settings) {
                    let join = SummaryJoin {
                        group_key: group.key(),
                        group_json: serde_json::to_value(&group)?,
                        reference_prefix: group.reference_prefix(&settings),
                        closes_at: group.closes_at(&settings.posting),
                    };
                    self.store
                        .pool(
                            lease,
                            serde_json::to_value(&plan)?,
                            &plan.reference,
                            join,
                            now,
                        )
                        .await?;
                    return Ok(());
                }
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
            Decision::NotYet { reason: why } => {
                self.release(row, lease, DocState::Waiting, reason(why))
                    .await
            }
            Decision::Skip { reason: why } => {
                self.release(row, lease, DocState::Skipped, reason(why))
                    .await
            }
            Decision::Hold { reason: why } => {
                self.release(row, lease, DocState::Held, reason(why)).await
            }
        }
    }

    /// Searches the target for the document's reference. `Some(())` when that settled the
    /// document (found, or the search failed and it was rescheduled); `None` when nothing
    /// was found and it may be posted.
    async fn search(
        &self,
        connection: &Connection,
        row: &LedgerRow,
        lease: Lease,
        plan: &BookingPlan,
    ) -> anyhow::Result<Option<()>> {
        match connection.target.find_booking(plan).await {
            Ok(Some(found)) => {
                self.found(row, lease, plan, found).await?;
                Ok(Some(()))
            }
            Ok(None) => Ok(None),
            Err(error) => {
                self.failed(row, lease, Phase::Searching, error).await?;
                Ok(Some(()))
            }
        }
    }

    async fn post(
        &self,
        connection: &Connection,
        row: &LedgerRow,
        lease: Lease,
        plan: &BookingPlan,
    ) -> anyhow::Result<()> {
        // A credit note for an order booked in a summary credits the summary entry.
        let mut corrected_plan = None;
        if plan.kind == EntryKind::CreditNote {
            match self.wait_for_original(connection, row).await? {
                Original::Wait(state, change) => {
                    return self.release(row, lease, state, change).await
                }
                Original::Booked {
                    summary_reference: Some(summary),
                } if plan.corrects_reference.as_ref() != Some(&summary) => {
                    let mut corrected = plan.clone();
                    corrected.corrects_reference = Some(summary);
                    corrected_plan = Some(corrected);
                }
                Original::Booked { .. } => {}
            }
        }
        let plan = corrected_plan.as_ref().unwrap_or(plan);
        let target = &connection.target;
        let entry = match target.prepare(plan).await {
            Ok(entry) => entry,
            Err(error) => return self.failed(row, lease, Phase::Preparing, error).await,
        };
        // A document that was sent before may have landed after its last search.
        let just_searched = matches!(row.state, DocState::Posting | DocState::Uncertain);
        if row.attempts > 0
            && !just_searched
            && self.search(connection, row, lease, plan).await?.is_some()
        {
            return Ok(());
        }
        // The call gets a fresh lease and must end well before it does; the document is not
        // due for anyone else until the lease and a settle delay have passed.
        let margin = self.options.lease / 10;
        let lease_until = at(self.options.lease);
        let posting = Transition {
            plan_json: corrected_plan
                .as_ref()
                .map(serde_json::to_value)
                .transpose()?,
            counts_as_attempt: true,
            lease_until: Some(lease_until),
            next_attempt_at: Some(
                lease_until + chrono::Duration::from_std(self.options.settle_delay)?,
            ),
            ..Transition::default()
        };
        self.store
            .transition_keep_lease(lease, DocState::Posting, posting, Utc::now())
            .await?;
        let outcome = tokio::time::timeout(self.options.lease - margin, target.post(&entry)).await;
        match outcome {
            Ok(Ok(booked)) => self.booked(row, lease, plan, booked, "booked").await,
            Ok(Err(error)) => self.failed(row, lease, Phase::Posting, error).await,
            Err(_) => {
                let error =
                    ConnectorError::uncertain("the booking call did not finish within the lease");
                self.failed(row, lease, Phase::Posting, error).await
            }
        }
    }

    /// A credit note is posted only once the order it corrects is booked. Says the state to
    /// wait (or be held) in while that is not so.
    async fn wait_for_original(
        &self,
        connection: &Connection,
        row: &LedgerRow,
    ) -> anyhow::Result<Original> {
        let document: Document = serde_json::from_value(row.document_json.clone())?;
        let Some(refund_of) = &document.refund_of else {
            return Ok(Original::Booked {
                summary_reference: None,
            });
        };
        let original = self
            .store
            .document_by_source(
                &connection.id,
                DocumentKind::Order.as_str(),
                &refund_of.source_ref.id,
            )
            .await?;
        let original_state = original.as_ref().map(|o| o.state);
        let summary = match original.as_ref().and_then(|o| o.summary_id) {
            Some(id) => self.store.document(id).await?,
            None => None,
        };
        if original_state == Some(DocState::Booked) {
            return Ok(Original::Booked {
                summary_reference: summary.map(|s| s.number),
            });
        }
        let described = match (original_state, &summary) {
            (Some(DocState::Pooled), Some(summary)) => format!(
                "order {} is in summary {}, booked when its day closes",
                refund_of.number, summary.number
            ),
            (Some(state), _) => format!("order {} is {state}", refund_of.number),
            (None, _) => format!(
                "order {} is not in the ledger (was it created before the backfill range?)",
                refund_of.number
            ),
        };
        // Counted from when the ledger took the refund in: a backfilled refund created months
        // ago has not waited at all yet.
        let waited = Utc::now() - row.created_at;
        let hopeless = matches!(original_state, Some(DocState::Skipped | DocState::Held));
        // A pooled order is booked when its day closes: worth waiting for however long.
        let expired = waited > chrono::Duration::hours(WAIT_FOR_ORIGINAL_HOURS)
            && original_state != Some(DocState::Pooled);
        if hopeless || expired {
            let why = format!(
                "Refund {} corrects an order that is not booked ({described}), so there is no booking to credit. Book or resolve the order first, then retry this refund.",
                row.number
            );
            return Ok(Original::Wait(DocState::Held, reason(why)));
        }
        // Wait about a tenth of the time waited so far: quick at first, rarely later.
        let delay = (waited.to_std().unwrap_or_default() / 10)
            .clamp(self.options.retry_base, self.options.max_backoff);
        Ok(Original::Wait(
            DocState::Planned,
            Transition {
                reason: Some(format!(
                    "Waiting for the order to be booked ({described}); a refund is booked after its order."
                )),
                next_attempt_at: Some(at(delay)),
                ..Transition::default()
            },
        ))
    }

    /// A booking found by reference is only accepted when it is this document's booking.
    async fn found(
        &self,
        row: &LedgerRow,
        lease: Lease,
        plan: &BookingPlan,
        found: BookingRef,
    ) -> anyhow::Result<()> {
        match found.total {
            Some(total) if total != plan.total => {
                let why = format!(
                    "The target already has a booking with reference {} (entry {}) for {} {}, but this document is {} {}. Check that entry by hand: ledgerlink does not book a second one.",
                    plan.reference,
                    found.number.as_deref().unwrap_or(&found.id),
                    plan.currency,
                    total,
                    plan.currency,
                    plan.total
                );
                self.release(row, lease, DocState::Held, reason(why)).await
            }
            _ => {
                self.booked(
                    row,
                    lease,
                    plan,
                    found,
                    "found in the target by its reference",
                )
                .await
            }
        }
    }

    async fn booked(
        &self,
        row: &LedgerRow,
        lease: Lease,
        plan: &BookingPlan,
        booked: BookingRef,
        how: &str,
    ) -> anyhow::Result<()> {
        let how = match &booked.number {
            Some(number) => format!("{how} as entry {number} ({})", plan.reference),
            None => format!("{how} ({})", plan.reference),
        };
        let change = Transition {
            target_id: Some(booked.id),
            reason: Some(how),
            ..Transition::default()
        };
        self.release(row, lease, DocState::Booked, change).await?;
        self.metrics.booked(&row.connection_id, plan);
        Ok(())
    }

    /// One place decides what a failed call means for the document.
    async fn failed(
        &self,
        row: &LedgerRow,
        lease: Lease,
        phase: Phase,
        error: ConnectorError,
    ) -> anyhow::Result<()> {
        tracing::warn!(document = row.id, ?phase, cause = %error.internal_cause, "booking step failed");
        self.notifier.target_failed(&row.connection_id, &error);
        let backoff = self.backoff(row.attempts);
        let retry = |state: DocState, when: DateTime<Utc>| {
            (
                state,
                Transition {
                    reason: Some(error.message_for_user.clone()),
                    next_attempt_at: Some(when),
                    ..Transition::default()
                },
            )
        };
        // Until the target has been searched, a document whose write may have landed stays
        // uncertain; otherwise nothing was written and it goes back to planned.
        let not_written = if phase == Phase::Searching {
            DocState::Uncertain
        } else {
            DocState::Planned
        };
        let (state, change) = match (&error.kind, phase) {
            (ErrorKind::Uncertain, Phase::Posting) => retry(DocState::Uncertain, at(self.options.settle_delay.max(backoff))),
            (ErrorKind::Uncertain | ErrorKind::Transient { .. }, _) => {
                let delay = match &error.kind {
                    ErrorKind::Transient { retry_after: Some(after) } => *after,
                    _ => backoff,
                };
                retry(not_written, at(delay))
            }
            (ErrorKind::RateLimited { until }, _) => {
                self.pause(&row.connection_id, *until);
                retry(not_written, *until)
            }
            // A connection problem, not the document's: keep it queued, slowly.
            (ErrorKind::Auth, _) => retry(not_written, at(self.options.max_backoff)),
            (ErrorKind::Rejected | ErrorKind::Config | ErrorKind::NotFound, Phase::Searching) => (
                DocState::Held,
                reason(format!(
                    "ledgerlink could not check whether reference {} is already booked: {} Check the target for it before retrying.",
                    row.reference.as_deref().unwrap_or("?"),
                    error.message_for_user
                )),
            ),
            (ErrorKind::Rejected | ErrorKind::Config | ErrorKind::NotFound, _) => (DocState::Held, reason(error.message_for_user.clone())),
        };
        self.release(row, lease, state, change).await
    }

    /// Moves the document on and lets go of it; a document held is counted and announced.
    async fn release(
        &self,
        row: &LedgerRow,
        lease: Lease,
        to: DocState,
        change: Transition,
    ) -> anyhow::Result<()> {
        let held = (to == DocState::Held).then(|| change.reason.clone().unwrap_or_default());
        self.store.transition(lease, to, change, Utc::now()).await?;
        if let Some(reason) = held {
            self.metrics.held(&row.connection_id);
            self.notifier.held(row, &reason);
        }
        Ok(())
    }

    /// A budget used up for the minute pauses the connection's other documents too. Longer
    /// waits (the day's budget, an endpoint blocked after errors) are each document's own:
    /// one walk through the backlog puts every document back until then.
    fn pause(&self, connection_id: &str, until: DateTime<Utc>) {
        if until - Utc::now() <= chrono::Duration::minutes(MINUTE_BUDGET_PAUSE_MINUTES) {
            let mut paused = self.paused.lock().expect("paused lock");
            let entry = paused.entry(connection_id.to_string()).or_insert(until);
            *entry = (*entry).max(until);
        }
    }

    /// The connections paused now; the expired pauses are dropped.
    fn paused_connections(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut paused = self.paused.lock().expect("paused lock");
        paused.retain(|_, until| *until > now);
        let mut ids: Vec<String> = paused.keys().cloned().collect();
        // Shops not live yet are passed over the same way.
        ids.extend(self.not_live_ids());
        ids
    }

    fn backoff(&self, attempts: i64) -> Duration {
        let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(0, 16)).unwrap_or(16));
        self.options
            .retry_base
            .saturating_mul(factor)
            .min(self.options.max_backoff)
    }
}
