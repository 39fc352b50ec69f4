//! Notifications as a bookkeeper receives them — real mails through a real SMTP server
//! (aiosmtpd, started by the test), webhooks to a server of the test's own — and `/metrics`,
//! after booking in the demo world.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use hmac::{Hmac, Mac};
use ledgerlink::demo::{DemoNotifications, DemoWorld, CONNECTION};
use ledgerlink_core::BookingPlan;
use ledgerlink_engine::config::{NotificationsConfig, SmtpConfig};
use ledgerlink_engine::notify::{Retry, SmtpTls};
use ledgerlink_engine::EngineOptions;
use ledgerlink_sandbox::woocommerce::{AddressSpec, CustomerSpec, LineSpec, OrderSpec};
use ledgerlink_store::{DocState, LedgerRow};
use ledgerlink_testkit::smtp::SmtpServer;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;
use sha2::Sha256;

const BOOKKEEPER: &str = "bookkeeper@example.nl";
const SMTP_USER: &str = "ledgerlink";
const SMTP_PASSWORD: &str = "smtp-Canary-7f3a9c";
const HOOK_SECRET: &str = "hook-Canary-1c2d4e";

fn fast() -> EngineOptions {
    EngineOptions {
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        ..EngineOptions::default()
    }
}

/// One retry, at once: a failing channel gives up quickly.
fn quick_retry() -> Retry {
    Retry {
        retries: 1,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
        timeout: Duration::from_secs(10),
    }
}

fn smtp(server: &SmtpServer) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(server.port),
        username: Some(SMTP_USER.into()),
        password: Some(SMTP_PASSWORD.to_string().into()),
        tls: SmtpTls::None,
        from: "ledgerlink@example.nl".parse().unwrap(),
    }
}

fn mail_to_bookkeeper(events: &[&str], report: &str) -> NotificationsConfig {
    NotificationsConfig {
        email: vec![BOOKKEEPER.into()],
        events: events.iter().map(|e| e.to_string()).collect(),
        report: report.into(),
        ..NotificationsConfig::default()
    }
}

async fn world(
    dir: &std::path::Path,
    smtp: Option<SmtpConfig>,
    notifications: NotificationsConfig,
) -> DemoWorld {
    let notifications = DemoNotifications {
        smtp,
        notifications,
        retry: quick_retry(),
    };
    DemoWorld::start_notifying(&dir.join("ledger.sqlite"), fast(), notifications)
        .await
        .unwrap()
}

fn order(email: &str, country: &str, price: Decimal) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Fenna".into(),
            last_name: "Dijkstra".into(),
            email: email.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Stationsweg 4".into(),
            city: if country == "NL" { "Leiden" } else { "Oslo" }.into(),
            postcode: if country == "NL" { "2312 AV" } else { "0155" }.into(),
            country: country.into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Linnen tafelkleed".into(),
            quantity: 1,
            unit_price: price,
            tax_rate: dec!(21),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

/// Two domestic orders, booked, and an export charged Dutch VAT, held (never re-taxed).
async fn book_two_and_hold_one(world: &DemoWorld) -> (Vec<LedgerRow>, LedgerRow) {
    world
        .shop
        .create_order(order("fenna@example.nl", "NL", dec!(49.95)));
    world
        .shop
        .create_order(order("joost@example.nl", "NL", dec!(12.40)));
    world
        .shop
        .create_order(order("ingrid@example.no", "NO", dec!(89.00)));
    world.settle().await.unwrap();
    let store = world.engine.store();
    let booked = store
        .documents(CONNECTION, Some(DocState::Booked))
        .await
        .unwrap();
    let mut held = store
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap();
    assert_eq!((booked.len(), held.len()), (2, 1), "{held:?}");
    (booked, held.remove(0))
}

fn plan_total(rows: &[LedgerRow]) -> Decimal {
    rows.iter()
        .map(|row| {
            let plan: BookingPlan = serde_json::from_value(row.plan_json.clone().unwrap()).unwrap();
            plan.total.amount()
        })
        .sum()
}

async fn exact_calls(world: &DemoWorld) -> usize {
    let entries = world
        .engine
        .store()
        .audit_entries(CONNECTION, 100_000)
        .await
        .unwrap();
    entries.iter().filter(|e| e.system == "exact").count()
}

