//! The webservice client: the key as the HTTP Basic user (no password), `limit=offset,count`
//! paging without a total, `filter[date_upd]`/`filter[date_add]` intervals (with `date=1`)
//! for incremental reads and backfill, and the base data (states, countries, currencies,
//! taxes) cached per client.
//!
//! Formats, per resource: JSON (`output_format=JSON`) wherever the fields read are plain —
//! orders, order_details, order_histories, order_slip, customers, addresses, countries,
//! currencies, taxes — because its values arrive as exact strings ("71.510000") and it is
//! smaller. Order states are read as XML: their names are multilingual, which XML always
//! writes as `<language id=…>` while JSON changes shape with the number of languages, and
//! the recorded answers of real shops (module states included) are XML. Either way the body
//! is read by its content (see [`super::body`]), so a shop that answers the other format
//! still works.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use ledgerlink_core::{ConnectorError, ErrorKind};
use ledgerlink_store::audit::Auditor;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::body;
use super::bundle::{OrderBundle, OrderState};

#[derive(Clone, Debug, Deserialize)]
pub struct PrestaCredentials {
    /// The shop's address, e.g. `https://shop.example.nl` (the webservice is under `/api/`).
    pub url: String,
    /// The webservice key (Advanced Parameters > Webservice), 32 characters.
    pub api_key: SecretString,
}

/// Fields read from a customer: never the password hash or the secure key.
const CUSTOMER_FIELDS: &str = "[id,firstname,lastname,email,company,is_guest,date_add,date_upd]";

/// Dates as the webservice writes and filters them, in the shop's time zone.
const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The upper end of an open interval: MySQL's last DATETIME.
const END_OF_TIME: &str = "9999-12-31 23:59:59";

/// Rows per page when the caller has no reason to choose.
pub const PAGE_SIZE: u32 = 100;

/// One page of a list. The webservice gives no total: a page shorter than asked is the last.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Value>,
    pub offset: u32,
    pub count: u32,
}

impl Page {
    /// The offset of the next page, or `None` when this page was the last.
    pub fn next_offset(&self) -> Option<u32> {
        let read = u32::try_from(self.items.len()).unwrap_or(u32::MAX);
        (read >= self.count && self.count > 0).then(|| self.offset.saturating_add(read))
    }
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Xml,
}

/// Base data that changes rarely, read once per client.
#[derive(Default)]
struct Cache {
    states: Mutex<Option<Arc<BTreeMap<u64, OrderState>>>>,
    countries: Mutex<HashMap<u64, String>>,
    currencies: Mutex<HashMap<u64, String>>,
    tax_rates: Mutex<HashMap<u64, Decimal>>,
}

#[derive(Clone)]
pub struct PrestaClient {
    api: String,
    credentials: PrestaCredentials,
    http: reqwest::Client,
    auditor: Auditor,
    cache: Arc<Cache>,
}

