//! The core promises, end to end over real HTTP: WooCommerce emulator → webhooks → ledger →
//! rules → Exact Online emulator. Judged by what the Exact emulator recorded.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use ledgerlink::demo::{DemoWorld, CONNECTION};
use ledgerlink_core::Document;
use ledgerlink_engine::{Engine, EngineOptions};
use ledgerlink_sandbox::exact::SalesEntryRecord;
use ledgerlink_sandbox::faults::{ArmedFault, Fault, FaultMatch};
use ledgerlink_sandbox::woocommerce::{
    fixtures, AddressSpec, CustomerSpec, LineSpec, OrderSpec, ShippingSpec,
};
use ledgerlink_store::{DocState, LedgerRow, Transition};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const DIVISION: i32 = 100001;

fn fast() -> EngineOptions {
    EngineOptions {
        lease: Duration::from_secs(30),
        settle_delay: Duration::from_millis(20),
        retry_base: Duration::from_millis(20),
        max_backoff: Duration::from_millis(500),
        batch: 50,
    }
}

async fn world(dir: &Path) -> DemoWorld {
    DemoWorld::start(&dir.join("ledger.sqlite"), fast())
        .await
        .unwrap()
}

fn order_for(email: &str, unit_price: Decimal) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Anna".into(),
            last_name: "Jansen".into(),
            email: email.into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Oudegracht 12".into(),
            city: "Utrecht".into(),
            postcode: "3511 AB".into(),
            country: "NL".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Koffiebonen 1 kg".into(),
            sku: "KOF-1000".into(),
            quantity: 2,
            unit_price,
            tax_rate: dec!(9),
            tax_class: "reduced-rate".into(),
            ..LineSpec::default()
        }],
        shipping_line: Some(ShippingSpec {
            method_title: "PostNL".into(),
            total: dec!(4.95),
            tax_rate: dec!(21),
            ..ShippingSpec::default()
        }),
        ..OrderSpec::default()
    }
}

async fn rows(world: &DemoWorld) -> Vec<LedgerRow> {
    world
        .engine
        .store()
        .documents(CONNECTION, None)
        .await
        .unwrap()
}

fn entries_by_ref(entries: &[SalesEntryRecord]) -> HashMap<String, Vec<&SalesEntryRecord>> {
    let mut by_ref: HashMap<String, Vec<&SalesEntryRecord>> = HashMap::new();
    for entry in entries {
        by_ref
            .entry(entry.your_ref.clone().unwrap_or_default())
            .or_default()
            .push(entry);
    }
    by_ref
}

#[tokio::test]
async fn every_order_of_the_demo_mix_is_booked_exactly_once_and_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    let orders = fixtures::demo_mix(&world.shop);
    world.register_vat_numbers(&orders);
    world.settle().await.unwrap();

    let rows = rows(&world).await;
    let entries = world.exact.sales_entries(DIVISION);
    let by_ref = entries_by_ref(&entries);
    let booked: Vec<&LedgerRow> = rows
        .iter()
        .filter(|r| r.state == DocState::Booked)
        .collect();
    assert!(
        booked.len() >= 10,
        "the mix books most of its documents: {rows:#?}"
    );
    assert_eq!(
        entries.len(),
        booked.len(),
        "one entry per booked document, none extra"
    );

    let mut sold = Decimal::ZERO;
    let mut in_exact = Decimal::ZERO;
    for row in &booked {
        let reference = row.reference.as_deref().unwrap();
        let found = &by_ref[reference];
        assert_eq!(found.len(), 1, "{reference} booked once");
        let entry = found[0];
        let document: Document = serde_json::from_value(row.document_json.clone()).unwrap();
        assert_eq!(
            entry.amount_fc,
            document.total.amount(),
            "{reference}: Exact total equals the shop's"
        );
        assert_eq!(
            Some(entry.entry_id.to_string()),
            row.target_id,
            "{reference}: target id recorded"
        );
        assert!(!entry.modified_after_creation, "{reference} never modified");
        let expected_type = if row.kind == "refund" { 21 } else { 20 };
        assert_eq!(entry.entry_type, expected_type, "{reference}");
        if row.kind == "refund" {
            // A credit note carries its own reference, which names the order it corrects.
            let original = reference.rsplit_once("-R").unwrap().0;
            assert_eq!(
                by_ref[original].len(),
                1,
                "the refunded order {original} is booked"
            );
        }
        sold += document.total.amount();
        in_exact += entry.amount_fc;
    }
    assert_eq!(sold, in_exact, "sum booked equals sum sold");
    assert!(
        booked.iter().any(|r| r.kind == "refund"),
        "refunds are in the mix"
    );
    for row in rows.iter().filter(|r| {
        r.state == DocState::Held || r.state == DocState::Skipped || r.state == DocState::Waiting
    }) {
        assert!(
            row.reason.as_deref().is_some_and(|r| !r.is_empty()),
            "{} {} has a reason",
            row.kind,
            row.number
        );
    }
}

