//! The rules page of a connection: when to book, ledger accounts, VAT codes and modules, chosen
//! from the shop's own statuses and the ledger's own lists; the whole table as TOML for the
//! rest; "change the rules and retry" for a held document.

use std::collections::BTreeSet;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ledgerlink_engine::rules_edit::{RuleChoices, ShopStatus};
use ledgerlink_rules::settings::PostingMode;
use ledgerlink_rules::BookingSettings;
use ledgerlink_targets::LedgerCode;
use serde::Deserialize;

use super::pages::{render, signed_in, signed_in_form, view_error, CsrfOnly, Nav};
use super::view::{self, ViewError};
use super::PanelState;

pub struct StatusRow {
    trigger: String,
    name: String,
    book: bool,
    skip: bool,
}

pub struct Select {
    pub(super) name: String,
    pub(super) label: String,
    pub(super) options: Vec<Choice>,
}

pub struct Choice {
    pub(super) value: String,
    pub(super) text: String,
    pub(super) selected: bool,
}

pub struct Module {
    name: &'static str,
    label: &'static str,
    on: bool,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    nav: Nav,
    connection: String,
    saved: bool,
    /// Who changed the rules here, and when.
    edited: Option<(String, String)>,
    in_settings_file: bool,
    problems: Vec<String>,
    choices_problem: Option<String>,
    retry: Option<i64>,
    statuses: Vec<StatusRow>,
    other_triggers: String,
    other_skips: String,
    accounts: Vec<Select>,
    vat_codes: Vec<Select>,
    new_vat_code: Select,
    modules: Vec<Module>,
    posting: Select,
    toml: String,
    /// The revision the page's rules are, sent back with a change.
    revision: i64,
}

/// The booleans of the modules the form switches; the rest of a module's settings are in the
/// TOML.
const MODULES: [(&str, &str); 3] = [
    (
        "vies_check",
        "Check business customers' VAT numbers with VIES before reverse charge",
    ),
    (
        "oss_registered",
        "Registered for the EU One-Stop Shop (OSS): EU consumers pay their own country's VAT",
    ),
    ("credit_notes", "Book the shop's refunds as credit notes"),
];

fn module_on(settings: &BookingSettings, name: &str) -> bool {
    match name {
        "vies_check" => settings.vies_check,
        "oss_registered" => settings.oss_registered,
        "credit_notes" => settings.credit_notes,
        _ => false,
    }
}

fn set_module(settings: &mut BookingSettings, name: &str, on: bool) {
    match name {
        "vies_check" => settings.vies_check = on,
        "oss_registered" => settings.oss_registered = on,
        "credit_notes" => settings.credit_notes = on,
        _ => {}
    }
}

/// A choice of the ledger's codes, the current one selected; a current code the ledger's
/// list lacks stays offered, marked, so that the page never changes it silently.
fn code_select(
    name: String,
    label: String,
    codes: &[LedgerCode],
    current: Option<&str>,
    optional: bool,
) -> Select {
    let mut options = Vec::new();
    if optional {
        options.push(Choice {
            value: String::new(),
            text: "— none —".into(),
            selected: current.is_none(),
        });
    }
    if let Some(code) = current.filter(|code| !codes.iter().any(|c| c.code == *code)) {
        options.push(Choice {
            value: code.to_string(),
            text: format!("{code} — not in the ledger's list"),
            selected: true,
        });
    }
    options.extend(codes.iter().map(|c| Choice {
        value: c.code.clone(),
        text: format!("{} — {}", c.code, c.description),
        selected: current == Some(c.code.as_str()),
    }));
    Select {
        name,
        label,
        options,
    }
}

/// The accounts the form offers, as (form field, label, current code, optional).
fn account_fields(settings: &BookingSettings) -> Vec<(String, String, Option<String>, bool)> {
    let accounts = &settings.accounts;
    let mut fields: Vec<(String, String, Option<String>, bool)> = accounts
        .revenue
        .iter()
        .map(|(key, code)| {
            (
                format!("account.revenue.{key}"),
                format!("Revenue: {}", key.replace('_', " ")),
                Some(code.clone()),
                false,
            )
        })
        .collect();
    fields.extend([
        (
            "account.shipping".into(),
            "Shipping".into(),
            Some(accounts.shipping.clone()),
            false,
        ),
        (
            "account.discounts".into(),
            "Discounts (none: on the revenue account)".into(),
            accounts.discounts.clone(),
            true,
        ),
        (
            "account.gift_cards".into(),
            "Gift cards (none: not sold)".into(),
            accounts.gift_cards.clone(),
            true,
        ),
        (
            "account.fees".into(),
            "Fees".into(),
            Some(accounts.fees.clone()),
            false,
        ),
        (
            "account.rounding".into(),
            "Rounding differences".into(),
            Some(accounts.rounding.clone()),
            false,
        ),
    ]);
    fields
}

