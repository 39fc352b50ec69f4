//! Exact Online REST API emulator, written from the vendor reference in
//! `shared/specs/exact-online` (protocol notes, entity field tables, examples).
//!
//! Served:
//! - OAuth 2.0 code flow: `GET/POST /api/oauth2/auth`, `POST /api/oauth2/token` (see [`oauth`]).
//! - `GET /api/v1/current/Me`, and per division `system/Divisions`, `crm/Accounts` (GET, POST,
//!   PUT by key; `ClassificationN` must be a classification under the name with
//!   `SequenceNumber` N), `crm/AccountClassificationNames`, `crm/AccountClassifications` (GET),
//!   `crm/Addresses` (GET, POST), `logistics/Items` (GET, POST), `financial/GLAccounts`,
//!   `financial/Journals`, `vat/VATCodes`, `cashflow/PaymentConditions` (GET),
//!   `salesentry/SalesEntries` (GET, POST with inline lines, PUT/PATCH/MERGE/DELETE by key;
//!   `PaymentCondition` must be an existing code and gives the default `DueDate`),
//!   `salesentry/SalesEntryLines` (GET), `salesinvoice/SalesInvoices` (GET, POST with inline
//!   lines as a draft, PUT/PATCH/MERGE/DELETE of drafts by key), `salesinvoice/SalesInvoiceLines`
//!   (GET) and `salesinvoice/PrintedSalesInvoices` (POST: processes a draft, books its sales
//!   entry, e-mails it; see [`invoices`]) — with the OData options of [`odata`], the limits of
//!   [`rate_limit`] and the checks of [`api`].
//! - Admin endpoints without auth under `/__sandbox/`: `GET requests`, `POST faults`
//!   (an `ArmedFault`, for `/api/v1/…` or the token endpoint), `GET divisions/{d}/sales-entries`,
//!   `POST authorize` (→ `{"code": …}`).
//!
//! Choices where the reference is silent are documented where they are made: POST without
//! `Prefer: return=representation` answers 204 with a `Location` (the reference says the
//! header is what gets the created entity back); a request without `Accept: application/json`
//! gets 406 (Exact would answer Atom/XML, which this sandbox does not speak); a division the user
//! cannot reach is 403; the error-rate block answers 429; an account PUT replaces only the
//! properties sent (the rest stay) and answers 204.

mod api;
mod entities;
mod invoices;
mod oauth;
mod odata;
pub mod rate_limit;
mod schema;
mod seed;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use chrono::Utc;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::faults::{ArmedFault, FaultPlan};
use crate::recorder::{RecordedRequest, Recorder};
use entities::{Ctx, Division, Resource};
use odata::{Row, Val};
pub use rate_limit::RateWindows;

/// How the emulated Exact Online behaves towards the one registered app.
#[derive(Clone, Debug)]
pub struct ExactConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The redirect URI registered for the app; authorization requests must match it exactly.
    pub redirect_uri: String,
    /// Calls per minute per app and division (Exact: 60).
    pub minutely_limit: u32,
    /// Calls per day per app and division (Exact: 5000).
    pub daily_limit: u32,
    /// How long those minutes and days last; shorter than real only to compress the clock.
    pub rate_windows: RateWindows,
    /// Lifetime of an access token in seconds (Exact: 600).
    pub access_token_secs: i64,
    /// `GET /api/oauth2/auth` redirects at once with a code instead of showing a consent page.
    pub auto_approve: bool,
}

impl Default for ExactConfig {
    fn default() -> Self {
        ExactConfig {
            client_id: "ledgerlink-sandbox-client".into(),
            client_secret: "sandbox-secret".into(),
            redirect_uri: "http://127.0.0.1/oauth/exact/callback".into(),
            minutely_limit: 60,
            daily_limit: 5000,
            rate_windows: RateWindows::default(),
            access_token_secs: 600,
            auto_approve: true,
        }
    }
}