#[tokio::test]
async fn a_held_document_is_mailed_once_to_the_bookkeeper_naming_it_and_the_reason() {
    let server = SmtpServer::start(Some((SMTP_USER, SMTP_PASSWORD)));
    let dir = tempfile::tempdir().unwrap();
    let world = world(
        dir.path(),
        Some(smtp(&server)),
        mail_to_bookkeeper(&["held"], "off"),
    )
    .await;
    let (_, held) = book_two_and_hold_one(&world).await;
    world.engine.notifier().flush().await;

    let mails = server.mails();
    assert_eq!(mails.len(), 1, "one mail for the one held document");
    let mail = &mails[0];
    assert_eq!(mail.recipients(), [BOOKKEEPER]);
    assert_eq!(mail.header("To"), Some(BOOKKEEPER));
    assert_eq!(mail.header("X-AuthUser"), Some(SMTP_USER), "logged in");
    assert!(mail
        .header("Message-ID")
        .is_some_and(|id| id.ends_with("@example.nl>")));
    let reason = held.reason.clone().unwrap();
    assert!(reason.contains("outside the EU"), "{reason}");
    let subject = mail.header("Subject").unwrap();
    assert!(
        subject.contains(&format!("order {} is held", held.number)),
        "{subject}"
    );
    assert!(
        mail.body.contains(&format!("holds order {}", held.number)),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains(&format!("Reason: {reason}")),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains(&format!("ledgerlink retry {}", held.id)),
        "{}",
        mail.body
    );

    // Retried by a person, held again for the same reason: nothing new to tell.
    let store = world.engine.store();
    store.retry_held(held.id, Utc::now()).await.unwrap();
    world.engine.run_until_idle(10).await.unwrap();
    let again = store.document(held.id).await.unwrap().unwrap();
    assert_eq!(
        (again.state, again.reason.as_deref()),
        (DocState::Held, Some(reason.as_str()))
    );
    world.engine.notifier().flush().await;
    assert_eq!(server.mails().len(), 1, "the same hold is not mailed twice");
}

#[tokio::test]
async fn the_daily_report_arrives_with_the_counts_and_totals_and_is_not_sent_twice() {
    let server = SmtpServer::start(None);
    let dir = tempfile::tempdir().unwrap();
    let mut smtp = smtp(&server);
    (smtp.username, smtp.password) = (None, None);
    let world = world(dir.path(), Some(smtp), mail_to_bookkeeper(&[], "daily")).await;
    let (booked, held) = book_two_and_hold_one(&world).await;
    let calls = exact_calls(&world).await;
    let notifier = world.engine.notifier();
    notifier.flush().await;
    assert!(
        server.mails().is_empty(),
        "no events asked for, no report due yet"
    );

    // A day on, the report of the day the documents were booked in is due (at 07:00 UTC).
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    assert_eq!(notifier.queue_due_reports(tomorrow).await.unwrap(), 1);
    notifier.flush().await;
    let mails = server.mails();
    assert_eq!(mails.len(), 1);
    let report = &mails[0];
    assert_eq!(report.recipients(), [BOOKKEEPER]);
    assert!(report
        .header("Subject")
        .unwrap()
        .contains("transfer report"));
    let body = &report.body;
    let total = plan_total(&booked);
    for expected in [
        "Transfer report of Demo webshop (demo-shop)".to_string(),
        "Booked in this period: 2 documents".to_string(),
        format!("order           2   EUR {total:>12}"),
        format!("total               EUR {total:>12}"),
        format!("Calls to Exact Online in this period: {calls}"),
        "booked          2".to_string(),
        "held            1".to_string(),
        "Held, waiting for a person (1):".to_string(),
        format!(
            "#{} order {}: {}",
            held.id,
            held.number,
            held.reason.as_deref().unwrap()
        ),
    ] {
        assert!(body.contains(&expected), "{expected:?} in\n{body}");
    }

    // The cursor says it was sent: asked again (a restart), nothing is sent twice; the next
    // day's report covers the next day, in which nothing was booked.
    let cursor = world
        .engine
        .store()
        .cursor(CONNECTION, "report.last")
        .await
        .unwrap()
        .unwrap();
    assert!(cursor.contains("T07:00:00"), "{cursor}");
    assert_eq!(notifier.queue_due_reports(tomorrow).await.unwrap(), 0);
    let day_after = tomorrow + chrono::Duration::days(1);
    assert_eq!(notifier.queue_due_reports(day_after).await.unwrap(), 1);
    notifier.flush().await;
    let mails = server.mails();
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].body.contains("Booked in this period: nothing."),
        "{}",
        mails[1].body
    );
    assert!(
        mails[1]
            .body
            .contains("Calls to Exact Online in this period: 0"),
        "{}",
        mails[1].body
    );
}