impl PrestaClient {
    pub fn new(
        credentials: PrestaCredentials,
        auditor: Auditor,
        timeout: Duration,
    ) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ConnectorError::config(format!("cannot build an HTTP client: {e}")))?;
        let base = credentials.url.trim_end_matches('/');
        let base = base.strip_suffix("/api").unwrap_or(base);
        Ok(PrestaClient {
            api: format!("{base}/api"),
            credentials,
            http,
            auditor,
            cache: Arc::default(),
        })
    }

    /// Orders changed at or after `date_upd` (shop-local `YYYY-MM-DD HH:MM:SS`), oldest change
    /// first (ties by id), `count` from `offset`, every field. The lower end is inclusive, so
    /// a caller that restarts at the newest `date_upd` it saw reads that second again rather
    /// than missing an order changed in it.
    pub async fn orders_changed_since(
        &self,
        date_upd: &str,
        offset: u32,
        count: u32,
    ) -> Result<Page, ConnectorError> {
        let from = shop_date(date_upd)?;
        let query = vec![
            ("display", "full".to_string()),
            ("date", "1".into()),
            ("filter[date_upd]", format!("[{from},{END_OF_TIME}]")),
            ("sort", "[date_upd_ASC,id_ASC]".into()),
            ("limit", format!("{offset},{count}")),
        ];
        self.page("orders", query, offset, count).await
    }

    /// Orders created in [`from`, `to`) (shop-local `YYYY-MM-DD HH:MM:SS`), oldest first:
    /// backfill, whose days are the merchant's days. The webservice's interval is SQL
    /// `BETWEEN`, inclusive at both ends, so it is asked for [`from`, `to` − 1 s].
    pub async fn orders_created_between(
        &self,
        from: &str,
        to: &str,
        offset: u32,
        count: u32,
    ) -> Result<Page, ConnectorError> {
        let from = shop_date(from)?;
        let last = parse_shop_date(to)? - chrono::Duration::seconds(1);
        let query = vec![
            ("display", "full".to_string()),
            ("date", "1".into()),
            (
                "filter[date_add]",
                format!("[{from},{}]", last.format(DATE_FORMAT)),
            ),
            ("sort", "[date_add_ASC,id_ASC]".into()),
            ("limit", format!("{offset},{count}")),
        ];
        self.page("orders", query, offset, count).await
    }

    pub async fn order(&self, id: u64) -> Result<Value, ConnectorError> {
        self.entity("orders", id, "order").await
    }

    /// The order's lines (`order_details`), in the order they were added.
    pub async fn order_details(&self, order_id: u64) -> Result<Vec<Value>, ConnectorError> {
        self.rows_of_order("order_details", order_id).await
    }

    /// The order's state changes, oldest first.
    pub async fn order_histories(&self, order_id: u64) -> Result<Vec<Value>, ConnectorError> {
        self.rows_of_order("order_histories", order_id).await
    }

    /// The order's credit slips (`order_slip`), each with its `order_slip_details`.
    /// Credit slips changed at or after `date_upd` (shop-local), oldest first: adding a slip
    /// does not change its order's `date_upd`, so refunds need a cursor of their own.
    pub async fn slips_changed_since(
        &self,
        date_upd: &str,
        offset: u32,
        count: u32,
    ) -> Result<Page, ConnectorError> {
        let from = shop_date(date_upd)?;
        let query = vec![
            ("display", "full".to_string()),
            ("date", "1".into()),
            ("filter[date_upd]", format!("[{from},{END_OF_TIME}]")),
            ("sort", "[date_upd_ASC,id_ASC]".into()),
            ("limit", format!("{offset},{count}")),
        ];
        self.page("order_slip", query, offset, count).await
    }

    pub async fn order_slips_for(&self, order_id: u64) -> Result<Vec<Value>, ConnectorError> {
        self.rows_of_order("order_slip", order_id).await
    }

    /// Every order state of the shop by id, read once per client.
    pub async fn order_states(&self) -> Result<Arc<BTreeMap<u64, OrderState>>, ConnectorError> {
        if let Some(states) = self.cache.states.lock().expect("cache lock").clone() {
            return Ok(states);
        }
        self.load_order_states().await
    }

    /// One order state. A state the cached list lacks (a module installed it since) reloads
    /// the list once; a state the shop does not list at all is known by its id only.
    pub async fn order_state(&self, id: u64) -> Result<OrderState, ConnectorError> {
        if id == 0 {
            return Ok(OrderState::unknown(0));
        }
        if let Some(state) = self.order_states().await?.get(&id) {
            return Ok(state.clone());
        }
        Ok(self
            .load_order_states()
            .await?
            .get(&id)
            .cloned()
            .unwrap_or_else(|| OrderState::unknown(id)))
    }

    /// The customer, with only the fields ledgerlink reads (no password hash, no secure key).
    pub async fn customer(&self, id: u64) -> Result<Value, ConnectorError> {
        let query = vec![
            ("display", CUSTOMER_FIELDS.to_string()),
            ("filter[id]", format!("[{id}]")),
        ];
        let document = self.get("customers", query, Format::Json).await?;
        body::list(&document, "customers")
            .map_err(|e| unexpected("customers", &e))?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::NotFound,
                    format!("The shop has no customer {id}."),
                    format!("GET customers?filter[id]=[{id}]: empty list"),
                )
            })
    }

    pub async fn address(&self, id: u64) -> Result<Value, ConnectorError> {
        self.entity("addresses", id, "address").await
    }

    /// The country's ISO code, cached.
    pub async fn country(&self, id: u64) -> Result<String, ConnectorError> {
        if let Some(iso) = self.cache.countries.lock().expect("cache lock").get(&id) {
            return Ok(iso.clone());
        }
        let country = self.entity("countries", id, "country").await?;
        let iso = field(&country, "iso_code");
        self.cache
            .countries
            .lock()
            .expect("cache lock")
            .insert(id, iso.clone());
        Ok(iso)
    }

    /// The currency's ISO code, cached.
    pub async fn currency(&self, id: u64) -> Result<String, ConnectorError> {
        if let Some(iso) = self.cache.currencies.lock().expect("cache lock").get(&id) {
            return Ok(iso.clone());
        }
        let currency = self.entity("currencies", id, "currency").await?;
        let iso = field(&currency, "iso_code");
        self.cache
            .currencies
            .lock()
            .expect("cache lock")
            .insert(id, iso.clone());
        Ok(iso)
    }

    /// The tax's rate in percent, cached.
    pub async fn tax_rate(&self, id: u64) -> Result<Decimal, ConnectorError> {
        if let Some(rate) = self.cache.tax_rates.lock().expect("cache lock").get(&id) {
            return Ok(*rate);
        }
        let tax = self.entity("taxes", id, "tax").await?;
        let text = field(&tax, "rate");
        let rate = text.trim().parse::<Decimal>().map_err(|_| {
            unexpected(
                "taxes",
                &format!("tax {id} has the rate `{text}`, not a number"),
            )
        })?;
        self.cache
            .tax_rates
            .lock()
            .expect("cache lock")
            .insert(id, rate);
        Ok(rate)
    }

    /// The default category of each product (its name in the shop's first language), by
    /// product id: two list calls, whatever the number of products.
    pub async fn product_categories(
        &self,
        ids: &[u64],
    ) -> Result<std::collections::HashMap<u64, String>, ConnectorError> {
        let mut names = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(names);
        }
        let products = self
            .list_by_ids("products", ids, "[id,id_category_default]")
            .await?;
        let category_of: Vec<(u64, u64)> = products
            .iter()
            .map(|p| Ok((id_field(p, "id")?, id_field(p, "id_category_default")?)))
            .collect::<Result<_, ConnectorError>>()?;
        let mut category_ids: Vec<u64> = category_of
            .iter()
            .map(|(_, c)| *c)
            .filter(|c| *c != 0)
            .collect();
        category_ids.sort_unstable();
        category_ids.dedup();
        let categories = self
            .list_by_ids("categories", &category_ids, "[id,name]")
            .await?;
        let mut category_names = std::collections::HashMap::new();
        for category in &categories {
            let name = category
                .get("name")
                .map(body::language_text)
                .unwrap_or_default();
            category_names.insert(id_field(category, "id")?, name.trim().to_string());
        }
        for (product, category) in category_of {
            if let Some(name) = category_names.get(&category).filter(|n| !n.is_empty()) {
                names.insert(product, name.clone());
            }
        }
        Ok(names)
    }

    /// The rows of `resource` with these ids, only the `display` fields.
    async fn list_by_ids(
        &self,
        resource: &str,
        ids: &[u64],
        display: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = ids.iter().map(u64::to_string).collect::<Vec<_>>().join("|");
        let query = vec![
            ("display", display.to_string()),
            ("filter[id]", format!("[{wanted}]")),
        ];
        let document = self.get(resource, query, Format::Json).await?;
        body::list(&document, resource).map_err(|e| unexpected(resource, &e))
    }

    /// Reads the order and everything its mapping needs.
    pub async fn bundle(&self, order_id: u64) -> Result<OrderBundle, ConnectorError> {
        let order = self.order(order_id).await?;
        self.bundle_for(order).await
    }

    /// Completes an order as read (e.g. from [`Self::orders_changed_since`]) into a bundle.
    pub async fn bundle_for(&self, mut order: Value) -> Result<OrderBundle, ConnectorError> {
        let order_id = id_field(&order, "id")?;
        if let Some(fields) = order.as_object_mut() {
            fields.remove("secure_key");
        }
        let invoice_id = id_field(&order, "id_address_invoice")?;
        let delivery_id = id_field(&order, "id_address_delivery")?;
        let (details, histories, customer, invoice_address, delivery_address, currency, state) = tokio::try_join!(
            self.order_details(order_id),
            self.order_histories(order_id),
            self.optional_customer(id_field(&order, "id_customer")?),
            self.address(invoice_id),
            async {
                if delivery_id == invoice_id {
                    Ok(None)
                } else {
                    self.address(delivery_id).await.map(Some)
                }
            },
            self.currency(id_field(&order, "id_currency")?),
            self.order_state(id_field(&order, "current_state")?),
        )?;
        let delivery_address = delivery_address.unwrap_or_else(|| invoice_address.clone());
        let invoice_country_id = id_field(&invoice_address, "id_country")?;
        let delivery_country_id = id_field(&delivery_address, "id_country")?;
        let invoice_country = self.country(invoice_country_id).await?;
        let delivery_country = if delivery_country_id == invoice_country_id {
            invoice_country.clone()
        } else {
            self.country(delivery_country_id).await?
        };
        let mut history_states = BTreeMap::new();
        for history in &histories {
            let id = id_field(history, "id_order_state")?;
            if let std::collections::btree_map::Entry::Vacant(entry) = history_states.entry(id) {
                entry.insert(self.order_state(id).await?);
            }
        }
        let mut tax_rates = BTreeMap::new();
        for detail in &details {
            for tax in associations(detail, "taxes") {
                let id = id_field(tax, "id")?;
                if let std::collections::btree_map::Entry::Vacant(entry) = tax_rates.entry(id) {
                    entry.insert(self.tax_rate(id).await?);
                }
            }
        }
        Ok(OrderBundle {
            order,
            details,
            histories,
            customer,
            invoice_address,
            delivery_address,
            invoice_country,
            delivery_country,
            currency,
            state,
            history_states,
            tax_rates,
        })
    }

    /// A customer the shop may have deleted since the order (the order keeps its id).
    async fn optional_customer(&self, id: u64) -> Result<Option<Value>, ConnectorError> {
        if id == 0 {
            return Ok(None);
        }
        match self.customer(id).await {
            Ok(customer) => Ok(Some(customer)),
            Err(error) if error.kind == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn load_order_states(&self) -> Result<Arc<BTreeMap<u64, OrderState>>, ConnectorError> {
        let document = self
            .get(
                "order_states",
                vec![("display", "full".to_string())],
                Format::Xml,
            )
            .await?;
        let states = body::list(&document, "order_states")
            .map_err(|e| unexpected("order_states", &e))?
            .iter()
            .map(|value| OrderState::from_value(value).map(|s| (s.id, s)))
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map_err(|e| unexpected("order_states", &e))?;
        let states = Arc::new(states);
        *self.cache.states.lock().expect("cache lock") = Some(states.clone());
        Ok(states)
    }

    /// Every row of a resource that belongs to one order, oldest first.
    async fn rows_of_order(
        &self,
        resource: &str,
        order_id: u64,
    ) -> Result<Vec<Value>, ConnectorError> {
        let query = vec![
            ("display", "full".to_string()),
            ("filter[id_order]", format!("[{order_id}]")),
            ("sort", "[id_ASC]".into()),
        ];
        let document = self.get(resource, query, Format::Json).await?;
        body::list(&document, list_node(resource)).map_err(|e| unexpected(resource, &e))
    }

    async fn page(
        &self,
        resource: &str,
        query: Vec<(&str, String)>,
        offset: u32,
        count: u32,
    ) -> Result<Page, ConnectorError> {
        let document = self.get(resource, query, Format::Json).await?;
        let items =
            body::list(&document, list_node(resource)).map_err(|e| unexpected(resource, &e))?;
        Ok(Page {
            items,
            offset,
            count,
        })
    }

    async fn entity(&self, resource: &str, id: u64, node: &str) -> Result<Value, ConnectorError> {
        let path = format!("{resource}/{id}");
        let document = self.get(&path, Vec::new(), Format::Json).await?;
        body::entity(&document, node).map_err(|e| unexpected(&path, &e))
    }

    /// GETs `/api/{path}`, audits the exchange and reads the body (JSON or XML alike); every
    /// failure becomes a [`ConnectorError`] in [`error_for`].
    async fn get(
        &self,
        path: &str,
        mut query: Vec<(&str, String)>,
        format: Format,
    ) -> Result<Value, ConnectorError> {
        if let Format::Json = format {
            query.push(("output_format", "JSON".into()));
        }
        let url = format!("{}/{path}", self.api);
        let full_url = match serde_urlencoded::to_string(&query) {
            Ok(q) if !q.is_empty() => format!("{url}?{q}"),
            _ => url.clone(),
        };
        let started = Instant::now();
        let result = self
            .http
            .get(&url)
            .query(&query)
            .basic_auth(self.credentials.api_key.expose_secret(), None::<&str>)
            .send()
            .await;
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
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|e| {
            ConnectorError::transient(
                "The shop's answer broke off; ledgerlink will try again.",
                e.to_string(),
            )
        })?;
        self.auditor
            .record_get(&full_url, Some(status.as_u16()), Some(&text), None, started)
            .await;
        if !status.is_success() {
            return Err(error_for(status, &text, path, retry_after));
        }
        body::parse(&text).map_err(|e| {
            ConnectorError::transient(
                "The shop answered with something that is not the webservice's JSON or XML; ledgerlink will try again.",
                format!("GET {path}: {e}"),
            )
        })
    }
}