#[tokio::test]
async fn a_lost_response_after_the_write_landed_leaves_exactly_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world.exact.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("salesentry/SalesEntries".into()),
        },
        fault: Fault::LoseResponse,
        times: 1,
    });
    world
        .shop
        .create_order(order_for("lost@example.nl", dec!(12.50)));
    world.settle().await.unwrap();

    let entries = world.exact.sales_entries(DIVISION);
    assert_eq!(
        entries.len(),
        1,
        "looked up by reference instead of posting again"
    );
    let row = &rows(&world).await[0];
    assert_eq!(row.state, DocState::Booked);
    assert_eq!(row.target_id, Some(entries[0].entry_id.to_string()));
    let states: Vec<DocState> = world
        .engine
        .store()
        .transitions(row.id)
        .await
        .unwrap()
        .iter()
        .map(|t| t.to_state)
        .collect();
    assert!(
        states.contains(&DocState::Uncertain),
        "the lost response was recorded as uncertain: {states:?}"
    );
    assert_eq!(
        world
            .exact
            .recorder()
            .count("POST", "salesentry/SalesEntries"),
        1
    );
}

#[tokio::test]
async fn a_server_error_after_applying_still_books_once() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world.exact.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("salesentry/SalesEntries".into()),
        },
        fault: Fault::ServerErrorAfterApply,
        times: 1,
    });
    world
        .shop
        .create_order(order_for("fault@example.nl", dec!(30)));
    world.settle().await.unwrap();
    assert_eq!(world.exact.sales_entries(DIVISION).len(), 1);
    assert_eq!(
        world
            .exact
            .recorder()
            .count("POST", "salesentry/SalesEntries"),
        1,
        "found by reference, not posted again"
    );
    assert_eq!(rows(&world).await[0].state, DocState::Booked);
}

#[tokio::test]
async fn a_429_puts_the_document_back_until_the_window_resets() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world.exact.faults().arm(ArmedFault {
        on: FaultMatch {
            method: Some("POST".into()),
            path_contains: Some("salesentry/SalesEntries".into()),
        },
        fault: Fault::TooManyRequests,
        times: 1,
    });
    world
        .shop
        .create_order(order_for("busy@example.nl", dec!(30)));
    world.shop.deliver_pending_webhooks().await;
    world.engine.run_due().await.unwrap();
    let row = &rows(&world).await[0];
    assert_eq!(
        row.state,
        DocState::Planned,
        "a 429 was certainly not applied"
    );
    assert!(
        row.reason.as_deref().unwrap().contains("rate limit"),
        "{:?}",
        row.reason
    );
    assert!(world.exact.sales_entries(DIVISION).is_empty());
    // Not due before the window resets: another round posts nothing.
    world.engine.run_due().await.unwrap();
    assert_eq!(
        world
            .exact
            .recorder()
            .count("POST", "salesentry/SalesEntries"),
        1
    );
}

