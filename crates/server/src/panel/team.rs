//! A merchant account's team: its users, and inviting another by a link that works once.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use chrono::Utc;
use serde::Deserialize;

use super::auth::{self, MIN_PASSWORD_CHARS};
use super::pages::{
    csrf_refused, enter, form_token, form_token_matches, message, render, signed_in,
    signed_in_form, view_error, with_cookie, Nav,
};
use super::view::{self, minute, ViewError};
use super::PanelState;

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    nav: Nav,
    users: Vec<(String, String)>,
    invited: Option<String>,
    invited_email: String,
    problem: Option<String>,
}

async fn team_page(
    app: &PanelState,
    account: i64,
    nav: Nav,
    status: StatusCode,
    invited: Option<(String, String)>,
    problem: Option<String>,
) -> Response {
    let users = match view::users(&*app.store, account).await {
        Ok(users) => users,
        Err(error) => return view_error(error),
    };
    let (invited, invited_email) = match invited {
        Some((link, email)) => (Some(link), email),
        None => (None, String::new()),
    };
    let page = TeamPage {
        nav,
        users: users
            .into_iter()
            .map(|user| (user.email, minute(user.since)))
            .collect(),
        invited,
        invited_email,
        problem,
    };
    render(status, &page)
}

pub async fn team(State(app): State<PanelState>, headers: HeaderMap) -> Response {
    let (session, nav) = match signed_in(&app, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    team_page(&app, session.account_id, nav, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub struct Invite {
    csrf: String,
    email: String,
}

pub async fn invite(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Form(form): Form<Invite>,
) -> Response {
    let (session, nav) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let account = session.account_id;
    match view::invite(&*app.store, account, &session.email, &form.email).await {
        Ok(invited) => {
            let shown = Some((invited.link, invited.email));
            team_page(&app, account, nav, StatusCode::CREATED, shown, None).await
        }
        Err(ViewError::Invalid(problems)) => {
            let problem = Some(problems.join(" "));
            team_page(
                &app,
                account,
                nav,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                problem,
            )
            .await
        }
        Err(ViewError::Refused(problem)) => {
            team_page(
                &app,
                account,
                nav,
                StatusCode::CONFLICT,
                None,
                Some(problem),
            )
            .await
        }
        Err(error) => view_error(error),
    }
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    token: String,
    csrf: String,
    account: String,
    email: String,
    invited_by: String,
    problem: Option<String>,
    min_password: usize,
}

fn invitation_gone() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "This invitation does not work",
        "It was used already, or it is more than seven days old, or it never was. Ask whoever \
         invited you for a new link.",
    )
}

async fn join_page(
    app: &PanelState,
    token: String,
    status: StatusCode,
    problem: Option<String>,
) -> Response {
    let invitation = match app
        .store
        .invitation(&auth::token_hash(&token), Utc::now())
        .await
    {
        Ok(Some(invitation)) => invitation,
        Ok(None) => return invitation_gone(),
        Err(error) => return view_error(error.into()),
    };
    let (csrf, cookie) = form_token();
    let page = JoinPage {
        token,
        csrf,
        account: invitation.account_name,
        email: invitation.email,
        invited_by: invitation.invited_by,
        problem,
        min_password: MIN_PASSWORD_CHARS,
    };
    with_cookie(cookie, render(status, &page))
}

pub async fn join_form(State(app): State<PanelState>, Path(token): Path<String>) -> Response {
    join_page(&app, token, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct Join {
    csrf: String,
    password: String,
}

pub async fn join(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<Join>,
) -> Response {
    if !form_token_matches(&headers, &form.csrf) {
        return csrf_refused();
    }
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        let problem = format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters.");
        return join_page(&app, token, StatusCode::UNPROCESSABLE_ENTITY, Some(problem)).await;
    }
    let hash = match auth::hash_password(&form.password) {
        Ok(hash) => hash,
        Err(cause) => return view_error(ViewError::Internal(cause)),
    };
    let user = match app
        .store
        .accept_invitation(&auth::token_hash(&token), &hash, Utc::now())
        .await
    {
        Ok(Some(user)) => user,
        Ok(None) => return invitation_gone(),
        Err(error) => return view_error(error.into()),
    };
    match auth::start_session(&*app.store, user.id).await {
        Ok(session) => enter(&session),
        Err(error) => view_error(error.into()),
    }
}
