//! The REST client: consumer key and secret as HTTP Basic, `page`/`per_page` paging with
//! `X-WP-Total`/`X-WP-TotalPages`, `modified_after` for incremental reads.

use std::time::{Duration, Instant};

use ledgerlink_core::{ConnectorError, ErrorKind};
use ledgerlink_store::audit::{Auditor, Exchange};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct WooCredentials {
    /// The shop's address, e.g. `https://shop.example.nl`.
    pub url: String,
    pub consumer_key: SecretString,
    pub consumer_secret: SecretString,
}

#[derive(Clone)]
pub struct WooClient {
    api: String,
    credentials: WooCredentials,
    http: reqwest::Client,
    auditor: Auditor,
}

/// One page of a list, with the totals the shop reported.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub total_pages: u64,
}

pub const PER_PAGE: u32 = 100;

impl WooClient {
    pub fn new(
        credentials: WooCredentials,
        auditor: Auditor,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ConnectorError::config(format!("cannot build an HTTP client: {e}")))?;
        let api = format!("{}/wp-json/wc/v3", credentials.url.trim_end_matches('/'));
        Ok(WooClient {
            api,
            credentials,
            http,
            auditor,
        })
    }

    /// Orders modified after `modified_after` (ISO-8601, GMT), oldest change first.
    pub async fn orders_modified_after(
        &self,
        modified_after: &str,
        page: u32,
    ) -> Result<Page<serde_json::Value>, ConnectorError> {
        let query = [
            ("modified_after", modified_after.to_string()),
            ("dates_are_gmt", "true".into()),
            ("orderby", "modified".into()),
            ("order", "asc".into()),
            ("per_page", PER_PAGE.to_string()),
            ("page", page.to_string()),
        ];
        self.list("orders", &query).await
    }

    /// Orders created in [after, before), in the shop's own time zone (ISO-8601 without
    /// offset): backfill, whose days are the merchant's days.
    pub async fn orders_created_between(
        &self,
        after: &str,
        before: &str,
        page: u32,
    ) -> Result<Page<serde_json::Value>, ConnectorError> {
        let query = [
            ("after", after.to_string()),
            ("before", before.to_string()),
            ("orderby", "date".into()),
            ("order", "asc".into()),
            ("per_page", PER_PAGE.to_string()),
            ("page", page.to_string()),
        ];
        self.list("orders", &query).await
    }

    pub async fn order(&self, id: &str) -> Result<serde_json::Value, ConnectorError> {
        self.get(&format!("orders/{id}"), &[])
            .await
            .map(|(body, _)| body)
    }

    pub async fn refunds(&self, order_id: &str) -> Result<Vec<serde_json::Value>, ConnectorError> {
        self.get(
            &format!("orders/{order_id}/refunds"),
            &[("per_page", PER_PAGE.to_string())],
        )
        .await
        .map(|(body, _)| body)
    }

    pub async fn customers(&self, page: u32) -> Result<Page<serde_json::Value>, ConnectorError> {
        self.list(
            "customers",
            &[
                ("per_page", PER_PAGE.to_string()),
                ("page", page.to_string()),
            ],
        )
        .await
    }

    pub async fn products(&self, page: u32) -> Result<Page<serde_json::Value>, ConnectorError> {
        self.list(
            "products",
            &[
                ("per_page", PER_PAGE.to_string()),
                ("page", page.to_string()),
            ],
        )
        .await
    }

    /// The first category of each product (its name as the shop shows it), by product id;
    /// a product without categories or no longer in the shop is left out.
    pub async fn product_categories(
        &self,
        ids: &[u64],
    ) -> Result<std::collections::HashMap<u64, String>, ConnectorError> {
        let mut categories = std::collections::HashMap::new();
        for chunk in ids.chunks(PER_PAGE as usize) {
            let include = chunk
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let page = self
                .list(
                    "products",
                    &[("include", include), ("per_page", PER_PAGE.to_string())],
                )
                .await?;
            for product in page.items {
                let name = product["categories"][0]["name"].as_str();
                if let (Some(id), Some(name)) = (product["id"].as_u64(), name) {
                    categories.insert(id, name.to_string());
                }
            }
        }
        Ok(categories)
    }

    /// Subscribes `delivery_url` to `topic` (`order.updated`), signed with `secret`: the shop
    /// then posts each such event there.
    pub async fn create_webhook(
        &self,
        topic: &str,
        delivery_url: &str,
        secret: &SecretString,
    ) -> Result<(), ConnectorError> {
        let url = format!("{}/webhooks", self.api);
        let body = serde_json::json!({
            "name": format!("ledgerlink {topic}"),
            "topic": topic,
            "delivery_url": delivery_url,
            "secret": secret.expose_secret(),
            "status": "active",
        })
        .to_string();
        let started = Instant::now();
        let result = self
            .http
            .post(&url)
            .basic_auth(
                self.credentials.consumer_key.expose_secret(),
                Some(self.credentials.consumer_secret.expose_secret()),
            )
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.clone())
            .send()
            .await;
        let (status, answer, error) = match result {
            Ok(response) => {
                let status = response.status();
                (Some(status), response.text().await.ok(), None)
            }
            Err(error) => (
                None,
                None,
                Some(format!("could not reach the shop: {error}")),
            ),
        };
        self.auditor
            .record(Exchange {
                method: "POST",
                url: &url,
                request_body: Some(&body),
                status: status.map(|s| s.as_u16()),
                response_body: answer.as_deref(),
                error: error.as_deref(),
                duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            })
            .await;
        match status {
            Some(status) if status.is_success() => Ok(()),
            Some(status) => Err(error_for(status, answer.as_deref().unwrap_or_default())),
            None => Err(ConnectorError::transient(
                "The shop did not answer; try again in a moment.",
                error.unwrap_or_default(),
            )),
        }
    }

    async fn list(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Page<serde_json::Value>, ConnectorError> {
        let (items, headers) = self.get::<Vec<serde_json::Value>>(path, query).await?;
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let total = header("x-wp-total").unwrap_or(items.len() as u64);
        let total_pages = header("x-wp-totalpages").unwrap_or(1);
        Ok(Page {
            items,
            total,
            total_pages,
        })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(T, reqwest::header::HeaderMap), ConnectorError> {
        let url = format!("{}/{path}", self.api);
        let started = Instant::now();
        let result = self
            .http
            .get(&url)
            .query(query)
            .basic_auth(
                self.credentials.consumer_key.expose_secret(),
                Some(self.credentials.consumer_secret.expose_secret()),
            )
            .header("accept", "application/json")
            .send()
            .await;
        let full_url = match serde_urlencoded::to_string(query) {
            Ok(q) if !q.is_empty() => format!("{url}?{q}"),
            _ => url.clone(),
        };
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                let message = format!("could not reach the shop: {error}");
                self.auditor
                    .record_get(&full_url, None, None, Some(&message), started)
                    .await;
                return Err(ConnectorError::transient(
                    "The shop did not answer; ledgerlink will try again.",
                    message,
                ));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| {
            ConnectorError::transient(
                "The shop's answer broke off; ledgerlink will try again.",
                e.to_string(),
            )
        })?;
        self.auditor
            .record_get(&full_url, Some(status.as_u16()), Some(&body), None, started)
            .await;
        if !status.is_success() {
            return Err(error_for(status, &body));
        }
        let parsed = serde_json::from_str(&body).map_err(|e| {
            ConnectorError::transient(
                "The shop answered with something that is not the expected JSON; ledgerlink will try again.",
                format!("GET {path}: {e}"),
            )
        })?;
        Ok((parsed, headers))
    }
}

/// WordPress errors are `{"code": "...", "message": "...", "data": {"status": N}}`.
fn error_for(status: reqwest::StatusCode, body: &str) -> ConnectorError {
    #[derive(Deserialize)]
    struct WpError {
        code: String,
        message: String,
    }
    let detail = serde_json::from_str::<WpError>(body)
        .map(|e| format!("{} ({})", e.message, e.code))
        .unwrap_or_else(|_| format!("HTTP {status}"));
    let internal = format!("HTTP {status}: {detail}");
    match status.as_u16() {
        401 | 403 => ConnectorError::new(
            ErrorKind::Auth,
            format!("The shop refused ledgerlink's API key: {detail}. Check the consumer key and secret (read access to orders is needed)."),
            internal,
        ),
        404 => ConnectorError::new(ErrorKind::NotFound, format!("The shop does not know this: {detail}."), internal),
        429 | 500..=599 => ConnectorError::transient("The shop is busy or failing; ledgerlink will try again.", internal),
        _ => ConnectorError::rejected(format!("The shop refused the request: {detail}."), internal),
    }
}
