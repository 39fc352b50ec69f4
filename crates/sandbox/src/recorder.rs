//! Every emulator records each request it serves, so tests judge the system by what the
//! "vendor" saw rather than by what our client believes it sent.

use std::sync::Mutex;

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// Tenant the request was made for (Exact division, shop id, ...), where the API has one.
    pub tenant: Option<String>,
    /// Whose credentials it was made with (Exact: the consent its bearer token belongs to),
    /// where the emulator can tell.
    pub credential: Option<String>,
}

/// Each request with when it was served (real time, epoch milliseconds).
#[derive(Default)]
pub struct Recorder {
    requests: Mutex<Vec<(i64, RecordedRequest)>>,
}

impl Recorder {
    pub fn record(&self, request: RecordedRequest) {
        let at = chrono::Utc::now().timestamp_millis();
        self.requests.lock().unwrap().push((at, request));
    }

    pub fn all(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Every request with the epoch millisecond it was served at, e.g. to count per window.
    pub fn timed(&self) -> Vec<(i64, RecordedRequest)> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, r)| r.method == method && r.path.contains(path_contains))
            .count()
    }

    pub fn total(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}