/// A sales entry as booked, for tests to judge what the "vendor" holds.
#[derive(Clone, Debug, Serialize)]
pub struct SalesEntryRecord {
    pub entry_id: Uuid,
    pub entry_number: i64,
    /// 20 = sales entry, 21 = sales credit note.
    pub entry_type: i32,
    /// Journal code, e.g. "70".
    pub journal: String,
    pub customer: Uuid,
    pub your_ref: Option<String>,
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub entry_date: String,
    pub lines: Vec<SalesEntryLineRecord>,
    /// Total including VAT (the header `AmountFC`).
    pub amount_fc: Decimal,
    pub vat_amount_fc: Decimal,
    /// For a credit note (type 21): the sales entry it credits.
    ///
    /// Exact's `SalesEntries` has no property linking a credit note to the entry it credits (the
    /// reference lists none; matching happens on the customer's open items). The field the
    /// reference designates for the shop's order number is `YourRef` ("Reference of the
    /// customer, like order number"), which Exact carries into the receivable; so the link is
    /// the earliest type-20 entry of the same customer whose `YourRef` equals the credit note's
    /// (compared as Exact compares strings: case-insensitive, trailing spaces ignored). `None`
    /// for sales entries and for credit notes without such an entry.
    pub original_entry: Option<Uuid>,
    /// The sales invoice whose processing booked the entry (same ID as the entry); `None` for
    /// entries posted to `salesentry/SalesEntries`.
    pub invoice: Option<Uuid>,
    /// True once any PUT/PATCH/MERGE/DELETE touched the entry after it was created.
    pub modified_after_creation: bool,
}

/// One line of a [`SalesEntryRecord`].
#[derive(Clone, Debug, Serialize)]
pub struct SalesEntryLineRecord {
    pub gl_account: Uuid,
    /// Amount excluding VAT.
    pub amount_fc: Decimal,
    /// VAT code without Exact's padding (e.g. "1").
    pub vat_code: Option<String>,
    pub vat_amount_fc: Decimal,
    pub description: Option<String>,
}

/// A sales invoice as Exact holds it, for tests to judge what the "vendor" holds.
#[derive(Clone, Debug, Serialize)]
pub struct SalesInvoiceRecord {
    pub invoice_id: Uuid,
    /// Assigned when the invoice is processed; `None` for drafts.
    pub invoice_number: Option<i64>,
    /// 10 = draft, 50 = processed.
    pub status: i32,
    /// 8020 = sales invoice, 8021 = sales credit note.
    pub invoice_type: i32,
    pub your_ref: Option<String>,
    /// The account that ordered (`OrderedBy`).
    pub customer: Uuid,
    /// The account invoiced (`InvoiceTo`): the customer of the booked sales entry and the
    /// recipient of the e-mail.
    pub invoice_to: Uuid,
    /// Journal code, e.g. "70".
    pub journal: String,
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub invoice_date: String,
    pub lines: Vec<SalesInvoiceLineRecord>,
    /// Total including VAT (the header `AmountFC`).
    pub amount_fc: Decimal,
    pub vat_amount_fc: Decimal,
    /// The sales entry processing booked; `None` while a draft.
    pub sales_entry: Option<Uuid>,
    /// True once any PUT/PATCH/MERGE/DELETE touched the invoice after it was created.
    pub modified_after_creation: bool,
}

/// One line of a [`SalesInvoiceRecord`].
#[derive(Clone, Debug, Serialize)]
pub struct SalesInvoiceLineRecord {
    pub item: Uuid,
    pub item_code: String,
    pub quantity: Decimal,
    /// Price per unit after discount, excluding VAT.
    pub net_price: Decimal,
    pub gl_account: Uuid,
    /// Amount excluding VAT.
    pub amount_fc: Decimal,
    /// VAT code without Exact's padding (e.g. "1").
    pub vat_code: Option<String>,
    pub vat_amount_fc: Decimal,
    pub description: Option<String>,
}

/// An invoice e-mail processing "sent" to the invoice customer.
#[derive(Clone, Debug, Serialize)]
pub struct SentInvoiceEmail {
    pub invoice_id: Uuid,
    pub invoice_number: i64,
    /// The invoice customer's e-mail address.
    pub to: String,
    pub your_ref: Option<String>,
    /// `SenderEmailAddress` of the request; `None` means the company's address.
    pub sender: Option<String>,
}

/// An Exact user: the first one owns every division; others may be added to consent too.
#[derive(Clone)]
pub(crate) struct User {
    id: Uuid,
    user_name: String,
    full_name: String,
    first_name: String,
    last_name: String,
    email: String,
}

