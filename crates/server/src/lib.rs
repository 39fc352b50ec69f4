//! The HTTP service of `ledgerlink serve`: webhook intake (and, later, the JSON API and the
//! control panel).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use ledgerlink_engine::Engine;
use serde_json::json;
use tokio::net::TcpListener;

/// Webhook bodies larger than this are refused with 413 before they are read whole.
pub const MAX_WEBHOOK_BYTES: usize = 2 * 1024 * 1024;

pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/webhooks/woocommerce/{connection_id}",
            post(woocommerce_webhook),
        )
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
        .with_state(engine)
}

async fn woocommerce_webhook(
    State(engine): State<Arc<Engine>>,
    Path(connection_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<serde_json::Value>) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let reply = engine
        .webhook(
            &connection_id,
            header("x-wc-webhook-signature"),
            header("x-wc-webhook-topic"),
            header("x-wc-webhook-delivery-id"),
            &body,
        )
        .await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(json!({ "message": reply.message })))
}

/// Serves the router on `addr` until the process ends.
pub async fn serve(
    engine: Arc<Engine>,
    addr: &str,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let app = router(engine);
    let handle = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the HTTP server stopped");
        }
    });
    Ok((local, handle))
}
