//! `/__sandbox/...`: controls for standalone use (CLI, demo, scripts). They are not part of VIES,
//! are not recorded and never see faults.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::ViesSandbox;
use crate::faults::ArmedFault;

pub(crate) fn routes() -> Router<ViesSandbox> {
    Router::new()
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/faults", post(arm_fault))
        .route("/__sandbox/registry", post(register))
        .route(
            "/__sandbox/member-states/{country_code}",
            post(member_state),
        )
        .route("/__sandbox/availability", post(availability))
        .route("/__sandbox/consultations", get(consultations))
}

async fn requests(State(sandbox): State<ViesSandbox>) -> Response {
    Json(sandbox.recorder().all()).into_response()
}

async fn arm_fault(State(sandbox): State<ViesSandbox>, Json(fault): Json<ArmedFault>) -> Response {
    let echo = json!(fault);
    sandbox.faults().arm(fault);
    (StatusCode::CREATED, Json(echo)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Registration {
    country_code: String,
    vat_number: String,
    name: Option<String>,
    address: Option<String>,
}

async fn register(
    State(sandbox): State<ViesSandbox>,
    Json(registration): Json<Registration>,
) -> Response {
    if !sandbox.is_member_state(&registration.country_code) {
        let message = format!(
            "`{}` is not a VIES member-state code (Greece is EL, Northern Ireland XI)",
            registration.country_code
        );
        return (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response();
    }
    sandbox.register(
        &registration.country_code,
        &registration.vat_number,
        registration.name.as_deref(),
        registration.address.as_deref(),
    );
    StatusCode::CREATED.into_response()
}

#[derive(Deserialize)]
struct Availability {
    available: bool,
}

async fn member_state(
    State(sandbox): State<ViesSandbox>,
    Path(country_code): Path<String>,
    Json(change): Json<Availability>,
) -> Response {
    sandbox.set_member_state_available(&country_code, change.available);
    StatusCode::NO_CONTENT.into_response()
}

async fn availability(
    State(sandbox): State<ViesSandbox>,
    Json(change): Json<Availability>,
) -> Response {
    sandbox.set_service_available(change.available);
    StatusCode::NO_CONTENT.into_response()
}

async fn consultations(State(sandbox): State<ViesSandbox>) -> Response {
    Json(sandbox.consultations()).into_response()
}