/// The process dies while a document is `posting`: once after the write landed, once before.
#[tokio::test]
async fn a_crash_while_posting_is_resolved_by_reference_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world
        .shop
        .create_order(order_for("crash-after@example.nl", dec!(10)));
    world
        .shop
        .create_order(order_for("crash-before@example.nl", dec!(20)));
    // Taken in by the sweeper (webhook deliveries would wait in the inbox for a worker round).
    world.engine.sweep(CONNECTION).await.unwrap();

    // The first process: plans both, marks them posting, gets one POST out, and dies.
    let store = world.engine.store().clone();
    let now = chrono::Utc::now();
    let claimed = store
        .claim_due("doomed", now, now + chrono::Duration::milliseconds(200), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let connection = world.engine.connection(CONNECTION).unwrap();
    let target = connection
        .target
        .exact()
        .expect("an Exact Online connection");
    for (index, row) in claimed.iter().enumerate() {
        let document: Document = serde_json::from_value(row.document_json.clone()).unwrap();
        let ledgerlink_rules::Decision::Book { plan } =
            ledgerlink_rules::decide(&document, &connection.settings.get())
        else {
            panic!("bookable")
        };
        let planned = Transition {
            plan_json: Some(serde_json::to_value(&plan).unwrap()),
            reference: Some(plan.reference.clone()),
            ..Transition::default()
        };
        store
            .transition_keep_lease(row.lease(), DocState::Planned, planned, now)
            .await
            .unwrap();
        store
            .transition_keep_lease(row.lease(), DocState::Posting, Transition::default(), now)
            .await
            .unwrap();
        if index == 0 {
            let entry = target.prepare(&plan).await.unwrap();
            target.post(&entry).await.unwrap();
        }
    }
    assert_eq!(world.exact.sales_entries(DIVISION).len(), 1);

    // The restarted process: a new engine on the same ledger, after the lease ran out.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let connections = vec![ledgerlink_engine::Connection {
        id: connection.id.clone(),
        owner: None,
        settings: ledgerlink_engine::LiveSettings::new((*connection.settings.get()).clone()),
        source: connection.source.clone(),
        target: connection.target.clone(),
        vies: None,
    }];
    let restarted = Engine::new(store.clone(), connections, fast());
    restarted.run_until_idle(10).await.unwrap();

    let entries = world.exact.sales_entries(DIVISION);
    assert_eq!(
        entries.len(),
        2,
        "one entry per order: found the landed one, posted the other"
    );
    let by_ref = entries_by_ref(&entries);
    for row in store.documents(CONNECTION, None).await.unwrap() {
        assert_eq!(row.state, DocState::Booked);
        assert_eq!(by_ref[row.reference.as_deref().unwrap()].len(), 1);
    }
    assert_eq!(
        world
            .exact
            .recorder()
            .count("POST", "salesentry/SalesEntries"),
        2
    );
}

#[tokio::test]
async fn the_same_webhook_three_times_books_once_and_a_bad_signature_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world
        .shop
        .create_order(order_for("thrice@example.nl", dec!(15)));
    let deliveries = world.shop.deliver_pending_webhooks().await;
    let created = deliveries
        .iter()
        .find(|d| d.topic == "order.created")
        .expect("an order.created delivery");
    assert_eq!(created.status, Some(200));
    for _ in 0..2 {
        let again = world.shop.redeliver(created.delivery_id).await.unwrap();
        assert_eq!(again.status, Some(200), "a duplicate is acknowledged");
    }
    world.engine.run_until_idle(10).await.unwrap();
    assert_eq!(world.exact.sales_entries(DIVISION).len(), 1);
    assert_eq!(rows(&world).await.len(), 1);

    let forged = serde_json::json!({ "id": 999, "status": "processing" }).to_string();
    let response = reqwest::Client::new()
        .post(&world.webhook_url)
        .header("x-wc-webhook-topic", "order.created")
        .header("x-wc-webhook-delivery-id", "forged-1")
        .header("x-wc-webhook-signature", "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ==")
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        rows(&world).await.len(),
        1,
        "nothing stored from the forged delivery"
    );
    let audit = world
        .engine
        .store()
        .audit_entries(CONNECTION, 1000)
        .await
        .unwrap();
    assert!(
        audit.iter().all(|e| !e.url.contains("orders/999")),
        "nothing fetched for it either"
    );
}

