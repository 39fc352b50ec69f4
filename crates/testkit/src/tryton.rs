//! A real Tryton server for the tests: started by `tools/tryton/setup.sh` when none answers,
//! read back through its own JSON-RPC, and a proxy that loses an answer on purpose.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The database and the API user `tools/tryton/setup.sh` creates.
pub const DATABASE: &str = "tryton";
pub const USER: &str = "connector";
pub const PASSWORD: &str = "connector-Secret-42";

/// The server's address (`TRYTON_PORT`, default 8000), after starting it if nothing answers.
pub async fn server() -> String {
    let url = format!(
        "http://127.0.0.1:{}",
        std::env::var("TRYTON_PORT").unwrap_or_else(|_| "8000".into())
    );
    if !answers(&url).await {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/tryton/setup.sh");
        let status = tokio::process::Command::new("bash")
            .arg(script)
            .status()
            .await
            .expect("bash runs setup.sh");
        assert!(status.success(), "tools/tryton/setup.sh failed: {status}");
        assert!(
            answers(&url).await,
            "Tryton does not answer at {url} after setup.sh"
        );
    }
    url
}

async fn answers(url: &str) -> bool {
    let request = reqwest::Client::new()
        .post(format!("{url}/rpc/"))
        .timeout(Duration::from_secs(5))
        .json(&json!({"id": 0, "method": "common.db.list", "params": []}));
    match request.send().await {
        Ok(response) => response
            .text()
            .await
            .is_ok_and(|body| body.contains(&format!("\"{DATABASE}\""))),
        Err(_) => false,
    }
}

/// Tryton's books as Tryton itself shows them: a session of our own, not the connector's.
pub struct TrytonBooks {
    endpoint: String,
    authorization: String,
    http: reqwest::Client,
}

impl TrytonBooks {
    pub async fn open(url: &str) -> TrytonBooks {
        let http = reqwest::Client::new();
        let endpoint = format!("{url}/{DATABASE}/rpc/");
        let answer: Value = http
            .post(&endpoint)
            .json(&json!({"id": 1, "method": "common.db.login", "params": [USER, {"password": PASSWORD}, "en"]}))
            .send()
            .await
            .expect("Tryton answers")
            .json()
            .await
            .expect("a JSON-RPC answer");
        let user = answer["result"][0].as_i64().expect("a user id");
        let token = answer["result"][1].as_str().expect("a session token");
        let session =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{user}:{token}"));
        TrytonBooks {
            endpoint,
            authorization: format!("Session {session}"),
            http,
        }
    }

    pub async fn call(&self, method: &str, params: Value) -> Value {
        let answer: Value = self
            .http
            .post(&self.endpoint)
            .header("authorization", &self.authorization)
            .json(&json!({"id": 2, "method": method, "params": params}))
            .send()
            .await
            .expect("Tryton answers")
            .json()
            .await
            .expect("a JSON-RPC answer");
        assert!(
            answer.get("error").is_none_or(Value::is_null),
            "{method}: {answer}"
        );
        answer["result"].clone()
    }

    /// The customer invoices and credit notes carrying `reference`, with number, state,
    /// amounts and move.
    pub async fn invoices(&self, reference: &str) -> Vec<Value> {
        let fields = json!([
            "number",
            "state",
            "untaxed_amount",
            "tax_amount",
            "total_amount",
            "move"
        ]);
        let domain = json!([["type", "=", "out"], ["reference", "=", reference]]);
        let result = self
            .call(
                "model.account.invoice.search_read",
                json!([domain, 0, null, null, fields, {}]),
            )
            .await;
        result.as_array().cloned().unwrap_or_default()
    }
}

/// A decimal from Tryton's `{"__class__": "Decimal", "decimal": "…"}` (or a plain string).
pub fn decimal(value: &Value) -> rust_decimal::Decimal {
    value["decimal"]
        .as_str()
        .or(value.as_str())
        .expect("a decimal")
        .parse()
        .expect("a decimal")
}

/// A proxy in front of Tryton that, once armed, lets the next successful call containing
/// `trigger` reach Tryton and drops Tryton's answer: the write lands, the connector never
/// hears of it. (The test server speaks HTTP/1.0: one request per connection.)
pub struct LossyProxy {
    pub url: String,
    armed: Arc<AtomicBool>,
}

impl LossyProxy {
    /// `upstream` is `host:port`.
    pub async fn start(upstream: String, trigger: &'static str) -> LossyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let armed = Arc::new(AtomicBool::new(false));
        let flag = armed.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let request = read_request(&mut client).await;
                let Ok(mut server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                if server.write_all(&request).await.is_err() {
                    continue;
                }
                let mut response = Vec::new();
                if server.read_to_end(&mut response).await.is_err() {
                    continue;
                }
                let succeeded = String::from_utf8_lossy(&response).contains("\"result\"");
                let lose = succeeded
                    && String::from_utf8_lossy(&request).contains(trigger)
                    && flag.swap(false, Ordering::SeqCst);
                if !lose {
                    let _ = client.write_all(&response).await;
                }
            }
        });
        LossyProxy { url, armed }
    }

    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

/// One HTTP request: the headers, then as many bytes as `Content-Length` says.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Ok(read) = stream.read(&mut chunk).await else {
            return request;
        };
        request.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&request).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if request.len() >= end + 4 + length || read == 0 {
                return request;
            }
        } else if read == 0 {
            return request;
        }
    }
}
