//! `/__sandbox/...`: unauthenticated controls for standalone use (CLI, demo, scripts). They are
//! not part of PrestaShop, are not recorded and never see faults.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::spec::{OrderSpec, SlipSpec, StateFlags};
use super::{fixtures, PrestaSandbox, ShopError};
use crate::faults::ArmedFault;

pub(crate) fn routes() -> Router<PrestaSandbox> {
    Router::new()
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/faults", post(arm_fault))
        .route("/__sandbox/orders", post(create_order))
        .route("/__sandbox/orders/{id}/state", post(set_state))
        .route("/__sandbox/orders/{id}/slips", post(create_slip))
        .route("/__sandbox/order-states", post(add_state))
        .route("/__sandbox/demo-mix", post(demo_mix))
}

fn refused(error: &ShopError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(json!({"error": error.message}))).into_response()
}

async fn requests(State(shop): State<PrestaSandbox>) -> Response {
    Json(shop.recorder().all()).into_response()
}

async fn arm_fault(State(shop): State<PrestaSandbox>, Json(fault): Json<ArmedFault>) -> Response {
    let echo = json!(fault);
    shop.faults().arm(fault);
    (StatusCode::CREATED, Json(echo)).into_response()
}

async fn create_order(State(shop): State<PrestaSandbox>, Json(spec): Json<OrderSpec>) -> Response {
    match shop.try_create_order(&spec) {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(error) => refused(&error),
    }
}

#[derive(Deserialize)]
struct StateChange {
    state_id: u64,
}

async fn set_state(
    State(shop): State<PrestaSandbox>,
    Path(id): Path<u64>,
    Json(change): Json<StateChange>,
) -> Response {
    match shop.set_order_state(id, change.state_id) {
        Ok(history) => Json(json!({"id_order_history": history})).into_response(),
        Err(error) => refused(&error),
    }
}

async fn create_slip(
    State(shop): State<PrestaSandbox>,
    Path(id): Path<u64>,
    Json(spec): Json<SlipSpec>,
) -> Response {
    match shop.try_create_order_slip(id, &spec) {
        Ok(slip) => (StatusCode::CREATED, Json(json!({"id": slip}))).into_response(),
        Err(error) => refused(&error),
    }
}

#[derive(Deserialize)]
struct NewState {
    name: String,
    #[serde(flatten)]
    flags: StateFlags,
}

async fn add_state(State(shop): State<PrestaSandbox>, Json(state): Json<NewState>) -> Response {
    let id = shop.add_order_state(&state.name, state.flags);
    (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
}

async fn demo_mix(State(shop): State<PrestaSandbox>) -> Response {
    (StatusCode::CREATED, Json(fixtures::demo_mix(&shop))).into_response()
}