#[tokio::test]
async fn different_events_sharing_a_delivery_id_are_all_taken_in() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    let first = world
        .shop
        .create_order(order_for("same-second-1@example.nl", dec!(5)));
    let second = world
        .shop
        .create_order(order_for("same-second-2@example.nl", dec!(6)));
    // WooCommerce's delivery id is a hash of the webhook id and the second: replay both
    // bodies, correctly signed, under one id.
    for order in [&first, &second] {
        let body = serde_json::to_vec(order).unwrap();
        let response = reqwest::Client::new()
            .post(&world.webhook_url)
            .header("x-wc-webhook-topic", "order.created")
            .header("x-wc-webhook-delivery-id", "same-second")
            .header("x-wc-webhook-signature", sign(&body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Kept before the 2xx; a worker round takes them in.
    assert!(rows(&world).await.is_empty());
    world.engine.run_due().await.unwrap();
    assert_eq!(rows(&world).await.len(), 2);
}

#[tokio::test]
async fn a_delivery_is_kept_before_it_is_acknowledged_then_taken_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    let order = world
        .shop
        .create_order(order_for("kept@example.nl", dec!(7)));
    let body = serde_json::to_vec(&order).unwrap();
    let deliver = || {
        reqwest::Client::new()
            .post(&world.webhook_url)
            .header("x-wc-webhook-topic", "order.created")
            .header("x-wc-webhook-delivery-id", "kept-1")
            .header("x-wc-webhook-signature", sign(&body))
            .body(body.clone())
            .send()
    };
    assert_eq!(deliver().await.unwrap().status(), 200);
    // Acknowledged, and not taken in yet: the delivery waits in the ledger's inbox (committed
    // before the answer) for a worker round, whichever process runs it.
    assert!(rows(&world).await.is_empty());
    world.engine.run_due().await.unwrap();
    assert_eq!(rows(&world).await.len(), 1);
    // The same delivery again is recognised, also after it was taken in.
    let again = deliver().await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("duplicate delivery ignored"));
    world.settle().await.unwrap();
    assert_eq!(world.exact.sales_entries(DIVISION).len(), 1);
}

fn sign(body: &[u8]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"demo-webhook-secret").unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_returning_customers_order_costs_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world
        .shop
        .create_order(order_for("regular@example.nl", dec!(8)));
    world.settle().await.unwrap();
    let before = world.exact.recorder().total();
    world
        .shop
        .create_order(order_for("regular@example.nl", dec!(9)));
    world.settle().await.unwrap();
    let calls: Vec<_> = world
        .exact
        .recorder()
        .all()
        .into_iter()
        .skip(before)
        .collect();
    assert_eq!(calls.len(), 1, "only the sales entry: {calls:#?}");
    assert_eq!(calls[0].method, "POST");
    assert!(calls[0].path.ends_with("salesentry/SalesEntries"));
    assert_eq!(world.exact.sales_entries(DIVISION).len(), 2);
    assert_eq!(
        world
            .exact
            .accounts(DIVISION)
            .iter()
            .filter(|a| a["Email"] == "regular@example.nl")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_rejected_booking_is_held_with_the_targets_words_and_never_retried_blindly() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    let mut order = order_for("rate@example.nl", dec!(10));
    // 13% is not a Dutch rate: held before any call, with the rates that apply.
    order.lines[0].tax_rate = dec!(13);
    world.shop.create_order(order);
    world.settle().await.unwrap();
    let row = &rows(&world).await[0];
    assert_eq!(row.state, DocState::Held);
    assert!(
        row.reason
            .as_deref()
            .unwrap()
            .contains("13% is not a VAT rate of NL"),
        "{:?}",
        row.reason
    );
    assert_eq!(
        world
            .exact
            .recorder()
            .count("POST", "salesentry/SalesEntries"),
        0,
        "held before any call"
    );
}