/// The element that holds a resource's list; the credit slips' differs from their path.
fn list_node(resource: &str) -> &str {
    match resource {
        "order_slip" => "order_slips",
        other => other,
    }
}

/// The rows of an association (`associations/taxes`, `associations/order_slip_details`).
pub(crate) fn associations<'a>(value: &'a Value, name: &str) -> &'a [Value] {
    value
        .get("associations")
        .and_then(|a| a.get(name))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn field(value: &Value, name: &str) -> String {
    value
        .get(name)
        .map(body::text)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn id_field(value: &Value, name: &str) -> Result<u64, ConnectorError> {
    let text = field(value, name);
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<u64>()
        .map_err(|_| unexpected(name, &format!("`{name}` is `{text}`, not an id")))
}

fn parse_shop_date(text: &str) -> Result<NaiveDateTime, ConnectorError> {
    NaiveDateTime::parse_from_str(text.trim(), DATE_FORMAT).map_err(|_| {
        ConnectorError::config(format!(
            "`{text}` is not a PrestaShop date: write it as YYYY-MM-DD HH:MM:SS in the shop's time zone"
        ))
    })
}

fn shop_date(text: &str) -> Result<String, ConnectorError> {
    parse_shop_date(text).map(|date| date.format(DATE_FORMAT).to_string())
}

fn unexpected(what: &str, detail: &str) -> ConnectorError {
    ConnectorError::transient(
        "The shop's answer did not have the expected shape; ledgerlink will try again.",
        format!("GET {what}: {detail}"),
    )
}

/// Every failed answer, mapped in one place. The webservice's own errors are
/// `<errors><error><code/><message/></error></errors>` (or the JSON equivalent).
fn error_for(
    status: reqwest::StatusCode,
    body: &str,
    path: &str,
    retry_after: Option<Duration>,
) -> ConnectorError {
    let errors = body::errors(body);
    let detail = if errors.is_empty() {
        format!("HTTP {status}")
    } else {
        errors
            .iter()
            .map(|e| {
                if e.code.is_empty() {
                    e.message.clone()
                } else {
                    format!("{} (code {})", e.message, e.code)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let internal = format!("GET {path}: HTTP {status}: {detail}");
    let resource = path.split('/').next().unwrap_or(path);
    let disabled = errors.iter().any(|e| {
        e.message
            .to_ascii_lowercase()
            .contains("webservice is disabled")
    });
    match status.as_u16() {
        401 | 403 => ConnectorError::new(
            ErrorKind::Auth,
            format!(
                "The shop refused ledgerlink's webservice key reading `{resource}`: {detail}. In the PrestaShop back office, under Advanced Parameters > Webservice, check that the key is the one given to ledgerlink, that it is enabled, and that it may View (GET) orders, order_details, order_histories, order_states, order_slip, customers, addresses, countries, currencies and taxes. If all that is right, the web server may not pass the Authorization header on to PrestaShop (see CGIPassAuth in PrestaShop's webservice documentation)."
            ),
            internal,
        ),
        503 if disabled => ConnectorError::new(
            ErrorKind::Auth,
            format!("The shop's webservice is switched off: {detail}. Enable it under Advanced Parameters > Webservice in the PrestaShop back office."),
            internal,
        ),
        404 => ConnectorError::new(
            ErrorKind::NotFound,
            format!("The shop does not know this: {detail}."),
            internal,
        ),
        429 | 500..=599 => ConnectorError::new(
            ErrorKind::Transient { retry_after },
            "The shop is busy or failing; ledgerlink will try again.",
            internal,
        ),
        _ => ConnectorError::rejected(format!("The shop refused the request: {detail}."), internal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn errors_map_to_kinds_with_the_shops_message() {
        let xml = "<prestashop><errors><error><code><![CDATA[18]]></code>\
                   <message><![CDATA[Invalid authentication key format]]></message></error></errors></prestashop>";
        let auth = error_for(StatusCode::UNAUTHORIZED, xml, "orders", None);
        assert_eq!(auth.kind, ErrorKind::Auth);
        assert!(auth
            .message_for_user
            .contains("Invalid authentication key format (code 18)"));
        assert!(auth.message_for_user.contains("View (GET) orders"));

        let missing = error_for(
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"code":87,"message":"Id(s) not exists: 9"}]}"#,
            "orders/9",
            None,
        );
        assert_eq!(missing.kind, ErrorKind::NotFound);

        let busy = error_for(
            StatusCode::TOO_MANY_REQUESTS,
            "",
            "orders",
            Some(Duration::from_secs(30)),
        );
        assert_eq!(
            busy.kind,
            ErrorKind::Transient {
                retry_after: Some(Duration::from_secs(30))
            }
        );
        assert_eq!(
            error_for(StatusCode::BAD_GATEWAY, "<html/>", "orders", None).kind,
            ErrorKind::Transient { retry_after: None }
        );

        let bad = error_for(
            StatusCode::BAD_REQUEST,
            r#"{"errors":[{"code":32,"message":"This filter does not exist"}]}"#,
            "orders",
            None,
        );
        assert_eq!(bad.kind, ErrorKind::Rejected);
        assert!(bad.message_for_user.contains("This filter does not exist"));

        let off = error_for(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"errors":[{"code":22,"message":"The PrestaShop webservice is disabled. Please activate it in the PrestaShop Back Office"}]}"#,
            "orders",
            None,
        );
        assert_eq!(off.kind, ErrorKind::Auth);
    }

    /// A real shop's answer to a request without a key: 401 and no body at all.
    #[test]
    fn the_recorded_refusal_is_an_auth_error() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/prestashop/recorded/auth_failure.json"
        );
        let recorded: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let status = StatusCode::from_u16(recorded[0]["status"].as_u64().unwrap() as u16).unwrap();
        let error = error_for(status, "", "orders", None);
        assert_eq!(error.kind, ErrorKind::Auth);
        assert!(error.message_for_user.contains("HTTP 401 Unauthorized"));
        assert!(error
            .message_for_user
            .contains("Advanced Parameters > Webservice"));
    }

    #[test]
    fn pages_end_when_short() {
        let page = |n: usize, offset, count| Page {
            items: vec![Value::Null; n],
            offset,
            count,
        };
        assert_eq!(page(100, 0, 100).next_offset(), Some(100));
        assert_eq!(page(99, 100, 100).next_offset(), None);
        assert_eq!(page(0, 200, 100).next_offset(), None);
    }

    #[test]
    fn dates_are_checked_before_they_reach_a_filter() {
        assert_eq!(
            shop_date("2024-01-31 23:59:59").unwrap(),
            "2024-01-31 23:59:59"
        );
        let error = shop_date("2024-01-31]&display=full").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Config);
    }
}
