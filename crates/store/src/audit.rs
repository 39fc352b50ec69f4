//! Writing the audit log: every request to an external system and its response, with secrets
//! redacted before anything is stored.

use std::sync::Arc;

use chrono::Utc;

use crate::{AuditEntry, Store};

/// Field and parameter names whose values are secrets wherever they appear.
const SECRET_NAMES: [&str; 13] = [
    "access_token",
    "refresh_token",
    "client_secret",
    "consumer_secret",
    "consumer_key",
    "password",
    "secret",
    "authorization",
    "api_key",
    "token",
    // PrestaShop: the webservice key as a query parameter, a customer's password hash, and
    // the key that authorises an order's or customer's payment and tracking links.
    "ws_key",
    "passwd",
    "secure_key",
];

/// Secret only as a form or query parameter: the OAuth authorization code. In JSON bodies
/// `code` is a ledger account, VAT code or coupon code, which the audit log must show.
const SECRET_PARAMETERS: [&str; 1] = ["code"];

/// Replaces the values of secret fields in a JSON, form-encoded or query text.
pub fn redact(text: &str) -> String {
    if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) {
        redact_json(&mut value);
        return value.to_string();
    }
    redact_pairs(text)
}

fn is_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAMES.contains(&lower.as_str())
}

fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret(key) {
                    *inner = serde_json::Value::String("[redacted]".into());
                } else {
                    redact_json(inner);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

fn redact_pairs(text: &str) -> String {
    let (head, query) = match text.split_once('?') {
        Some((head, query)) => (Some(head), query),
        None => (None, text),
    };
    if !query.contains('=') {
        return text.to_string();
    }
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret(name) || SECRET_PARAMETERS.contains(&name) => {
                format!("{name}=[redacted]")
            }
            _ => pair.to_string(),
        })
        .collect();
    match head {
        Some(head) => format!("{head}?{}", redacted.join("&")),
        None => redacted.join("&"),
    }
}

/// Writes audit entries for one connection and one external system.
#[derive(Clone)]
pub struct Auditor {
    store: Arc<dyn Store>,
    connection_id: String,
    system: &'static str,
}

/// One exchange, as the connector saw it.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub request_body: Option<&'a str>,
    pub status: Option<u16>,
    pub response_body: Option<&'a str>,
    pub error: Option<&'a str>,
    pub duration_ms: i64,
}

impl Auditor {
    pub fn new(
        store: Arc<dyn Store>,
        connection_id: impl Into<String>,
        system: &'static str,
    ) -> Self {
        Auditor {
            store,
            connection_id: connection_id.into(),
            system,
        }
    }

    /// Records a GET (reads have no body to send), timed from `started`.
    pub async fn record_get(
        &self,
        url: &str,
        status: Option<u16>,
        body: Option<&str>,
        error: Option<&str>,
        started: std::time::Instant,
    ) {
        self.record(Exchange {
            method: "GET",
            url,
            request_body: None,
            status,
            response_body: body,
            error,
            duration_ms: started.elapsed().as_millis() as i64,
        })
        .await;
    }

    /// Records the exchange. A failure to write the audit log is logged, never fatal: the
    /// booking's own state is in the ledger, which is written separately.
    pub async fn record(&self, exchange: Exchange<'_>) {
        const MAX_BODY: usize = 64 * 1024;
        let clip = |body: &str| {
            let redacted = redact(body);
            if redacted.len() > MAX_BODY {
                let mut end = MAX_BODY;
                while !redacted.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}… [{} bytes]", &redacted[..end], redacted.len())
            } else {
                redacted
            }
        };
        let entry = AuditEntry {
            connection_id: self.connection_id.clone(),
            system: self.system.to_string(),
            method: exchange.method.to_string(),
            url: redact_pairs(exchange.url),
            request_body: exchange.request_body.map(clip),
            status: exchange.status,
            response_body: exchange.response_body.map(clip),
            error: exchange.error.map(redact),
            duration_ms: exchange.duration_ms,
            at: Utc::now(),
        };
        if let Err(error) = self.store.audit(entry).await {
            tracing::warn!(%error, "could not write the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_json_form_and_query_secrets() {
        let json =
            redact(r#"{"access_token":"abc","nested":{"refresh_token":"def"},"expires_in":"600"}"#);
        assert!(!json.contains("abc") && !json.contains("def"));
        assert!(json.contains("600"));
        let form = redact("grant_type=refresh_token&refresh_token=xyz&client_secret=s3");
        assert_eq!(
            form,
            "grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]"
        );
        let url = redact_pairs("http://x/orders?consumer_key=ck_1&consumer_secret=cs_2&page=2");
        assert_eq!(
            url,
            "http://x/orders?consumer_key=[redacted]&consumer_secret=[redacted]&page=2"
        );
    }

    #[test]
    fn redacts_prestashop_keys_and_hashes() {
        let url = redact_pairs(
            "http://shop/api/orders?filter%5Bdate_upd%5D=%5B2024-01-01%5D&ws_key=UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX&output_format=JSON",
        );
        assert_eq!(
            url,
            "http://shop/api/orders?filter%5Bdate_upd%5D=%5B2024-01-01%5D&ws_key=[redacted]&output_format=JSON"
        );
        let json = redact(
            r#"{"customer":{"id":1,"passwd":"$2y$10$abc","secure_key":"e2aac4f9","email":"a@b.nl"}}"#,
        );
        assert!(!json.contains("$2y$10$abc") && !json.contains("e2aac4f9"));
        assert!(json.contains("a@b.nl"));
    }

    #[test]
    fn keeps_ledger_codes_but_hides_the_oauth_code() {
        let json = redact(r#"{"Code":"8000","code":"SUMMER10"}"#);
        assert!(json.contains("8000") && json.contains("SUMMER10"));
        assert_eq!(
            redact("grant_type=authorization_code&code=abc"),
            "grant_type=authorization_code&code=[redacted]"
        );
    }

    #[test]
    fn redacts_the_password_in_a_tryton_login() {
        let login = redact(
            r#"{"id":3,"method":"common.db.login","params":["connector",{"password":"connector-Secret-42"},"en"]}"#,
        );
        assert!(!login.contains("connector-Secret-42"), "{login}");
        assert!(login.contains(r#""password":"[redacted]""#) && login.contains("common.db.login"));
    }

    #[test]
    fn leaves_plain_text_alone() {
        assert_eq!(redact("not a secret"), "not a secret");
    }
}