#[tokio::test]
async fn a_second_demo_run_on_the_same_ledger_books_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("demo.sqlite");
    let mut out = Vec::new();
    let first = ledgerlink::demo::run(&database, ledgerlink::demo::DemoLedger::Exact, &mut out)
        .await
        .unwrap();
    assert!(first.booked_now >= 10);
    assert_eq!(first.source_total.amount(), first.ledger_total);
    let printed = String::from_utf8(out).unwrap();
    assert!(printed.contains("equal to the cent"), "{printed}");

    let second = ledgerlink::demo::run(
        &database,
        ledgerlink::demo::DemoLedger::Exact,
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(second.booked_now, 0);
    assert_eq!(second.booked, first.booked);
}

fn eu_business_order(vat_number: &str) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            first_name: "Lotte".into(),
            last_name: "Peeters".into(),
            company: "Brouwerij Peeters BV".into(),
            email: "inkoop@peeters.example.be".into(),
            ..CustomerSpec::default()
        },
        billing: AddressSpec {
            address_1: "Grote Markt 1".into(),
            city: "Antwerpen".into(),
            postcode: "2000".into(),
            country: "BE".into(),
            ..AddressSpec::default()
        },
        vat_number: Some(vat_number.into()),
        lines: vec![LineSpec {
            name: "Fust".into(),
            quantity: 4,
            unit_price: dec!(37.50),
            tax_rate: dec!(0),
            ..LineSpec::default()
        }],
        ..OrderSpec::default()
    }
}

#[tokio::test]
async fn a_vat_number_vies_does_not_know_gets_no_reverse_charge() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    // BE0477472701 passes its checksum, but VIES has no such registration.
    world.shop.create_order(eu_business_order("BE0477472701"));
    world.settle().await.unwrap();
    let row = &rows(&world).await[0];
    assert_eq!(row.state, DocState::Held);
    assert!(
        row.reason
            .as_deref()
            .unwrap()
            .contains("VIES says the VAT number BE0477472701 is not valid"),
        "{:?}",
        row.reason
    );
    assert!(world.exact.sales_entries(DIVISION).is_empty());
}

#[tokio::test]
async fn a_vies_outage_makes_the_document_wait_never_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path()).await;
    world
        .vies
        .register("BE", "0477472701", Some("Brouwerij Peeters BV"), None);
    world.vies.set_member_state_available("BE", false);
    world.shop.create_order(eu_business_order("BE0477472701"));
    world.shop.deliver_pending_webhooks().await;
    world.engine.run_until_idle(10).await.unwrap();
    let row = &rows(&world).await[0];
    assert_eq!(
        row.state,
        DocState::Received,
        "waiting for VIES, not held: {:?}",
        row.reason
    );
    assert!(world.exact.sales_entries(DIVISION).is_empty());

    // Belgium's register is back; once the document is due again it is checked and booked.
    world.vies.set_member_state_available("BE", true);
    world
        .engine
        .store()
        .retry_held(row.id, chrono::Utc::now())
        .await
        .unwrap_err();
    let reopened = world.shop.create_order(eu_business_order("BE0477472701"));
    world.shop.deliver_pending_webhooks().await;
    world.engine.run_until_idle(10).await.unwrap();
    let second = world
        .engine
        .store()
        .document_by_source(CONNECTION, "order", &reopened["id"].to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.state, DocState::Booked, "{:?}", second.reason);
    let plan = second.plan_json.unwrap();
    assert_eq!(plan["lines"][0]["vat_treatment"], "reverse_charge");
    let consultation = plan["customer"]["vies_consultation"]
        .as_str()
        .expect("VIES's consultation number is kept");
    assert!(
        world
            .vies
            .consultations()
            .iter()
            .any(|c| c.request_identifier == consultation),
        "{consultation}"
    );
}
