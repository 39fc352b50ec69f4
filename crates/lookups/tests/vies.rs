//! The VIES client against the emulator: answers with consultation numbers, every error class,
//! a member state's outage, broken and slow answers, and the audit log.

use std::sync::Arc;
use std::time::Duration;

use ledgerlink_core::{ErrorKind, VatNumber};
use ledgerlink_lookups::vies::{ViesAnswer, ViesClient};
use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_sandbox::vies::{ViesConfig, ViesSandbox};
use ledgerlink_sandbox::Running;
use ledgerlink_store::audit::Auditor;
use ledgerlink_store::{SqliteStore, Store};

const HOUR: Duration = Duration::from_secs(60 * 60);

struct Env {
    _running: Running,
    vies: ViesSandbox,
    store: Arc<dyn Store>,
    client: ViesClient,
    base: String,
}

impl Env {
    async fn start() -> Env {
        let (running, vies) = ViesSandbox::start(ViesConfig::default(), 0).await.unwrap();
        let base = running.base_url();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
        let client = ViesClient::new(&base, auditor(&store), Duration::from_secs(5)).unwrap();
        // The merchant: its own number must be valid for VIES to issue consultation numbers.
        vies.register(
            "NL",
            "123456789B01",
            Some("Webwinkel BV"),
            Some("Straat 1, Leiden"),
        );
        Env {
            _running: running,
            vies,
            store,
            client,
            base,
        }
    }

    fn test_service(&self) -> ViesClient {
        ViesClient::test_service(&self.base, auditor(&self.store), Duration::from_secs(5)).unwrap()
    }

    fn slow_client(&self) -> ViesClient {
        ViesClient::new(&self.base, auditor(&self.store), Duration::from_millis(300)).unwrap()
    }
}

fn auditor(store: &Arc<dyn Store>) -> Auditor {
    Auditor::new(store.clone(), "vies-test", "vies")
}

fn vat(s: &str) -> VatNumber {
    s.parse().unwrap()
}

fn merchant() -> VatNumber {
    vat("NL123456789B01")
}