struct PageInput {
    nav: Nav,
    connection: String,
    rules: view::Rules,
    settings: BookingSettings,
    choices: Result<RuleChoices, String>,
    problems: Vec<String>,
    retry: Option<i64>,
    saved: bool,
    /// The TOML as sent, when it was refused.
    toml: Option<String>,
    revision: i64,
}

fn page(input: PageInput) -> RulesPage {
    let PageInput {
        nav,
        connection,
        rules,
        settings,
        choices,
        problems,
        retry,
        saved,
        toml,
        revision,
    } = input;
    let (statuses, codes, choices_problem) = match choices {
        Ok(choices) => (choices.statuses, choices.codes, None),
        Err(why) => (Vec::new(), Default::default(), Some(why)),
    };
    let listed: BTreeSet<&str> = statuses.iter().map(|s| s.trigger.as_str()).collect();
    let others = |chosen: &[String]| {
        chosen
            .iter()
            .filter(|t| !listed.contains(t.as_str()))
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let status_rows = statuses
        .iter()
        .map(|ShopStatus { trigger, name }| StatusRow {
            trigger: trigger.clone(),
            name: name.clone(),
            book: settings.triggers.contains(trigger),
            skip: settings.skip_statuses.contains(trigger),
        })
        .collect();
    let mut accounts = vec![code_select(
        "journal".into(),
        "Sales journal".into(),
        &codes.journals,
        Some(&settings.journal),
        false,
    )];
    accounts.extend(account_fields(&settings).into_iter().map(
        |(name, label, current, optional)| {
            code_select(name, label, &codes.accounts, current.as_deref(), optional)
        },
    ));
    let vat_codes = settings
        .vat_codes
        .iter()
        .map(|(key, code)| {
            code_select(
                format!("vat.{key}"),
                key.clone(),
                &codes.vat_codes,
                Some(code),
                true,
            )
        })
        .collect();
    let posting_mode = settings.posting.mode;
    RulesPage {
        nav,
        connection,
        saved,
        in_settings_file: rules.in_settings_file,
        edited: rules
            .edited_by
            .zip(rules.edited_at)
            .map(|(by, at)| (by, view::minute(at))),
        problems,
        choices_problem,
        retry,
        statuses: status_rows,
        other_triggers: others(&settings.triggers),
        other_skips: others(&settings.skip_statuses),
        accounts,
        vat_codes,
        new_vat_code: code_select(
            "new_vat_code".into(),
            "its VAT code".into(),
            &codes.vat_codes,
            None,
            true,
        ),
        modules: MODULES
            .iter()
            .map(|&(name, label)| Module {
                name,
                label,
                on: module_on(&settings, name),
            })
            .collect(),
        posting: Select {
            name: "posting".into(),
            label: "Entries".into(),
            options: [
                (
                    PostingMode::PerDocument,
                    "per_document",
                    "One entry per order and refund",
                ),
                (
                    PostingMode::DailySummary,
                    "daily_summary",
                    "Consumer sales on a collective debtor summarised per day",
                ),
            ]
            .into_iter()
            .map(|(mode, value, text)| Choice {
                value: value.into(),
                text: text.into(),
                selected: mode == posting_mode,
            })
            .collect(),
        },
        revision,
        toml: toml.unwrap_or_else(|| {
            toml::to_string_pretty(&settings).unwrap_or_else(|e| {
                tracing::error!(error = %e, "booking settings could not be written as TOML");
                String::new()
            })
        }),
    }
}

/// Everything the page shows for the connection, with the rules as they are (or as sent).
async fn show(
    app: &PanelState,
    nav: Nav,
    account: i64,
    connection: String,
    outcome: Shown,
) -> Response {
    let rules = match view::rules(&app.engine, account, &connection).await {
        Ok(rules) => rules,
        Err(error) => return view_error(error),
    };
    let current: BookingSettings = match serde_json::from_value(rules.settings.clone()) {
        Ok(current) => current,
        Err(error) => return view_error(ViewError::Internal(error.to_string())),
    };
    let (status, settings, problems, toml, revision) = match outcome.refused {
        Some(refused) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            refused.settings.unwrap_or(current),
            refused.problems,
            refused.toml,
            refused.based_on.unwrap_or(rules.revision),
        ),
        None => (StatusCode::OK, current, Vec::new(), None, rules.revision),
    };
    let choices = app.engine.rule_choices(&connection).await;
    render(
        status,
        &page(PageInput {
            nav,
            connection,
            rules,
            settings,
            choices,
            problems,
            retry: outcome.retry,
            saved: outcome.saved,
            toml,
            revision,
        }),
    )
}