pub(crate) struct Inner {
    config: ExactConfig,
    faults: FaultPlan,
    recorder: Recorder,
    clock_offset_ms: Mutex<i64>,
    auth: Mutex<oauth::AuthState>,
    limits: Mutex<rate_limit::Limits>,
    divisions: Mutex<BTreeMap<i32, Division>>,
    user: User,
    /// Users added besides the first.
    other_users: Mutex<Vec<User>>,
    /// The user signed in to Exact in "the browser": whose consent the next authorization is.
    signed_in: Mutex<Uuid>,
}

/// The emulator; cheap to clone (shared state).
#[derive(Clone)]
pub struct ExactSandbox {
    inner: Arc<Inner>,
}

/// The division every sandbox starts with.
const DEFAULT_DIVISION: i32 = 100001;

impl ExactSandbox {
    /// A sandbox with division 100001 "Demo Webshop BV" and its master data.
    pub fn new(config: ExactConfig) -> Self {
        let first_user = Uuid::new_v4();
        let sandbox = ExactSandbox {
            inner: Arc::new(Inner {
                limits: Mutex::new(rate_limit::Limits::new(config.rate_windows)),
                config,
                faults: FaultPlan::default(),
                recorder: Recorder::default(),
                clock_offset_ms: Mutex::new(0),
                auth: Mutex::new(oauth::AuthState::default()),
                divisions: Mutex::new(BTreeMap::new()),
                other_users: Mutex::new(Vec::new()),
                signed_in: Mutex::new(first_user),
                user: User {
                    id: first_user,
                    user_name: "sandbox@ledgerlink.test".into(),
                    full_name: "Sanne de Vries".into(),
                    first_name: "Sanne".into(),
                    last_name: "de Vries".into(),
                    email: "sandbox@ledgerlink.test".into(),
                },
            }),
        };
        sandbox.add_division(DEFAULT_DIVISION, "Demo Webshop BV");
        sandbox
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/api/oauth2/auth",
                get(oauth::authorize).post(oauth::consent),
            )
            .route("/api/oauth2/token", post(oauth::token))
            .route("/api/v1/{*rest}", any(api::handle))
            .route("/__sandbox/requests", get(admin_requests))
            .route("/__sandbox/faults", post(admin_faults))
            .route(
                "/__sandbox/divisions/{division}/sales-entries",
                get(admin_sales_entries),
            )
            .route("/__sandbox/authorize", post(admin_authorize))
            .with_state(self.clone())
    }

    /// Starts the emulator on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(
        config: ExactConfig,
        port: u16,
    ) -> std::io::Result<(crate::Running, ExactSandbox)> {
        let sandbox = ExactSandbox::new(config);
        let running = crate::serve(sandbox.router(), port).await?;
        Ok((running, sandbox))
    }

    pub fn config(&self) -> &ExactConfig {
        &self.inner.config
    }

    pub fn faults(&self) -> &FaultPlan {
        &self.inner.faults
    }

    pub fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    /// Adds a division with the same master data as 100001 (own GUIDs); renames it if it exists.
    pub fn add_division(&self, division: i32, name: &str) {
        let ctx = Ctx {
            now: self.now_ms(),
            user: &self.inner.user,
        };
        let mut divisions = self.inner.divisions.lock().unwrap();
        match divisions.get_mut(&division) {
            Some(existing) => existing.name = name.to_string(),
            None => {
                divisions.insert(division, seed::division(division, name, &ctx));
            }
        }
    }

    /// An authorization code for the registered redirect URI, as if the user logged in and
    /// consented. Valid three minutes on the emulator clock, single use.
    pub fn issue_authorization_code(&self) -> String {
        let now = self.now_ms();
        let user = *self.inner.signed_in.lock().unwrap();
        self.inner
            .auth
            .lock()
            .unwrap()
            .issue_code(&self.inner.config.redirect_uri, now, user)
    }

    /// Another Exact user with access to every division; returns its `UserID`.
    pub fn add_user(&self, full_name: &str, email: &str) -> Uuid {
        let (first_name, last_name) = full_name.split_once(' ').unwrap_or((full_name, ""));
        let user = User {
            id: Uuid::new_v4(),
            user_name: email.to_string(),
            full_name: full_name.to_string(),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            email: email.to_string(),
        };
        let id = user.id;
        self.inner.other_users.lock().unwrap().push(user);
        id
    }

    /// From now on authorizations are this user's consent, as if they had signed in to Exact.
    pub fn sign_in_as(&self, user: Uuid) {
        *self.inner.signed_in.lock().unwrap() = user;
    }

    /// The first user's `UserID` (the one signed in unless [`ExactSandbox::sign_in_as`]).
    pub fn first_user(&self) -> Uuid {
        self.inner.user.id
    }

    /// The user whose consent an access token carries (the first user for an unknown token).
    fn user_of_token(&self, token: Option<&str>) -> User {
        let id = token.and_then(|t| self.inner.auth.lock().unwrap().user_of(t));
        self.inner
            .other_users
            .lock()
            .unwrap()
            .iter()
            .find(|u| Some(u.id) == id)
            .cloned()
            .unwrap_or_else(|| self.inner.user.clone())
    }

    /// Ages every issued token by `by`, as if that time had passed for them: access tokens
    /// expire and may be refreshed. The error-rate hour moves on with them (errors are counted
    /// per hour of the time the tokens live by: aged tokens met with a 401 must not add up to a
    /// block that real time would have lifted), while the minute and day windows keep the real
    /// clock.
    pub fn age_tokens(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.inner.auth.lock().unwrap().age(millis);
        self.limits().age_errors(millis);
    }

    /// Every access and refresh token the emulator ever issued: what a secrets canary looks for.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.inner.auth.lock().unwrap().issued_tokens()
    }

    /// Moves the emulator clock forward (token expiry, rate-limit windows, error-rate hour).
    pub fn advance_clock(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let mut offset = self.inner.clock_offset_ms.lock().unwrap();
        *offset = offset.saturating_add(millis);
    }

    /// Every sales entry ever created in the division, in creation order (deleted ones included).
    pub fn sales_entries(&self, division: i32) -> Vec<SalesEntryRecord> {
        self.inner
            .divisions
            .lock()
            .unwrap()
            .get(&division)
            .map(|d| d.entries.iter().map(|e| e.record.clone()).collect())
            .unwrap_or_default()
    }

    /// Every sales invoice ever created in the division, in creation order (deleted drafts
    /// included).
    pub fn sales_invoices(&self, division: i32) -> Vec<SalesInvoiceRecord> {
        self.inner
            .divisions
            .lock()
            .unwrap()
            .get(&division)
            .map(|d| d.invoices.iter().map(|i| i.record.clone()).collect())
            .unwrap_or_default()
    }

    /// Every invoice e-mail processing sent in the division, in order.
    pub fn sent_invoice_emails(&self, division: i32) -> Vec<SentInvoiceEmail> {
        self.inner
            .divisions
            .lock()
            .unwrap()
            .get(&division)
            .map(|d| d.invoice_emails.clone())
            .unwrap_or_default()
    }

    /// Creates an account as a bookkeeper would in Exact's own screens (e.g. a collective
    /// debtor), with the same checks as `POST crm/Accounts`. Returns its ID.
    pub fn create_account(&self, division: i32, body: Value) -> Result<Value, String> {
        let ctx = Ctx {
            now: self.now_ms(),
            user: &self.inner.user,
        };
        let mut divisions = self.inner.divisions.lock().unwrap();
        let d = divisions
            .get_mut(&division)
            .ok_or_else(|| format!("no division {division}"))?;
        let body = body.as_object().cloned().unwrap_or_default();
        let row = d
            .create_account(&body, &ctx)
            .map_err(|e| format!("{e:?}"))?;
        let set = Resource::Accounts.set();
        Ok(set.render(&row, "", None, &|_| None)["ID"].clone())
    }

    /// The division's accounts as the API returns them (without `__metadata`).
    pub fn accounts(&self, division: i32) -> Vec<Value> {
        let divisions = self.inner.divisions.lock().unwrap();
        let Some(d) = divisions.get(&division) else {
            return Vec::new();
        };
        let set = Resource::Accounts.set();
        d.accounts
            .iter()
            .map(|row| {
                let mut value = set.render(row, "", None, &|_| None);
                if let Some(object) = value.as_object_mut() {
                    object.remove("__metadata");
                    object.remove("BankAccounts");
                }
                value
            })
            .collect()
    }

    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + *self.inner.clock_offset_ms.lock().unwrap()
    }

    fn limits(&self) -> MutexGuard<'_, rate_limit::Limits> {
        self.inner.limits.lock().unwrap()
    }

    /// The division `current/Me` reports: the first one.
    fn current_division(&self) -> i32 {
        self.inner
            .divisions
            .lock()
            .unwrap()
            .keys()
            .next()
            .copied()
            .unwrap_or(DEFAULT_DIVISION)
    }

    /// Records a request outside `/api/v1` (OAuth pages and token endpoint).
    fn record_plain(&self, method: &str, uri: &axum::http::Uri, status: StatusCode) {
        self.recorder().record(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            status: status.as_u16(),
            tenant: None,
            credential: None,
        });
    }

    fn me_row(
        &self,
        divisions: &BTreeMap<i32, Division>,
        current: i32,
        now: i64,
        token: Option<&str>,
    ) -> Row {
        let user = &self.user_of_token(token);
        let mut row = Row::new();
        row.insert("UserID", Val::Guid(user.id));
        row.insert("CurrentDivision", Val::Int(i64::from(current)));
        row.insert("AccountingDivision", Val::Int(i64::from(current)));
        row.insert("UserName", Val::str(&user.user_name));
        row.insert("FullName", Val::str(&user.full_name));
        row.insert("FirstName", Val::str(&user.first_name));
        row.insert("LastName", Val::str(&user.last_name));
        row.insert("Initials", Val::str("S."));
        row.insert("Email", Val::str(&user.email));
        row.insert("Gender", Val::str("V"));
        row.insert("Language", Val::str("NL"));
        row.insert("LanguageCode", Val::str("nl-NL"));
        row.insert("Legislation", Val::Int(1));
        row.insert("PackageCode", Val::str("EOL-ACCOUNTING"));
        row.insert("ServerTime", Val::Date(now));
        row.insert("ServerUtcOffset", Val::Num(Decimal::ZERO));
        if let Some(d) = divisions.get(&current) {
            row.insert("DivisionCustomer", Val::Guid(d.owner));
            row.insert("DivisionCustomerCode", Val::str(format!("{:>18}", 1)));
            row.insert("DivisionCustomerName", Val::str(&d.name));
        }
        row
    }

    fn division_row(&self, d: &Division, current: i32) -> Row {
        let user = &self.inner.user;
        let mut row = Row::new();
        row.insert("Code", Val::Int(i64::from(d.code)));
        row.insert("Description", Val::str(&d.name));
        row.insert("Hid", Val::Int(i64::from(d.code)));
        row.insert("Currency", Val::str(&d.currency));
        row.insert("Country", Val::str("NL"));
        row.insert("Legislation", Val::str("NL"));
        row.insert("Current", Val::Bool(d.code == current));
        row.insert("IsMainDivision", Val::Bool(d.code == DEFAULT_DIVISION));
        row.insert("Status", Val::Int(1));
        row.insert("BlockingStatus", Val::Int(0));
        row.insert("Customer", Val::Guid(d.owner));
        row.insert("CustomerName", Val::str(&d.name));
        row.insert(
            "StartDate",
            Val::Date(d.created_ms - d.created_ms.rem_euclid(86_400_000)),
        );
        row.insert("Created", Val::Date(d.created_ms));
        row.insert("Modified", Val::Date(d.created_ms));
        row.insert("Creator", Val::Guid(user.id));
        row.insert("CreatorFullName", Val::str(&user.full_name));
        row.insert("Modifier", Val::Guid(user.id));
        row.insert("ModifierFullName", Val::str(&user.full_name));
        row
    }
}

async fn admin_requests(State(sandbox): State<ExactSandbox>) -> Json<Vec<RecordedRequest>> {
    Json(sandbox.recorder().all())
}

async fn admin_faults(
    State(sandbox): State<ExactSandbox>,
    Json(fault): Json<ArmedFault>,
) -> StatusCode {
    sandbox.faults().arm(fault);
    StatusCode::NO_CONTENT
}

async fn admin_sales_entries(
    State(sandbox): State<ExactSandbox>,
    Path(division): Path<i32>,
) -> Response {
    if !sandbox
        .inner
        .divisions
        .lock()
        .unwrap()
        .contains_key(&division)
    {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no division {division}") })),
        )
            .into_response();
    }
    Json(sandbox.sales_entries(division)).into_response()
}

async fn admin_authorize(State(sandbox): State<ExactSandbox>) -> Json<Value> {
    Json(json!({ "code": sandbox.issue_authorization_code() }))
}