fn retry_after(kind: &ErrorKind) -> Option<Duration> {
    match kind {
        ErrorKind::Transient { retry_after } => *retry_after,
        other => panic!("expected Transient, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_number_with_a_requester_gets_a_consultation_number() {
    let env = Env::start().await;
    env.vies.register(
        "DE",
        "811128135",
        Some("Muster GmbH"),
        Some("Hauptstr. 1\n10115 Berlin"),
    );
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let answer = env
        .client
        .check(&vat("DE 811 128 135"), Some(&merchant()))
        .await
        .unwrap();
    let ViesAnswer::Valid {
        name,
        address,
        consultation,
        checked_at,
    } = answer
    else {
        panic!("expected valid, got {answer:?}");
    };
    assert_eq!(name.as_deref(), Some("Muster GmbH"));
    assert_eq!(address.as_deref(), Some("Hauptstr. 1\n10115 Berlin"));
    assert!(checked_at >= before && checked_at <= chrono::Utc::now());
    let issued = env.vies.consultations();
    assert_eq!(issued.len(), 1);
    assert_eq!(
        consultation.as_deref(),
        Some(issued[0].request_identifier.as_str())
    );
    assert_eq!(
        (
            issued[0].country_code.as_str(),
            issued[0].vat_number.as_str()
        ),
        ("DE", "811128135")
    );
    assert_eq!(issued[0].requester, "NL123456789B01");

    // Without a requester VIES issues none, and an undisclosed name stays unknown.
    env.vies.register("BE", "0477472701", None, None);
    assert!(matches!(
        env.client.check(&vat("BE0477472701"), None).await.unwrap(),
        ViesAnswer::Valid {
            name: None,
            address: None,
            consultation: None,
            ..
        }
    ));
    assert_eq!(env.vies.consultations().len(), 1);
}

#[tokio::test]
async fn an_unregistered_number_is_invalid_with_its_own_consultation_number() {
    let env = Env::start().await;
    let answer = env
        .client
        .check(&vat("FR40303265045"), Some(&merchant()))
        .await
        .unwrap();
    let ViesAnswer::Invalid { consultation, .. } = answer else {
        panic!("expected invalid, got {answer:?}");
    };
    let issued = env.vies.consultations();
    assert_eq!(
        consultation.as_deref(),
        Some(issued[0].request_identifier.as_str())
    );
    assert!(!issued[0].valid);
}

#[tokio::test]
async fn greece_is_asked_as_el_and_northern_ireland_as_xi() {
    let env = Env::start().await;
    env.vies
        .register("EL", "094259216", Some("ΕΤΑΙΡΕΙΑ ΑΕ"), Some("ΑΘΗΝΑ"));
    env.vies
        .register("XI", "123456789", Some("Belfast Goods Ltd"), None);
    for number in ["EL094259216", "XI123456789"] {
        assert!(
            matches!(
                env.client.check(&vat(number), None).await.unwrap(),
                ViesAnswer::Valid { .. }
            ),
            "{number}"
        );
    }
    let tenants: Vec<Option<String>> = env
        .vies
        .recorder()
        .all()
        .into_iter()
        .map(|r| r.tenant)
        .collect();
    assert_eq!(tenants, [Some("EL".to_string()), Some("XI".to_string())]);
}

#[tokio::test]
async fn the_test_service_numbers_map_to_the_right_error_class() {
    let env = Env::start().await;
    let client = env.test_service();
    assert!(matches!(
        client
            .check(&vat("DE100"), Some(&merchant()))
            .await
            .unwrap(),
        ViesAnswer::Valid {
            consultation: Some(_),
            ..
        }
    ));
    assert!(matches!(
        client.check(&vat("DE200"), None).await.unwrap(),
        ViesAnswer::Invalid {
            consultation: None,
            ..
        }
    ));

    let input = client.check(&vat("DE201"), None).await.unwrap_err();
    assert_eq!(input.kind, ErrorKind::Rejected);
    assert!(input.message_for_user.contains("INVALID_INPUT"), "{input}");
    assert!(input.message_for_user.contains("DE201"), "{input}");

    let requester = client.check(&vat("DE202"), None).await.unwrap_err();
    assert_eq!(requester.kind, ErrorKind::Config);
    assert!(requester
        .message_for_user
        .contains("merchant's own VAT number"));

    // Everything that says nothing about the number waits, never "invalid".
    for (number, code) in [
        ("300", "SERVICE_UNAVAILABLE"),
        ("301", "MS_UNAVAILABLE"),
        ("302", "TIMEOUT"),
        ("500", "GLOBAL_MAX_CONCURRENT_REQ"),
        ("501", "GLOBAL_MAX_CONCURRENT_REQ_TIME"),
        ("600", "MS_MAX_CONCURRENT_REQ"),
        ("601", "MS_MAX_CONCURRENT_REQ_TIME"),
        ("999", "SERVICE_UNAVAILABLE"),
    ] {
        let error = client
            .check(&vat(&format!("DE{number}")), None)
            .await
            .unwrap_err();
        let after = retry_after(&error.kind).unwrap_or_else(|| panic!("{number}: no retry_after"));
        assert!(
            after > Duration::ZERO && after < HOUR,
            "{number}: {after:?}"
        );
        assert!(error.message_for_user.contains(code), "{number}: {error}");
        assert!(
            error.internal_cause.contains(code),
            "{number}: {}",
            error.internal_cause
        );
    }

    // Blocks wait long and say what happened.
    let vat_blocked = client.check(&vat("DE400"), None).await.unwrap_err();
    assert!(retry_after(&vat_blocked.kind).unwrap() >= 12 * HOUR);
    assert!(vat_blocked
        .message_for_user
        .contains("blocks checks of DE400"));
    let ip_blocked = client.check(&vat("DE401"), None).await.unwrap_err();
    assert!(retry_after(&ip_blocked.kind).unwrap() >= HOUR);
    assert!(ip_blocked
        .message_for_user
        .contains("blocked requests from ledgerlink's internet address"));
}

#[tokio::test]
async fn a_member_state_outage_waits_while_others_answer() {
    let env = Env::start().await;
    env.vies
        .register("DE", "811128135", Some("Muster GmbH"), None);
    env.vies
        .register("AT", "U13585627", Some("Beispiel GmbH"), None);
    env.vies.set_member_state_available("DE", false);

    let error = env
        .client
        .check(&vat("DE811128135"), Some(&merchant()))
        .await
        .unwrap_err();
    assert!(retry_after(&error.kind).is_some());
    assert!(error.message_for_user.contains("MS_UNAVAILABLE"), "{error}");
    assert!(
        error.message_for_user.contains("DE tax administration"),
        "{error}"
    );
    assert!(
        env.vies.consultations().is_empty(),
        "no consultation without an answer"
    );
    assert!(matches!(
        env.client.check(&vat("ATU13585627"), None).await.unwrap(),
        ViesAnswer::Valid { .. }
    ));

    env.vies.set_member_state_available("DE", true);
    assert!(matches!(
        env.client.check(&vat("DE811128135"), None).await.unwrap(),
        ViesAnswer::Valid { .. }
    ));

    // VIES itself down: the same, for every member state.
    env.vies.set_service_available(false);
    let down = env
        .client
        .check(&vat("ATU13585627"), None)
        .await
        .unwrap_err();
    assert!(
        down.message_for_user.contains("SERVICE_UNAVAILABLE"),
        "{down}"
    );
    assert!(retry_after(&down.kind).is_some());
}

#[tokio::test]
async fn an_unknown_requester_is_a_settings_problem() {
    let env = Env::start().await;
    let error = env
        .client
        .check(&vat("DE811128135"), Some(&vat("NL999999999B01")))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Config);
}

#[tokio::test]
async fn broken_failing_and_slow_answers_are_transient() {
    let env = Env::start().await;
    env.vies
        .register("DE", "811128135", Some("Muster GmbH"), None);
    let number = vat("DE811128135");
    let arm = |fault: Fault| {
        env.vies.faults().arm(ArmedFault {
            on: FaultMatch {
                method: Some("POST".into()),
                path_contains: Some("/check-vat-number".into()),
            },
            fault,
            times: 1,
        })
    };

    arm(Fault::LoseResponse);
    let lost = env
        .client
        .check(&number, Some(&merchant()))
        .await
        .unwrap_err();
    assert!(matches!(lost.kind, ErrorKind::Transient { .. }), "{lost:?}");
    assert!(lost.message_for_user.contains("broke off"), "{lost}");

    arm(Fault::ServerError);
    let failing = env.client.check(&number, None).await.unwrap_err();
    assert!(
        matches!(failing.kind, ErrorKind::Transient { .. }),
        "{failing:?}"
    );
    assert!(failing.internal_cause.contains("HTTP 500"), "{failing:?}");

    arm(Fault::TooManyRequests);
    let busy = env.client.check(&number, None).await.unwrap_err();
    assert!(retry_after(&busy.kind).is_some());

    arm(Fault::Slow { millis: 2_000 });
    let slow = env.slow_client().check(&number, None).await.unwrap_err();
    assert!(matches!(slow.kind, ErrorKind::Transient { .. }), "{slow:?}");
    assert!(
        slow.message_for_user.contains("did not answer within"),
        "{slow}"
    );

    assert_eq!(env.vies.recorder().count("POST", "/check-vat-number"), 4);
    assert_eq!(env.vies.faults().injected().len(), 4);
    assert!(matches!(
        env.client.check(&number, None).await.unwrap(),
        ViesAnswer::Valid { .. }
    ));
}

#[tokio::test]
async fn the_audit_log_records_each_exchange() {
    let env = Env::start().await;
    env.vies
        .register("DE", "811128135", Some("Muster GmbH"), None);
    let answer = env
        .client
        .check(&vat("DE811128135"), Some(&merchant()))
        .await
        .unwrap();
    let ViesAnswer::Valid {
        consultation: Some(consultation),
        ..
    } = answer
    else {
        panic!("expected a consultation number, got {answer:?}");
    };
    env.vies.faults().arm(ArmedFault {
        on: FaultMatch::default(),
        fault: Fault::Slow { millis: 2_000 },
        times: 1,
    });
    env.slow_client()
        .check(&vat("DE811128135"), None)
        .await
        .unwrap_err();

    let entries = env.store.audit_entries("vies-test", 10).await.unwrap();
    assert_eq!(entries.len(), 2);
    let (timed_out, answered) = (&entries[0], &entries[1]);
    assert_eq!(answered.system, "vies");
    assert_eq!(answered.method, "POST");
    assert_eq!(answered.url, format!("{}/check-vat-number", env.base));
    assert_eq!(answered.status, Some(200));
    let request = answered.request_body.as_deref().unwrap();
    for field in [
        "\"countryCode\":\"DE\"",
        "\"vatNumber\":\"811128135\"",
        "\"requesterMemberStateCode\":\"NL\"",
        "\"requesterNumber\":\"123456789B01\"",
    ] {
        assert!(request.contains(field), "{field} in {request}");
    }
    assert!(answered
        .response_body
        .as_deref()
        .unwrap()
        .contains(&consultation));
    assert_eq!(timed_out.status, None);
    assert!(timed_out.error.is_some() && timed_out.response_body.is_none());
}