#[tokio::test]
async fn exact_refusing_access_is_mailed_once_however_many_documents_meet_it() {
    let server = SmtpServer::start(Some((SMTP_USER, SMTP_PASSWORD)));
    let dir = tempfile::tempdir().unwrap();
    let world = world(
        dir.path(),
        Some(smtp(&server)),
        mail_to_bookkeeper(&["auth_failure"], "off"),
    )
    .await;
    // Exact's clock runs ahead: it takes the fresh token for expired, and ledgerlink does not
    // refresh a token that young, so the connection must be re-authorised.
    world.exact.advance_clock(Duration::from_secs(700));
    for email in ["a@example.nl", "b@example.nl", "c@example.nl"] {
        world.shop.create_order(order(email, "NL", dec!(19.95)));
    }
    world.shop.deliver_pending_webhooks().await;
    world.engine.run_until_idle(10).await.unwrap();
    let planned = world
        .engine
        .store()
        .documents(CONNECTION, Some(DocState::Planned))
        .await
        .unwrap();
    assert_eq!(planned.len(), 3, "waiting, not held");
    world.engine.notifier().flush().await;

    let mails = server.mails();
    assert_eq!(mails.len(), 1, "once an hour, not once per document");
    assert_eq!(
        mails[0].header("Subject"),
        Some("[ledgerlink] Demo webshop: Exact Online refused access")
    );
    assert!(
        mails[0].body.contains("Reconnect Exact Online"),
        "{}",
        mails[0].body
    );
    assert!(
        mails[0].body.contains("nothing is lost"),
        "{}",
        mails[0].body
    );
}

/// What a webhook receiver got: the signature header and the raw body.
type Received = Arc<Mutex<Vec<(Option<String>, Bytes)>>>;

