//! Who is asking: passwords (argon2id), sign-in sessions in a cookie, CSRF tokens, the
//! sign-in rate limit, and API tokens. Every secret handed out (session cookie, API token) is
//! kept only as its SHA-256, so a copy of the ledger signs nobody in.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ledgerlink_store::{Session, Store};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie: `__Host-` binds it to this host and path `/`, over HTTPS only.
pub const SESSION_COOKIE: &str = "__Host-ledgerlink-session";
/// The CSRF cookie of the forms shown before sign-in (double submit).
pub const FORM_COOKIE: &str = "__Host-ledgerlink-form";
/// A session lasts a working day.
pub const SESSION_HOURS: i64 = 12;
pub const MIN_PASSWORD_CHARS: usize = 12;

/// 32 random bytes, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a secret handed out is kept.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|hash| hash.to_string())
        .map_err(|e| format!("hashing the password failed: {e}"))
}

pub fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash to verify against when no user has the address, so that a wrong address takes as
/// long as a wrong password and does not tell which addresses have accounts.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).expect("argon2 hashes a random string"))
}

pub fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// `Set-Cookie` for a cookie the page's scripts cannot read and other sites cannot send.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Strict")
}

/// A new session for the user (a fresh token on every sign-in: the one a visitor had before
/// signing in is never the signed-in one). Returns the cookie's value.
pub async fn start_session(store: &dyn Store, user_id: i64) -> ledgerlink_store::Result<String> {
    let token = random_token();
    let now = Utc::now();
    store
        .create_session(
            &token_hash(&token),
            user_id,
            &random_token(),
            now,
            now + Duration::hours(SESSION_HOURS),
        )
        .await?;
    Ok(token)
}

/// The signed-in session of the request, if any.
pub async fn session(store: &dyn Store, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, SESSION_COOKIE)?;
    store
        .session(&token_hash(&token), Utc::now())
        .await
        .ok()
        .flatten()
}

/// The account an `Authorization: Bearer` API token belongs to.
pub async fn api_account(store: &dyn Store, headers: &HeaderMap) -> Option<i64> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    store
        .account_by_api_token(&token_hash(token.trim()), Utc::now())
        .await
        .ok()
        .flatten()
}

/// Sign-in attempts: five at once per address, then one every three minutes; twenty at once
/// per client address, then one every fifteen seconds — so that neither one account nor many
/// can be guessed at speed.
#[derive(Clone)]
pub struct SignInLimit {
    per_email: Arc<DefaultKeyedRateLimiter<String>>,
    per_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for SignInLimit {
    fn default() -> Self {
        let quota = |burst: u32, every_seconds: u64| {
            Quota::with_period(std::time::Duration::from_secs(every_seconds))
                .expect("a positive period")
                .allow_burst(NonZeroU32::new(burst).expect("a positive burst"))
        };
        SignInLimit {
            per_email: Arc::new(RateLimiter::keyed(quota(5, 180))),
            per_client: Arc::new(RateLimiter::keyed(quota(20, 15))),
        }
    }
}

impl SignInLimit {
    /// Whether one more attempt is allowed now (and counts it).
    pub fn allow(&self, email: &str, client: IpAddr) -> bool {
        self.per_client.check_key(&client).is_ok()
            && self.per_email.check_key(&email.to_string()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_and_verified() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("anything", "not a hash"));
    }

    #[test]
    fn the_sixth_attempt_in_a_row_for_one_address_is_refused() {
        let limit = SignInLimit::default();
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert!(limit.allow("eva@bakkerij.nl", client));
        }
        assert!(!limit.allow("eva@bakkerij.nl", client));
        assert!(limit.allow("piet@bakkerij.nl", client), "another address");
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; __Host-ledgerlink-session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
