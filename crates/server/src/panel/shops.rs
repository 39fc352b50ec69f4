//! Adding a shop in the panel, and making it live.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use ledgerlink_engine::added_shops::NewShop;
use serde::Deserialize;

use super::pages::{
    connections_page, message, owned_connection, signed_in_form, AddShopForm, CsrfOnly,
};
use super::view::{self, ViewError};
use super::PanelState;

#[derive(Deserialize)]
pub struct AddShop {
    csrf: String,
    name: String,
    kind: String,
    url: String,
    #[serde(default)]
    consumer_key: String,
    #[serde(default)]
    consumer_secret: String,
    #[serde(default)]
    api_key: String,
}

/// The shop as entered; `Err` names what is missing.
pub(super) fn new_shop(
    kind: &str,
    url: &str,
    consumer_key: &str,
    consumer_secret: &str,
    api_key: &str,
) -> Result<NewShop, Vec<String>> {
    let given = |name: &str, value: &str| {
        (!value.trim().is_empty())
            .then(|| value.trim().to_string().into())
            .ok_or_else(|| format!("`{name}`: missing"))
    };
    match kind {
        "woocommerce" => match (
            given("consumer_key", consumer_key),
            given("consumer_secret", consumer_secret),
        ) {
            (Ok(consumer_key), Ok(consumer_secret)) => Ok(NewShop::Woocommerce {
                url: url.to_string(),
                consumer_key,
                consumer_secret,
            }),
            (key, secret) => Err([key.err(), secret.err()].into_iter().flatten().collect()),
        },
        "prestashop" => given("api_key", api_key)
            .map(|api_key| NewShop::Prestashop {
                url: url.to_string(),
                api_key,
            })
            .map_err(|problem| vec![problem]),
        other => Err(vec![format!(
            "`kind`: `{other}` is not a shop ledgerlink reads; choose woocommerce or prestashop"
        )]),
    }
}

pub async fn add(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Form(form): Form<AddShop>,
) -> Response {
    let (session, nav) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let shown = |problems| AddShopForm {
        name: form.name.clone(),
        kind: form.kind.clone(),
        url: form.url.clone(),
        problems,
    };
    let shop = match new_shop(
        &form.kind,
        &form.url,
        &form.consumer_key,
        &form.consumer_secret,
        &form.api_key,
    ) {
        Ok(shop) => shop,
        Err(problems) => {
            return connections_page(&app, session.account_id, nav, shown(problems)).await
        }
    };
    match view::add_shop(
        &app.engine,
        session.account_id,
        &session.email,
        &form.name,
        shop,
    )
    .await
    {
        Ok(id) => Redirect::to(&format!("/connections#{id}")).into_response(),
        Err(ViewError::Invalid(problems)) => {
            connections_page(&app, session.account_id, nav, shown(problems)).await
        }
        Err(error) => super::pages::view_error(error),
    }
}

/// "Go live": the shop books from now on.
pub async fn go_live(
    State(app): State<PanelState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (session, _) = match signed_in_form(&app, &headers, &form.csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = owned_connection(&app, session.account_id, &id).await {
        return response;
    }
    match view::go_live(&app.engine, session.account_id, &id).await {
        Ok(()) => Redirect::to(&format!("/connections#{id}")).into_response(),
        Err(ViewError::Invalid(problems)) => message(
            axum::http::StatusCode::CONFLICT,
            "Not live yet",
            &problems.join(" "),
        ),
        Err(error) => super::pages::view_error(error),
    }
}
