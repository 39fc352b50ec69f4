//! Fault injection shared by every emulator.
//!
//! A test arms faults for the next matching requests; the emulator consults the plan at the
//! right moment (before or after applying a write) and records every fault it injected.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 500 before anything is applied.
    ServerError,
    /// 503 after the write was applied (the caller cannot tell it landed).
    ServerErrorAfterApply,
    /// 429 with the emulator's rate-limit headers, nothing applied.
    TooManyRequests,
    /// Answer only after this many milliseconds (past a client's timeout); the write is applied.
    Slow { millis: u64 },
    /// The write lands, then the response body breaks off mid-stream: the caller sees an error
    /// and cannot know whether its request was applied.
    LoseResponse,
}

impl Fault {
    /// True when the request must still be applied before the fault shows.
    pub fn applies_write(&self) -> bool {
        matches!(
            self,
            Fault::ServerErrorAfterApply | Fault::Slow { .. } | Fault::LoseResponse
        )
    }
}

/// Which requests an armed fault hits: a method (or any) and a path fragment (or any).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FaultMatch {
    pub method: Option<String>,
    pub path_contains: Option<String>,
}

impl FaultMatch {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArmedFault {
    #[serde(rename = "match", default)]
    pub on: FaultMatch,
    pub fault: Fault,
    /// How many matching requests it hits.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Default)]
pub struct FaultPlan {
    armed: Mutex<VecDeque<ArmedFault>>,
    injected: Mutex<Vec<(String, String, Fault)>>,
}

impl FaultPlan {
    pub fn arm(&self, fault: ArmedFault) {
        self.armed.lock().unwrap().push_back(fault);
    }

    /// Takes the first armed fault that matches this request, if any.
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut armed = self.armed.lock().unwrap();
        let index = armed.iter().position(|a| a.on.matches(method, path))?;
        let entry = &mut armed[index];
        let fault = entry.fault.clone();
        entry.times -= 1;
        if entry.times == 0 {
            armed.remove(index);
        }
        drop(armed);
        self.injected
            .lock()
            .unwrap()
            .push((method.to_string(), path.to_string(), fault.clone()));
        Some(fault)
    }

    pub fn injected(&self) -> Vec<(String, String, Fault)> {
        self.injected.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.armed.lock().unwrap().clear();
    }
}

/// A response whose body breaks off after a few bytes: the status and headers arrive, the body
/// never completes, so the caller cannot read the result of its (applied) write.
pub fn broken_response(status: StatusCode) -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"d\":{")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox: response lost on purpose",
        )),
    ];
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_stream(chunks)))
        .expect("static response parts are valid")
}

fn futures_stream(
    chunks: Vec<Result<Bytes, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    tokio_stream::iter(chunks)
}

pub async fn delay(millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
}
