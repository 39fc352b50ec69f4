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

/// Faults at random: each matching request is hit with probability `rate`, by one of
/// `faults`, drawn from a generator seeded with `seed` — the same seed and the same order of
/// requests give the same faults, and `injected` logs each one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RandomFaults {
    #[serde(rename = "match", default)]
    pub on: FaultMatch,
    pub rate: f64,
    pub faults: Vec<Fault>,
    pub seed: u64,
}

#[derive(Default)]
pub struct FaultPlan {
    armed: Mutex<VecDeque<ArmedFault>>,
    random: Mutex<Option<(RandomFaults, rand::rngs::StdRng)>>,
    injected: Mutex<Vec<(String, String, Fault)>>,
}

impl FaultPlan {
    pub fn arm(&self, fault: ArmedFault) {
        self.armed.lock().unwrap().push_back(fault);
    }

    /// Hits matching requests at random from now on; `None` stops it.
    pub fn set_random(&self, faults: Option<RandomFaults>) {
        use rand::SeedableRng;
        *self.random.lock().unwrap() = faults.map(|f| {
            let rng = rand::rngs::StdRng::seed_from_u64(f.seed);
            (f, rng)
        });
    }

    /// Takes the first armed fault that matches this request, else one at random, if any.
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let fault = self
            .take_armed(method, path)
            .or_else(|| self.take_random(method, path))?;
        self.injected
            .lock()
            .unwrap()
            .push((method.to_string(), path.to_string(), fault.clone()));
        Some(fault)
    }

    fn take_armed(&self, method: &str, path: &str) -> Option<Fault> {
        let mut armed = self.armed.lock().unwrap();
        let index = armed.iter().position(|a| a.on.matches(method, path))?;
        let entry = &mut armed[index];
        let fault = entry.fault.clone();
        entry.times -= 1;
        if entry.times == 0 {
            armed.remove(index);
        }
        Some(fault)
    }

    fn take_random(&self, method: &str, path: &str) -> Option<Fault> {
        use rand::Rng;
        let mut random = self.random.lock().unwrap();
        let (faults, rng) = random.as_mut()?;
        if faults.faults.is_empty() || !faults.on.matches(method, path) {
            return None;
        }
        if !rng.gen_bool(faults.rate.clamp(0.0, 1.0)) {
            return None;
        }
        let index = rng.gen_range(0..faults.faults.len());
        Some(faults.faults[index].clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn random(rate: f64, seed: u64) -> FaultPlan {
        let plan = FaultPlan::default();
        plan.set_random(Some(RandomFaults {
            on: FaultMatch {
                method: Some("POST".into()),
                path_contains: None,
            },
            rate,
            faults: vec![Fault::ServerError, Fault::LoseResponse],
            seed,
        }));
        plan
    }

    #[test]
    fn random_faults_follow_their_seed_and_rate() {
        let draw = |plan: &FaultPlan| {
            (0..200)
                .map(|_| plan.take("POST", "/x"))
                .collect::<Vec<_>>()
        };
        let first = draw(&random(0.3, 7));
        assert_eq!(
            first,
            draw(&random(0.3, 7)),
            "the same seed, the same faults"
        );
        let hits = first.iter().flatten().count();
        assert!((30..=90).contains(&hits), "about 30% of 200: {hits}");
        assert!(draw(&random(0.0, 7)).iter().all(Option::is_none));
        assert!(draw(&random(1.0, 7)).iter().all(Option::is_some));
        let plan = random(1.0, 7);
        assert_eq!(plan.take("GET", "/x"), None, "only matching requests");
        plan.take("POST", "/x");
        assert_eq!(plan.injected().len(), 1, "each one logged");
        plan.set_random(None);
        assert_eq!(plan.take("POST", "/x"), None);
    }
}
