//! The control panel's merchant accounts, their users, sign-in sessions, API tokens, and which
//! connections each account owns. Secrets (session cookies, API tokens) are kept only as their
//! SHA-256; passwords only as argon2id hashes made by the caller.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{ConnectionRecord, Result};

/// A person who signs in to one merchant account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub password_hash: String,
}

/// A signed-in session as the request sees it: whose, for which account, its CSRF token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user_id: i64,
    pub account_id: i64,
    pub email: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// An API token as listed (its secret is shown once, when made, and never kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who a connection is authorised as at its target, and whether that lapsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetUser {
    /// The target's id of the user (Exact Online: `UserID`).
    pub user: String,
    pub display_name: String,
    pub connected_at: DateTime<Utc>,
    pub lapsed_at: Option<DateTime<Utc>>,
    pub lapsed_reason: Option<String>,
}

/// An open invitation to join a merchant account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub account_id: i64,
    pub account_name: String,
    pub email: String,
    pub invited_by: String,
    pub expires_at: DateTime<Utc>,
}

/// A shop a merchant added in the control panel, booking into the panel's Exact Online app.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelConnection {
    pub connection_id: String,
    pub account_id: i64,
    /// The shop: its kind, address and credentials, sealed as the settings file seals them.
    pub source_json: serde_json::Value,
    /// The Exact Online division, once a person connected it.
    pub division: Option<i32>,
    /// Since when it books; before, nothing is taken in.
    pub live_since: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// A new account with its first user; `None` when the e-mail address is taken.
    async fn create_account(
        &self,
        name: &str,
        email: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>>;
    /// Another user of an account; `None` when the e-mail address is taken.
    async fn add_user(
        &self,
        account_id: i64,
        email: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn account_name(&self, account_id: i64) -> Result<Option<String>>;

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The session, unless it does not exist or has expired.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    async fn create_api_token(
        &self,
        account_id: i64,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// The account an API token belongs to (noting its use).
    async fn account_by_api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>>;
    async fn api_tokens(&self, account_id: i64) -> Result<Vec<ApiToken>>;
    /// `false` when the account has no such token.
    async fn revoke_api_token(&self, account_id: i64, token_id: i64) -> Result<bool>;

    /// The account's users' e-mail addresses and since when, oldest first.
    async fn account_users(&self, account_id: i64) -> Result<Vec<(String, DateTime<Utc>)>>;
    /// Invites `email` to the account until `expires_at`, by the SHA-256 of the link's token.
    async fn invite(
        &self,
        token_hash: &str,
        account_id: i64,
        email: &str,
        invited_by: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The invitation, while it is unused and has not expired.
    async fn invitation(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Invitation>>;
    /// The invited person becomes a user of the account, and the invitation is used up — at
    /// once. `None` when the invitation is not open or the address has a user already.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>>;

    /// The connection belongs to the account from now on.
    async fn bind_connection(&self, connection_id: &str, account_id: i64) -> Result<()>;
    /// The account's connections, by id.
    async fn account_connections(&self, account_id: i64) -> Result<Vec<String>>;

    /// The connection is now authorised as `user`. One target user connects one merchant
    /// account: the connections of *other* accounts authorised as the same user lapse in the
    /// same transaction — their tokens deleted, `reason` kept — and are returned.
    async fn connect_target_user(
        &self,
        connection_id: &str,
        user: &str,
        display_name: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>>;
    async fn target_user(&self, connection_id: &str) -> Result<Option<TargetUser>>;

    /// Records a shop added in the panel: its connection (`record`), the shop, and that it
    /// belongs to the account — at once. `false` when the connection id is taken.
    async fn add_panel_connection(
        &self,
        connection: &PanelConnection,
        record: &ConnectionRecord,
    ) -> Result<bool>;
    /// Every shop added in the panel, by connection id.
    async fn panel_connections(&self) -> Result<Vec<PanelConnection>>;
    async fn set_panel_division(&self, connection_id: &str, division: i32) -> Result<()>;
    /// The shop's details again (its secrets sealed anew, after a key rotation).
    async fn set_panel_source(
        &self,
        connection_id: &str,
        source_json: &serde_json::Value,
    ) -> Result<()>;
    /// The shop books from `at` on (the first time only).
    async fn set_live(&self, connection_id: &str, at: DateTime<Utc>) -> Result<()>;
}
