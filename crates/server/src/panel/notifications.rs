//! The notifications page of a connection: the e-mail addresses that hear of held documents
//! and failures, which events they hear of, and when the transfer report comes.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ledgerlink_engine::notify::EventKind;
use serde::Deserialize;

use super::pages::{render, signed_in, signed_in_form, view_error, CsrfOnly, Nav};
use super::rules::{field, fields, reset_to_settings_file, urlencoded, Choice, Reset, Select};
use super::view::{self, NotificationsChange, ViewError};
use super::PanelState;

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    nav: Nav,
    n: view::Notifications,
    edited_at: String,
    saved: bool,
    problems: Vec<String>,
    email_lines: String,
    /// (event, what a person reads, chosen)
    events: Vec<(&'static str, &'static str, bool)>,
    report: Select,
    report_hour: Select,
}

fn event_label(event: EventKind) -> &'static str {
    match event {
        EventKind::Held => "A document is held: it is not booked until a person acts",
        EventKind::AuthFailure => "The ledger refuses ledgerlink's access (reconnect needed)",
        EventKind::BudgetExhausted => "The ledger's API budget is used up for a while",
    }
}

fn select(name: &str, label: &str, options: Vec<(String, String)>, chosen: &str) -> Select {
    Select {
        name: name.into(),
        label: label.into(),
        options: options
            .into_iter()
            .map(|(value, text)| Choice {
                selected: value == chosen,
                value,
                text,
            })
            .collect(),
    }
}

/// The page for `shown`, or with what was sent and why it was refused.
fn page(
    nav: Nav,
    n: view::Notifications,
    saved: bool,
    refused: Option<(NotificationsChange, Vec<String>)>,
) -> (StatusCode, NotificationsPage) {
    let (status, wanted, problems) = match refused {
        Some((sent, problems)) => (StatusCode::UNPROCESSABLE_ENTITY, sent, problems),
        None => (
            StatusCode::OK,
            NotificationsChange {
                email: n.email.clone(),
                events: n.events.clone(),
                report: n.report.clone(),
                report_hour: n.report_hour,
            },
            Vec::new(),
        ),
    };
    let reports = [
        ("off", "No report"),
        ("daily", "Every day"),
        ("weekly", "Every Monday"),
    ]
    .map(|(value, text)| (value.to_string(), text.to_string()))
    .to_vec();
    let hours = (0..24)
        .map(|hour| (hour.to_string(), format!("{hour:02}:00 UTC")))
        .collect();
    let page = NotificationsPage {
        edited_at: n.edited_at.map(view::minute).unwrap_or_default(),
        saved,
        problems,
        email_lines: wanted.email.join("\n"),
        events: EventKind::ALL
            .iter()
            .map(|event| {
                (
                    event.as_str(),
                    event_label(*event),
                    wanted.events.iter().any(|e| e == event.as_str()),
                )
            })
            .collect(),
        report: select("report", "How often", reports, &wanted.report),
        report_hour: select("report_hour", "At", hours, &wanted.report_hour.to_string()),
        nav,
        n,
    };
    (status, page)
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn notifications(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(connection): Path<String>,
    Query(query): Query<Saved>,
) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match view::notifications(&app.engine, session.account_id, &connection).await {
        Ok(n) => {
            let (status, page) = page(nav, n, query.saved.is_some(), None);
            render(status, &page)
        }
        Err(error) => view_error(error),
    }
}

pub async fn save(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(connection): Path<String>,
    body: Bytes,
) -> Response {
    let sent = fields(&body);
    let csrf = field(&sent, "csrf").unwrap_or_default();
    let (session, nav) = match signed_in_form(&app, &headers, csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let hour = field(&sent, "report_hour").unwrap_or("7");
    let change = NotificationsChange {
        email: field(&sent, "email")
            .unwrap_or_default()
            .lines()
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(str::to_string)
            .collect(),
        events: sent
            .iter()
            .filter(|(key, _)| key == "events")
            .map(|(_, value)| value.clone())
            .collect(),
        report: field(&sent, "report").unwrap_or("off").to_string(),
        // Not a number: out of range, so the check names it.
        report_hour: hour.parse().unwrap_or(u32::MAX),
    };
    let account = session.account_id;
    match view::change_notifications(&app.engine, account, &connection, &change, &session.email)
        .await
    {
        Ok(()) => Redirect::to(&format!(
            "/connections/{}/notifications?saved=1",
            urlencoded(&connection)
        ))
        .into_response(),
        Err(ViewError::Invalid(problems)) => {
            match view::notifications(&app.engine, account, &connection).await {
                Ok(n) => {
                    let (status, page) = page(nav, n, false, Some((change, problems)));
                    render(status, &page)
                }
                Err(error) => view_error(error),
            }
        }
        Err(error) => view_error(error),
    }
}

/// The settings file's notifications in force again.
pub async fn reset(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(connection): Path<String>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    reset_to_settings_file(
        &app,
        &headers,
        &form.csrf,
        &connection,
        Reset::Notifications,
    )
    .await
}