#[derive(Default)]
struct Shown {
    saved: bool,
    retry: Option<i64>,
    refused: Option<Refused>,
}

/// A change that was not taken: what was sent, and why.
struct Refused {
    /// The rules as the form sent them, when they could be read.
    settings: Option<BookingSettings>,
    problems: Vec<String>,
    toml: Option<String>,
    /// The revision the change was made on: sent again with the corrected change.
    based_on: Option<i64>,
}

#[derive(Deserialize)]
pub struct RulesQuery {
    saved: Option<String>,
    retry: Option<i64>,
}

pub async fn rules(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(connection): Path<String>,
    Query(query): Query<RulesQuery>,
) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let shown = Shown {
        saved: query.saved.is_some(),
        retry: query.retry,
        refused: None,
    };
    show(&app, nav, session.account_id, connection, shown).await
}

/// A form's fields in order, repeated names kept (the status checkboxes).
pub(super) fn fields(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub(super) fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn listed(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
}

/// The rules in force, changed as the form says, and what the form got wrong (if anything).
fn from_form(
    mut settings: BookingSettings,
    fields: &[(String, String)],
) -> (BookingSettings, Vec<String>) {
    let mut problems = Vec::new();
    let chosen = |name: &str, other: &str| -> Vec<String> {
        let mut chosen: Vec<String> = fields
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect();
        for item in listed(field(fields, other).unwrap_or_default()) {
            if !chosen.contains(&item) {
                chosen.push(item);
            }
        }
        chosen
    };
    settings.triggers = chosen("trigger", "other_triggers");
    settings.skip_statuses = chosen("skip", "other_skips");
    for (key, value) in fields {
        let value = value.trim();
        if key == "journal" {
            settings.journal = value.to_string();
        } else if let Some(revenue) = key.strip_prefix("account.revenue.") {
            settings
                .accounts
                .revenue
                .insert(revenue.to_string(), value.to_string());
        } else if let Some(account) = key.strip_prefix("account.") {
            let optional = (!value.is_empty()).then(|| value.to_string());
            match account {
                "shipping" => settings.accounts.shipping = value.to_string(),
                "fees" => settings.accounts.fees = value.to_string(),
                "rounding" => settings.accounts.rounding = value.to_string(),
                "discounts" => settings.accounts.discounts = optional,
                "gift_cards" => settings.accounts.gift_cards = optional,
                _ => problems.push(format!("`accounts.{account}` is not an account setting")),
            }
        } else if let Some(treatment) = key.strip_prefix("vat.") {
            if value.is_empty() {
                settings.vat_codes.remove(treatment);
            } else {
                settings
                    .vat_codes
                    .insert(treatment.to_string(), value.to_string());
            }
        }
    }
    let new_key = field(fields, "new_vat_key").unwrap_or_default().trim();
    let new_code = field(fields, "new_vat_code").unwrap_or_default().trim();
    match (new_key.is_empty(), new_code.is_empty()) {
        (false, false) => {
            settings
                .vat_codes
                .insert(new_key.to_string(), new_code.to_string());
        }
        (false, true) => problems.push(format!(
            "`vat_codes`: choose the VAT code for the treatment `{new_key}` you added"
        )),
        (true, false) => problems.push(
            "`vat_codes`: a VAT code was chosen for no treatment; name the treatment (e.g. `oss/AT/20`)".into(),
        ),
        (true, true) => {}
    }
    for (name, _) in MODULES {
        set_module(&mut settings, name, field(fields, name).is_some());
    }
    match field(fields, "posting") {
        Some("per_document") | None => settings.posting.mode = PostingMode::PerDocument,
        Some("daily_summary") => settings.posting.mode = PostingMode::DailySummary,
        Some(other) => problems.push(format!(
            "`posting.mode`: `{other}` is not per_document or daily_summary"
        )),
    }
    (settings, problems)
}

/// Saves the rules the form sent (or shows why not), then retries the held document the
/// person came from.
pub async fn save(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(connection): Path<String>,
    body: Bytes,
) -> Response {
    let sent = fields(&body);
    let (session, nav) =
        match signed_in_form(&app, &headers, field(&sent, "csrf").unwrap_or_default()).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    let retry = field(&sent, "retry").and_then(|id| id.parse().ok());
    let read_at = field(&sent, "revision").and_then(|r| r.parse().ok());
    let current = match view::rules(&app.engine, session.account_id, &connection).await {
        Ok(rules) => serde_json::from_value::<BookingSettings>(rules.settings),
        Err(error) => return view_error(error),
    };
    let current = match current {
        Ok(current) => current,
        Err(error) => return view_error(ViewError::Internal(error.to_string())),
    };
    let (changed, problems) = from_form(current, &sent);
    if !problems.is_empty() {
        let refused = Refused {
            settings: Some(changed),
            problems,
            toml: None,
            based_on: read_at,
        };
        return refuse(&app, nav, session.account_id, connection, retry, refused).await;
    }
    let change = Change {
        settings: changed,
        retry,
        toml: None,
        read_at,
    };
    put_in_force(&app, nav, &session, connection, change).await
}

#[derive(Deserialize)]
pub struct TomlForm {
    csrf: String,
    toml: String,
    retry: Option<i64>,
    revision: Option<i64>,
}

/// Saves the whole table as TOML.
pub async fn save_toml(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(connection): Path<String>,
    axum::Form(form): axum::Form<TomlForm>,
) -> Response {
    let (session, nav) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // PrestaShop's defaults are the file's reading of a table that leaves keys out; here the
    // page shows every key, so what is left out takes the plain defaults.
    match toml::from_str::<BookingSettings>(&form.toml) {
        Ok(settings) => {
            let change = Change {
                settings,
                retry: form.retry,
                toml: Some(form.toml),
                read_at: form.revision,
            };
            put_in_force(&app, nav, &session, connection, change).await
        }
        Err(error) => {
            let refused = Refused {
                settings: None,
                problems: vec![format!(
                    "The TOML is not valid booking rules: {}",
                    error.message()
                )],
                toml: Some(form.toml),
                based_on: form.revision,
            };
            refuse(
                &app,
                nav,
                session.account_id,
                connection,
                form.retry,
                refused,
            )
            .await
        }
    }
}

async fn refuse(
    app: &PanelState,
    nav: Nav,
    account: i64,
    connection: String,
    retry: Option<i64>,
    refused: Refused,
) -> Response {
    let shown = Shown {
        saved: false,
        retry,
        refused: Some(refused),
    };
    show(app, nav, account, connection, shown).await
}

/// A change of the rules as a person sent it.
struct Change {
    settings: BookingSettings,
    /// The held document to retry once the change is in force.
    retry: Option<i64>,
    /// The TOML it was written as, to show again if refused.
    toml: Option<String>,
    /// The revision of the rules the page showed.
    read_at: Option<i64>,
}

async fn put_in_force(
    app: &PanelState,
    nav: Nav,
    session: &ledgerlink_store::Session,
    connection: String,
    change: Change,
) -> Response {
    let account = session.account_id;
    let Change {
        settings,
        retry,
        toml,
        read_at,
    } = change;
    match view::change_rules(
        &app.engine,
        account,
        &connection,
        settings.clone(),
        &session.email,
        read_at,
    )
    .await
    {
        Ok(()) => {}
        Err(ViewError::Invalid(problems)) => {
            let refused = Refused {
                settings: Some(settings),
                problems,
                toml,
                based_on: read_at,
            };
            return refuse(app, nav, account, connection, retry, refused).await;
        }
        // Changed meanwhile: the page shows the rules in force now, and says so.
        Err(ViewError::Refused(said)) => {
            let refused = Refused {
                settings: None,
                problems: vec![said],
                toml: None,
                based_on: None,
            };
            return refuse(app, nav, account, connection, retry, refused).await;
        }
        Err(error) => return view_error(error),
    }
    let rules_page = format!("/connections/{}/rules?saved=1", urlencoded(&connection));
    let Some(document) = retry else {
        return Redirect::to(&rules_page).into_response();
    };
    match view::retry(&**app.engine.store(), account, document).await {
        Ok(()) => Redirect::to(&format!("/documents/{document}?done=retry")).into_response(),
        // Saved all the same; the document may have been retried or skipped meanwhile.
        Err(ViewError::Refused(_)) => Redirect::to(&rules_page).into_response(),
        Err(error) => view_error(error),
    }
}

pub(super) fn urlencoded(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|pair| pair.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

/// What of a connection a reset gives back to the settings file.
pub(super) enum Reset {
    Rules,
    Notifications,
}

/// Puts the settings file's rules or notifications back in force, then shows their page.
pub(super) async fn reset_to_settings_file(
    app: &PanelState,
    headers: &HeaderMap,
    csrf: &str,
    connection: &str,
    what: Reset,
) -> Response {
    let (session, _) = match signed_in_form(app, headers, csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let account = session.account_id;
    let (done, page) = match what {
        Reset::Rules => (
            view::reset_rules(&app.engine, account, connection).await,
            "rules",
        ),
        Reset::Notifications => (
            view::reset_notifications(&app.engine, account, connection).await,
            "notifications",
        ),
    };
    match done {
        Ok(()) => Redirect::to(&format!(
            "/connections/{}/{page}?saved=1",
            urlencoded(connection)
        ))
        .into_response(),
        Err(error) => view_error(error),
    }
}

/// The settings file's rules in force again.
pub async fn reset(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(connection): Path<String>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    reset_to_settings_file(&app, &headers, &form.csrf, &connection, Reset::Rules).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> BookingSettings {
        toml::from_str(include_str!("../../../cli/src/demo-settings.toml")).unwrap()
    }

    #[test]
    fn the_rules_survive_being_written_as_toml_and_read_again() {
        let mut settings = demo();
        settings.extra_fields = toml::from_str(
            "payment_reference = { field = \"transaction_id\" }\nnotes = { value = \"shop\" }",
        )
        .unwrap();
        assert_eq!(settings.extra_fields.len(), 2);
        let text = toml::to_string_pretty(&settings).unwrap();
        let again: BookingSettings = toml::from_str(&text).unwrap();
        assert_eq!(again, settings, "{text}");
    }

    #[test]
    fn the_form_changes_what_it_shows_and_keeps_the_rest() {
        let form = [
            ("trigger", "completed"),
            ("trigger", "processing"),
            ("other_triggers", "in-production, ready"),
            ("skip", "cancelled"),
            ("journal", "71"),
            ("account.revenue.default", "8010"),
            ("account.discounts", ""),
            ("vat.domestic/9", ""),
            ("new_vat_key", "oss/AT/20"),
            ("new_vat_code", "OAT"),
            ("credit_notes", "on"),
            ("posting", "daily_summary"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let before = demo();
        let (after, problems) = from_form(before.clone(), &form);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            after.triggers,
            ["completed", "processing", "in-production", "ready"]
        );
        assert_eq!(after.skip_statuses, ["cancelled"]);
        assert_eq!(after.journal, "71");
        assert_eq!(after.accounts.revenue["default"], "8010");
        assert_eq!(after.accounts.revenue["export"], "8030", "untouched");
        assert_eq!(after.accounts.discounts, None);
        assert!(!after.vat_codes.contains_key("domestic/9"));
        assert_eq!(after.vat_codes["oss/AT/20"], "OAT");
        assert_eq!(after.vat_codes["domestic/21"], "1", "untouched");
        assert!(after.credit_notes);
        assert!(!after.vies_check, "a module left unticked is off");
        assert_eq!(after.posting.mode, PostingMode::DailySummary);
        assert_eq!(
            after.customers, before.customers,
            "what the form does not show"
        );

        let half = [("new_vat_key", "oss/AT/20"), ("posting", "weekly")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let (_, problems) = from_form(before, &half);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("choose the VAT code for the treatment `oss/AT/20`"));
        assert!(problems[1].contains("`weekly` is not per_document"));
    }
}
