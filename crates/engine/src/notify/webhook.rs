//! Notifications by webhook: the JSON is POSTed, signed when a secret is set with
//! `X-Ledgerlink-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::Webhook;

pub(crate) const SIGNATURE_HEADER: &str = "x-ledgerlink-signature";

pub(crate) struct Poster {
    http: reqwest::Client,
}

impl Poster {
    pub(crate) fn new(timeout: Duration) -> anyhow::Result<Poster> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("ledgerlink/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Poster { http })
    }

    pub(crate) async fn post(&self, hook: &Webhook, body: &str) -> Result<(), String> {
        let mut request = self
            .http
            .post(hook.url.clone())
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(secret) = &hook.secret {
            request = request.header(SIGNATURE_HEADER, signature(secret.expose_secret(), body));
        }
        // The address may carry a token: errors never show it.
        let response = request
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the webhook answered HTTP {status}"))
        }
    }
}

/// `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret`.
pub(crate) fn signature(secret: &str, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_raw_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