/// A webhook receiver answering `status`.
async fn receiver(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let app = axum::Router::new().route(
        "/hooks/{token}",
        axum::routing::post({
            let received = received.clone();
            move |headers: HeaderMap, body: Bytes| async move {
                let signature = headers
                    .get("x-ledgerlink-signature")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                received.lock().unwrap().push((signature, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hooks/token-in-the-path",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn signed_json((signature, body): &(Option<String>, Bytes)) -> Value {
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        signature.as_deref(),
        Some(format!("sha256={expected}").as_str())
    );
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn the_webhook_gets_the_same_facts_as_json_signed_over_the_raw_body() {
    let (url, received) = receiver(StatusCode::NO_CONTENT).await;
    let dir = tempfile::tempdir().unwrap();
    let notifications = NotificationsConfig {
        webhook_url: Some(url),
        webhook_secret: Some(HOOK_SECRET.to_string().into()),
        ..NotificationsConfig::default()
    };
    let world = world(dir.path(), None, notifications).await;
    let (booked, held) = book_two_and_hold_one(&world).await;
    let calls = exact_calls(&world).await;
    let notifier = world.engine.notifier();
    notifier.flush().await;

    let event = signed_json(&received.lock().unwrap()[0]);
    assert_eq!(event["event"], "held");
    assert_eq!(event["connection"], CONNECTION);
    assert_eq!(event["document"]["id"], held.id);
    assert_eq!(event["document"]["kind"], "order");
    assert_eq!(event["document"]["number"], held.number.as_str());
    assert_eq!(event["reason"], held.reason.as_deref().unwrap());

    assert_eq!(
        notifier
            .queue_due_reports(Utc::now() + chrono::Duration::days(1))
            .await
            .unwrap(),
        1
    );
    notifier.flush().await;
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 2);
    let report = signed_json(&received[1]);
    assert_eq!(report["event"], "report");
    assert_eq!(report["period"]["every"], "daily");
    assert_eq!(report["booked"]["documents"], 2);
    assert_eq!(
        report["booked"]["totals"],
        serde_json::json!([{ "currency": "EUR", "total": plan_total(&booked).to_string() }])
    );
    assert_eq!(report["booked"]["by_kind"][0]["kind"], "order");
    assert_eq!(report["states"]["booked"], 2);
    assert_eq!(report["states"]["held"], 1);
    assert_eq!(report["held_count"], 1);
    assert_eq!(report["held"][0]["number"], held.number.as_str());
    assert_eq!(report["held"][0]["reason"], held.reason.as_deref().unwrap());
    assert_eq!(report["target"]["system"], "exact");
    assert_eq!(report["target"]["calls"], calls);
}

/// `/metrics` as Prometheus reads it: series (name and sorted labels) to value.
async fn scrape(world: &DemoWorld) -> (String, BTreeMap<String, f64>) {
    let text = reqwest::get(format!("{}/metrics", world.server_url))
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut series = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (key, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = key.split_once('{').unwrap_or((key, "}"));
        let mut labels: Vec<&str> = labels
            .trim_end_matches('}')
            .split(',')
            .filter(|l| !l.is_empty())
            .collect();
        labels.sort();
        series.insert(
            format!("{name}{{{}}}", labels.join(",")),
            value.parse().unwrap(),
        );
    }
    (text, series)
}

#[tokio::test]
async fn metrics_show_the_ledger_the_bookings_and_the_calls_in_prometheus_format() {
    let dir = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(&dir.path().join("ledger.sqlite"), fast())
        .await
        .unwrap();
    let (booked, _) = book_two_and_hold_one(&world).await;
    let calls = exact_calls(&world).await;
    let (text, series) = scrape(&world).await;

    let c = "connection=\"demo-shop\"";
    let expected = [
        (format!("ledgerlink_documents{{{c},state=\"booked\"}}"), 2.0),
        (format!("ledgerlink_documents{{{c},state=\"held\"}}"), 1.0),
        (
            format!("ledgerlink_documents{{{c},state=\"received\"}}"),
            0.0,
        ),
        (format!("ledgerlink_bookings_total{{{c}}}"), 2.0),
        (format!("ledgerlink_held_total{{{c}}}"), 1.0),
        (
            format!("ledgerlink_target_calls_total{{{c},system=\"exact\"}}"),
            calls as f64,
        ),
    ];
    for (key, value) in expected {
        assert_eq!(series.get(&key), Some(&value), "{key} in\n{text}");
    }
    let amount = series[&format!("ledgerlink_booked_amount_total{{{c},currency=\"EUR\"}}")];
    let total: f64 = plan_total(&booked).to_string().parse().unwrap();
    assert!((amount - total).abs() < 1e-9, "{amount} != {total}");
    assert!(calls > 0);
    assert!(
        text.contains("# TYPE ledgerlink_bookings_total counter"),
        "{text}"
    );

    // Read at every scrape: a document retried moves between states at once.
    let held = world
        .engine
        .store()
        .documents(CONNECTION, Some(DocState::Held))
        .await
        .unwrap();
    world
        .engine
        .store()
        .retry_held(held[0].id, Utc::now())
        .await
        .unwrap();
    let (_, series) = scrape(&world).await;
    assert_eq!(
        series[&format!("ledgerlink_documents{{{c},state=\"held\"}}")],
        0.0
    );
    assert_eq!(
        series[&format!("ledgerlink_documents{{{c},state=\"received\"}}")],
        1.0
    );
}

/// Everything written to the log, at every level, from every crate.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_smtp_password_or_webhook_secret_reaches_logs_mails_the_audit_log_or_metrics() {
    let log = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .init();
    let server = SmtpServer::start(Some((SMTP_USER, SMTP_PASSWORD)));
    // The webhook fails every time, so its failure is retried and logged.
    let (url, received) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let dir = tempfile::tempdir().unwrap();
    let notifications = NotificationsConfig {
        email: vec![BOOKKEEPER.into()],
        webhook_url: Some(url),
        webhook_secret: Some(HOOK_SECRET.to_string().into()),
        ..NotificationsConfig::default()
    };
    let world = world(dir.path(), Some(smtp(&server)), notifications).await;
    book_two_and_hold_one(&world).await;
    let notifier = world.engine.notifier();
    notifier.flush().await;
    notifier
        .queue_due_reports(Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    notifier.flush().await;
    let (metrics, series) = scrape(&world).await;

    // The secrets were used: the server took the password, the receiver signed bodies.
    let mails = server.mails();
    assert_eq!(mails.len(), 2, "the held document and the report");
    assert!(received.lock().unwrap().iter().all(|(s, _)| s.is_some()));
    assert_eq!(
        received.lock().unwrap().len(),
        4,
        "two notifications, each retried once"
    );
    assert_eq!(
        series
            ["ledgerlink_notifications_failed_total{channel=\"webhook\",connection=\"demo-shop\"}"],
        2.0
    );
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("a notification could not be sent after its retries"),
        "the failure is logged"
    );
    assert!(log.contains("HTTP 500"), "{log}");
    assert!(
        !log.contains("token-in-the-path"),
        "our logs never show the webhook's address"
    );

    let audit = serde_json::to_string(
        &world
            .engine
            .store()
            .audit_entries(CONNECTION, 100_000)
            .await
            .unwrap(),
    )
    .unwrap();
    let mails: Vec<String> = mails.into_iter().map(|m| m.raw).collect();
    for (what, text) in [
        ("the log", &log),
        ("the audit log", &audit),
        ("/metrics", &metrics),
        ("the mails", &mails.join("\n")),
    ] {
        for secret in [SMTP_PASSWORD, HOOK_SECRET] {
            assert!(!text.contains(secret), "{what} shows a secret");
        }
    }
    assert!(!metrics.contains(BOOKKEEPER), "no address in the metrics");
}
