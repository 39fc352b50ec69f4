//! `/__sandbox/...`: unauthenticated controls for standalone use (CLI, demo, scripts). They are
//! not part of WooCommerce, are not recorded and never see faults.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::spec::{OrderSpec, RefundSpec};
use super::{fixtures, DeliveryRecord, WooSandbox};
use crate::faults::ArmedFault;

pub(crate) fn routes() -> Router<WooSandbox> {
    Router::new()
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/faults", post(arm_fault))
        .route("/__sandbox/orders", post(create_order))
        .route("/__sandbox/orders/{id}/status", post(set_status))
        .route("/__sandbox/orders/{id}/refunds", post(refund))
        .route("/__sandbox/demo-mix", post(demo_mix))
        .route("/__sandbox/deliveries", get(deliveries))
        .route("/__sandbox/webhooks/deliver", post(deliver))
}

async fn requests(State(shop): State<WooSandbox>) -> Response {
    Json(shop.recorder().all()).into_response()
}

async fn arm_fault(State(shop): State<WooSandbox>, Json(fault): Json<ArmedFault>) -> Response {
    let echo = json!(fault);
    shop.faults().arm(fault);
    (StatusCode::CREATED, Json(echo)).into_response()
}

async fn create_order(State(shop): State<WooSandbox>, Json(spec): Json<OrderSpec>) -> Response {
    (StatusCode::CREATED, Json(shop.create_order(spec))).into_response()
}

#[derive(Deserialize)]
struct StatusChange {
    status: String,
}

/// Error objects from the shop carry their HTTP status in `data.status`.
fn answer(value: Value, success: StatusCode) -> Response {
    let status = match value.get("code") {
        Some(_) => value
            .pointer("/data/status")
            .and_then(Value::as_u64)
            .and_then(|s| StatusCode::from_u16(s as u16).ok())
            .unwrap_or(StatusCode::BAD_REQUEST),
        None => success,
    };
    (status, Json(value)).into_response()
}

async fn set_status(
    State(shop): State<WooSandbox>,
    Path(id): Path<u64>,
    Json(change): Json<StatusChange>,
) -> Response {
    answer(shop.set_status(id, &change.status), StatusCode::OK)
}

async fn refund(
    State(shop): State<WooSandbox>,
    Path(id): Path<u64>,
    Json(spec): Json<RefundSpec>,
) -> Response {
    answer(shop.refund(id, spec), StatusCode::CREATED)
}

async fn demo_mix(State(shop): State<WooSandbox>) -> Response {
    (StatusCode::CREATED, Json(fixtures::demo_mix(&shop))).into_response()
}

fn delivery_json(d: &DeliveryRecord) -> Value {
    json!({
        "delivery_id": d.delivery_id,
        "webhook_id": d.webhook_id,
        "topic": d.topic,
        "url": d.url,
        "status": d.status,
        "signature": d.signature,
        "body": String::from_utf8_lossy(&d.body),
    })
}

async fn deliveries(State(shop): State<WooSandbox>) -> Response {
    let all: Vec<Value> = shop.deliveries().iter().map(delivery_json).collect();
    Json(all).into_response()
}

async fn deliver(State(shop): State<WooSandbox>) -> Response {
    let sent: Vec<Value> = shop
        .deliver_pending_webhooks()
        .await
        .iter()
        .map(delivery_json)
        .collect();
    Json(sent).into_response()
}
