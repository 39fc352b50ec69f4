//! Accounts, users, sessions and API tokens on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::SqliteStore;
use crate::{
    parse_ts, ts, AccountStore, ApiToken, ConnectionRecord, Invitation, PanelConnection, Result,
    Session, TargetUser, User,
};

fn user(row: &sqlx::sqlite::SqliteRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
    })
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(
        &self,
        name: &str,
        email: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let mut tx = self.write().await?;
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, created_at) VALUES (?, ?) RETURNING id",
        )
        .bind(name)
        .bind(ts(now))
        .fetch_one(&mut *tx)
        .await?;
        let row = sqlx::query(
            "INSERT INTO users (account_id, email, password_hash, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (email) DO NOTHING RETURNING id, account_id, email, password_hash",
        )
        .bind(account_id)
        .bind(email)
        .bind(password_hash)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        match row {
            Some(row) => {
                let user = user(&row)?;
                tx.commit().await?;
                Ok(Some(user))
            }
            None => Ok(None),
        }
    }

    async fn add_user(
        &self,
        account_id: i64,
        email: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let row = sqlx::query(
            "INSERT INTO users (account_id, email, password_hash, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (email) DO NOTHING RETURNING id, account_id, email, password_hash",
        )
        .bind(account_id)
        .bind(email)
        .bind(password_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user).transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row =
            sqlx::query("SELECT id, account_id, email, password_hash FROM users WHERE email = ?")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(user).transpose()
    }

    async fn account_name(&self, account_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM accounts WHERE id = ?")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(ts(now))
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.user_id, u.account_id, u.email, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ? AND s.expires_at > ?",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Session {
                user_id: row.try_get("user_id")?,
                account_id: row.try_get("account_id")?,
                email: row.try_get("email")?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at: parse_ts(row.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_api_token(
        &self,
        account_id: i64,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO api_tokens (account_id, name, token_hash, created_at) \
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(token_hash)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?)
    }

    async fn account_by_api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ? RETURNING account_id",
        )
        .bind(ts(now))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn api_tokens(&self, account_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE account_id = ? \
             ORDER BY id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let last_used: Option<String> = row.try_get("last_used_at")?;
                Ok(ApiToken {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: parse_ts(row.try_get("created_at")?)?,
                    last_used_at: last_used.as_deref().map(parse_ts).transpose()?,
                })
            })
            .collect()
    }

    async fn revoke_api_token(&self, account_id: i64, token_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = ? AND account_id = ?")
            .bind(token_id)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn account_users(&self, account_id: i64) -> Result<Vec<(String, DateTime<Utc>)>> {
        let rows =
            sqlx::query("SELECT email, created_at FROM users WHERE account_id = ? ORDER BY id")
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("email")?,
                    parse_ts(&row.try_get::<String, _>("created_at")?)?,
                ))
            })
            .collect()
    }

    async fn invite(
        &self,
        token_hash: &str,
        account_id: i64,
        email: &str,
        invited_by: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO invitations (token_hash, account_id, email, invited_by, created_at, \
             expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(email)
        .bind(invited_by)
        .bind(ts(now))
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn invitation(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Invitation>> {
        let row = sqlx::query(
            "SELECT i.account_id, a.name, i.email, i.invited_by, i.expires_at \
             FROM invitations i JOIN accounts a ON a.id = i.account_id \
             WHERE i.token_hash = ? AND i.used_at IS NULL AND i.expires_at > ?",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Invitation {
                account_id: row.try_get("account_id")?,
                account_name: row.try_get("name")?,
                email: row.try_get("email")?,
                invited_by: row.try_get("invited_by")?,
                expires_at: parse_ts(&row.try_get::<String, _>("expires_at")?)?,
            })
        })
        .transpose()
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>> {
        let mut tx = self.write().await?;
        let open = sqlx::query(
            "SELECT i.account_id, i.email FROM invitations i \
             WHERE i.token_hash = ? AND i.used_at IS NULL AND i.expires_at > ?",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(open) = open else {
            return Ok(None);
        };
        let account_id: i64 = open.try_get("account_id")?;
        let email: String = open.try_get("email")?;
        let row = sqlx::query(
            "INSERT INTO users (account_id, email, password_hash, created_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (email) DO NOTHING \
             RETURNING id, account_id, email, password_hash",
        )
        .bind(account_id)
        .bind(&email)
        .bind(password_hash)
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        sqlx::query("UPDATE invitations SET used_at = ? WHERE token_hash = ?")
            .bind(ts(now))
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        let user = user(&row)?;
        tx.commit().await?;
        Ok(Some(user))
    }

    async fn bind_connection(&self, connection_id: &str, account_id: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO account_connections (connection_id, account_id) VALUES (?, ?) \
             ON CONFLICT (connection_id) DO UPDATE SET account_id = excluded.account_id",
        )
        .bind(connection_id)
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn account_connections(&self, account_id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT connection_id FROM account_connections WHERE account_id = ? \
             ORDER BY connection_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn connect_target_user(
        &self,
        connection_id: &str,
        user: &str,
        display_name: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let mut tx = self.write().await?;
        // Connections of other accounts (or of none) authorised as this user.
        let lapsing: Vec<String> = sqlx::query_scalar(
            "SELECT t.connection_id FROM target_users t \
             LEFT JOIN account_connections mine ON mine.connection_id = ? \
             LEFT JOIN account_connections theirs ON theirs.connection_id = t.connection_id \
             WHERE t.target_user = ? AND t.lapsed_at IS NULL AND t.connection_id <> ? \
             AND (mine.account_id IS NULL OR theirs.account_id IS NULL \
                  OR mine.account_id <> theirs.account_id) \
             ORDER BY t.connection_id",
        )
        .bind(connection_id)
        .bind(user)
        .bind(connection_id)
        .fetch_all(&mut *tx)
        .await?;
        for lapsed in &lapsing {
            sqlx::query(
                "UPDATE target_users SET lapsed_at = ?, lapsed_reason = ? WHERE connection_id = ?",
            )
            .bind(ts(now))
            .bind(reason)
            .bind(lapsed)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM oauth_tokens WHERE connection_id = ?")
                .bind(lapsed)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO target_users (connection_id, target_user, display_name, connected_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (connection_id) DO UPDATE SET \
             target_user = excluded.target_user, display_name = excluded.display_name, \
             connected_at = excluded.connected_at, lapsed_at = NULL, lapsed_reason = NULL",
        )
        .bind(connection_id)
        .bind(user)
        .bind(display_name)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(lapsing)
    }

    async fn target_user(&self, connection_id: &str) -> Result<Option<TargetUser>> {
        let row = sqlx::query(
            "SELECT target_user, display_name, connected_at, lapsed_at, lapsed_reason \
             FROM target_users WHERE connection_id = ?",
        )
        .bind(connection_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let lapsed_at: Option<String> = row.try_get("lapsed_at")?;
            Ok(TargetUser {
                user: row.try_get("target_user")?,
                display_name: row.try_get("display_name")?,
                connected_at: parse_ts(row.try_get("connected_at")?)?,
                lapsed_at: lapsed_at.as_deref().map(parse_ts).transpose()?,
                lapsed_reason: row.try_get("lapsed_reason")?,
            })
        })
        .transpose()
    }

    async fn add_panel_connection(
        &self,
        connection: &PanelConnection,
        record: &ConnectionRecord,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO connections (id, name, source_kind, target_kind, settings_json, \
             created_at, settings_edited_by, settings_edited_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&record.id)
        .bind(&record.name)
        .bind(&record.source_kind)
        .bind(&record.target_kind)
        .bind(record.settings_json.to_string())
        .bind(ts(connection.created_at))
        .bind(&connection.created_by)
        .bind(ts(connection.created_at))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO panel_connections (connection_id, account_id, source_json, division, \
             live_since, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&connection.connection_id)
        .bind(connection.account_id)
        .bind(connection.source_json.to_string())
        .bind(connection.division)
        .bind(connection.live_since.map(ts))
        .bind(&connection.created_by)
        .bind(ts(connection.created_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO account_connections (connection_id, account_id) VALUES (?, ?)")
            .bind(&connection.connection_id)
            .bind(connection.account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn panel_connections(&self) -> Result<Vec<PanelConnection>> {
        let rows = sqlx::query(
            "SELECT connection_id, account_id, source_json, division, live_since, created_by, \
             created_at FROM panel_connections ORDER BY connection_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PanelConnection {
                    connection_id: row.try_get("connection_id")?,
                    account_id: row.try_get("account_id")?,
                    source_json: super::json(&row.try_get::<String, _>("source_json")?)?,
                    division: row.try_get("division")?,
                    live_since: row
                        .try_get::<Option<String>, _>("live_since")?
                        .as_deref()
                        .map(parse_ts)
                        .transpose()?,
                    created_by: row.try_get("created_by")?,
                    created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
                })
            })
            .collect()
    }

    async fn set_panel_division(&self, connection_id: &str, division: i32) -> Result<()> {
        sqlx::query("UPDATE panel_connections SET division = ? WHERE connection_id = ?")
            .bind(division)
            .bind(connection_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_panel_source(
        &self,
        connection_id: &str,
        source_json: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query("UPDATE panel_connections SET source_json = ? WHERE connection_id = ?")
            .bind(source_json.to_string())
            .bind(connection_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_live(&self, connection_id: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE panel_connections SET live_since = COALESCE(live_since, ?) \
             WHERE connection_id = ?",
        )
        .bind(ts(at))
        .bind(connection_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
