//! One error type for every connector, so retry decisions live in one place.
//!
//! Each error has a message for the person fixing it and an internal cause for the log; the
//! internal cause never reaches a page or the audit log unredacted.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Try again later; the request was certainly not applied.
    Transient {
        retry_after: Option<Duration>,
    },
    /// The outcome is unknown: the request may or may not have been applied (timeout, lost
    /// connection, broken body after a write). Look the reference up before trying again.
    Uncertain,
    /// The target's budget is spent until this moment.
    RateLimited {
        until: DateTime<Utc>,
    },
    /// Credentials are missing, expired or revoked: a person must reconnect.
    Auth,
    /// The target refused the content: retrying the same request cannot succeed.
    Rejected,
    NotFound,
    /// Our settings are wrong or incomplete (unknown account code, missing mapping, ...).
    Config,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorError {
    pub kind: ErrorKind,
    /// What happened and what to do, in words a merchant or bookkeeper can act on.
    pub message_for_user: String,
    /// Detail for the log (status, endpoint, body excerpt); secrets already redacted.
    pub internal_cause: String,
}

impl ConnectorError {
    pub fn new(
        kind: ErrorKind,
        message_for_user: impl Into<String>,
        internal_cause: impl Into<String>,
    ) -> Self {
        ConnectorError {
            kind,
            message_for_user: message_for_user.into(),
            internal_cause: internal_cause.into(),
        }
    }

    pub fn config(message_for_user: impl Into<String>) -> Self {
        let message = message_for_user.into();
        ConnectorError::new(ErrorKind::Config, message.clone(), message)
    }

    pub fn rejected(
        message_for_user: impl Into<String>,
        internal_cause: impl Into<String>,
    ) -> Self {
        ConnectorError::new(ErrorKind::Rejected, message_for_user, internal_cause)
    }

    pub fn uncertain(internal_cause: impl Into<String>) -> Self {
        ConnectorError::new(
            ErrorKind::Uncertain,
            "The target did not confirm the booking; ledgerlink will check for it before trying again.",
            internal_cause,
        )
    }

    pub fn transient(
        message_for_user: impl Into<String>,
        internal_cause: impl Into<String>,
    ) -> Self {
        ConnectorError::new(
            ErrorKind::Transient { retry_after: None },
            message_for_user,
            internal_cause,
        )
    }

    /// A retry of the same request may succeed later without a person acting.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Transient { .. } | ErrorKind::Uncertain | ErrorKind::RateLimited { .. }
        )
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_for_user)
    }
}

impl std::error::Error for ConnectorError {}
