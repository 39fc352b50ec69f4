//! The PrestaShop client and mapping against the emulator: paging without a total, the
//! `date_upd` cursor and `date_add` backfill, a module's state, credit slips, the demo mix
//! to the cent, a refused key, and an audit log without the key.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ledgerlink_core::{DocumentKind, ErrorKind, LineKind, Money};
use ledgerlink_sandbox::prestashop::{
    fixtures, AddressSpec, CarrierSpec, CustomerSpec, LineSpec, OrderSpec, PrestaConfig,
    PrestaSandbox, SlipLine, SlipSpec, StateFlags,
};
use ledgerlink_sources::prestashop::{
    map_order, map_slip, Page, PrestaClient, PrestaCredentials, PAGE_SIZE,
};
use ledgerlink_store::audit::Auditor;
use ledgerlink_store::{SqliteStore, Store};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::Value;

async fn client(url: &str, key: &str) -> (Arc<dyn Store>, PrestaClient) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let credentials = PrestaCredentials {
        url: url.into(),
        api_key: key.to_string().into(),
    };
    let client = PrestaClient::new(
        credentials,
        Auditor::new(store.clone(), "shop", "prestashop"),
        Duration::from_secs(5),
    )
    .unwrap();
    (store, client)
}

async fn shop() -> (
    ledgerlink_sandbox::Running,
    PrestaSandbox,
    Arc<dyn Store>,
    PrestaClient,
) {
    let (running, shop) = PrestaSandbox::start(PrestaConfig::default(), 0)
        .await
        .unwrap();
    let (store, client) = client(&running.base_url(), &shop.config().api_key).await;
    (running, shop, store, client)
}

fn order(n: u32) -> OrderSpec {
    OrderSpec {
        customer: CustomerSpec {
            firstname: "Klant".into(),
            lastname: format!("{n}"),
            email: format!("klant{n}@example.nl"),
            ..CustomerSpec::default()
        },
        delivery: AddressSpec {
            address1: "Straat 1".into(),
            postcode: "2311 AA".into(),
            city: "Leiden".into(),
            ..AddressSpec::default()
        },
        lines: vec![LineSpec {
            name: "Pen".into(),
            reference: "PEN-1".into(),
            quantity: n % 7 + 1,
            unit_price_tax_excl: dec!(2.50),
            tax_rate: Some(dec!(21)),
            ..LineSpec::default()
        }],
        carrier: Some(CarrierSpec {
            price_tax_excl: dec!(4.95),
            tax_rate: Some(dec!(21)),
            ..CarrierSpec::default()
        }),
        ..OrderSpec::default()
    }
}

fn text(value: &Value, name: &str) -> String {
    match &value[name] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn id(value: &Value) -> u64 {
    text(value, "id").parse().unwrap()
}

fn money(value: &Value, name: &str) -> Money {
    text(value, name).parse::<Money>().unwrap()
}

/// Reads every page from `offset` 0 until a short page.
async fn all_changed_since(client: &PrestaClient, date_upd: &str, count: u32) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut offset = Some(0);
    while let Some(next) = offset {
        let page = client
            .orders_changed_since(date_upd, next, count)
            .await
            .unwrap();
        offset = page.next_offset();
        pages.push(page);
    }
    pages
}

#[tokio::test]
async fn pages_without_a_total_and_follows_the_date_upd_cursor() {
    let (_running, shop, store, client) = shop().await;
    let created: Vec<u64> = (1..=120).map(|n| shop.create_order(order(n))).collect();

    let pages = all_changed_since(&client, "2000-01-01 00:00:00", PAGE_SIZE).await;
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [100, 20],
        "full pages until a short one"
    );
    let orders: Vec<&Value> = pages.iter().flat_map(|p| &p.items).collect();
    let ids: Vec<u64> = orders.iter().map(|o| id(o)).collect();
    assert_eq!(ids, created, "every order once, oldest change first");
    let updates: Vec<String> = orders.iter().map(|o| text(o, "date_upd")).collect();
    assert!(updates.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        orders[0]["associations"]["order_rows"].is_array(),
        "display=full"
    );

    // The cursor: from the newest change seen, inclusive, only that order and what changed.
    let newest = updates.last().unwrap().clone();
    shop.set_order_state(created[3], 4).unwrap();
    let changed = client.orders_changed_since(&newest, 0, 50).await.unwrap();
    let changed_ids: Vec<u64> = changed.items.iter().map(id).collect();
    assert_eq!(changed_ids, [created[119], created[3]]);
    assert_eq!(changed.next_offset(), None);
    assert_eq!(text(&changed.items[1], "current_state"), "4");

    // An exact page ends with an empty one.
    let pages = all_changed_since(&client, "2000-01-01 00:00:00", 60).await;
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [60, 60, 0]
    );

    let audit = store.audit_entries("shop", 20).await.unwrap();
    assert!(audit.iter().all(|e| e.status == Some(200)));
    assert!(audit[0].url.contains("limit=120%2C60"), "{}", audit[0].url);
}

#[tokio::test]
async fn backfill_reads_the_merchants_days() {
    let (_running, shop, _store, client) = shop().await;
    let at = |text: &str| {
        Some(chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap())
    };
    let mut ids = Vec::new();
    for (n, date) in [
        "2024-03-01 23:59:59",
        "2024-03-02 00:00:00",
        "2024-03-02 23:59:59",
        "2024-03-03 00:00:00",
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(shop.create_order(OrderSpec {
            date_add: at(date),
            ..order(n as u32)
        }));
    }
    let day = client
        .orders_created_between("2024-03-02 00:00:00", "2024-03-03 00:00:00", 0, 50)
        .await
        .unwrap();
    let read: Vec<u64> = day.items.iter().map(id).collect();
    assert_eq!(read, [ids[1], ids[2]], "[from, to): the day, and only it");
    let error = client
        .orders_created_between("2024-03-02", "2024-03-03", 0, 50)
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Config);
}

#[tokio::test]
async fn a_module_state_reaches_the_document_with_its_flags() {
    let (_running, shop, _store, client) = shop().await;
    // The client has read (and cached) the states before the module installs its own.
    assert!(client.order_states().await.unwrap().contains_key(&2));
    let state = shop.add_order_state(
        "Betaald via Mollie",
        StateFlags {
            module_name: "mollie".into(),
            paid: true,
            invoice: true,
            logable: true,
            ..StateFlags::default()
        },
    );
    let order_id = shop.create_order(OrderSpec {
        state_id: 10,
        ..order(3)
    });
    shop.set_order_state(order_id, state).unwrap();

    let document = map_order(&client.bundle(order_id).await.unwrap()).unwrap();
    assert_eq!(document.status, "betaald-via-mollie");
    assert_eq!(document.custom_fields["state_id"], state.to_string());
    assert_eq!(
        document.custom_fields["state_flags"],
        "paid,invoice,logable"
    );
    assert_eq!(document.custom_fields["state_module"], "mollie");
    assert!(
        document.paid_at.is_some(),
        "paid when it entered the module's state"
    );

    let waiting = map_order(
        &client
            .bundle(shop.create_order(OrderSpec {
                state_id: 10,
                ..order(4)
            }))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(waiting.status, "awaiting-bank-wire-payment");
    assert_eq!(waiting.custom_fields["state_flags"], "");
    assert_eq!(waiting.paid_at, None);
}

#[tokio::test]
async fn credit_slips_map_to_credit_notes_of_the_slips_amount() {
    let (_running, shop, _store, client) = shop().await;
    let order_id = shop.create_order(OrderSpec {
        lines: vec![
            LineSpec {
                product_id: 1,
                quantity: 2,
                ..LineSpec::default()
            },
            LineSpec {
                product_id: 6,
                quantity: 3,
                ..LineSpec::default()
            },
        ],
        ..order(1)
    });
    let lines_slip = shop.create_order_slip(
        order_id,
        SlipSpec {
            lines: vec![SlipLine {
                product_id: 6,
                quantity: 1,
            }],
            refund_shipping: true,
            ..SlipSpec::default()
        },
    );
    let amount_slip = shop.create_order_slip(
        order_id,
        SlipSpec {
            lines: vec![SlipLine {
                product_id: 1,
                quantity: 1,
            }],
            amount: Some(dec!(12.50)),
            ..SlipSpec::default()
        },
    );
    let bundle = client.bundle(order_id).await.unwrap();
    let order = map_order(&bundle).unwrap();
    let slips = client.order_slips_for(order_id).await.unwrap();
    assert_eq!(
        slips.iter().map(id).collect::<Vec<_>>(),
        [lines_slip, amount_slip]
    );

    let note = map_slip(&bundle, &slips[0]).unwrap();
    let stated = money(&slips[0], "amount") + money(&slips[0], "total_shipping_tax_incl");
    assert_eq!(note.total, -stated);
    assert_eq!(note.lines_total(), note.total);
    assert_eq!(note.source_ref.kind, DocumentKind::Refund);
    assert_eq!(note.number, format!("{}-S{lines_slip}", order.number));
    assert_eq!(
        note.refund_of.as_ref().unwrap().source_ref,
        order.source_ref
    );
    assert!(note.lines.iter().any(|l| l.kind == LineKind::Shipping));
    let mug = &note.lines[0];
    let ordered_mug = order
        .lines
        .iter()
        .find(|l| l.source_line_id == mug.source_line_id)
        .unwrap();
    assert_eq!(mug.quantity, Decimal::ONE);
    assert_eq!(mug.tax_rate, ordered_mug.tax_rate);
    assert_eq!(mug.description, ordered_mug.description);

    let chosen = map_slip(&bundle, &slips[1]).unwrap();
    assert_eq!(money(&slips[1], "amount"), "12.50".parse().unwrap());
    assert_eq!(chosen.total, "-12.50".parse().unwrap());
    assert_eq!(chosen.lines_total(), chosen.total);
}

#[tokio::test]
async fn every_demo_order_maps_to_the_cent() {
    let (_running, shop, _store, client) = shop().await;
    let ids = fixtures::demo_mix(&shop);
    assert_eq!(ids.len(), 12);
    let mut notes = 0;
    for order_id in ids {
        let bundle = client.bundle(order_id).await.unwrap();
        let document = map_order(&bundle).unwrap();
        let stated = money(&bundle.order, "total_paid_tax_incl");
        let stated_net = money(&bundle.order, "total_paid_tax_excl");
        assert_eq!(document.total, stated, "order {order_id}");
        assert_eq!(
            document.lines_total(),
            stated,
            "order {order_id}: {document:#?}"
        );
        assert_eq!(
            document.lines.iter().map(|l| l.total).sum::<Money>(),
            stated_net,
            "order {order_id}"
        );
        for line in &document.lines {
            assert!(
                line.tax_rate.is_some(),
                "order {order_id}: `{}` has no stated rate",
                line.description
            );
        }
        for slip in client.order_slips_for(order_id).await.unwrap() {
            let note = map_slip(&bundle, &slip).unwrap();
            assert_eq!(note.lines_total(), note.total);
            assert!(note.total.is_negative());
            notes += 1;
        }
    }
    assert!(notes >= 1, "the mix has a credit slip");
}

#[tokio::test]
async fn the_demo_mix_reads_as_a_dutch_shop_sees_it() {
    let (_running, shop, _store, client) = shop().await;
    let ids = fixtures::demo_mix(&shop);
    let document = |n: usize| {
        let client = client.clone();
        let id = ids[n - 1];
        async move { map_order(&client.bundle(id).await.unwrap()).unwrap() }
    };
    let rates = |d: &ledgerlink_core::Document| {
        d.lines
            .iter()
            .filter(|l| l.kind == LineKind::Product)
            .filter_map(|l| l.tax_rate)
            .collect::<HashSet<Decimal>>()
    };

    let nl = document(1).await;
    assert_eq!(rates(&nl), HashSet::from([dec!(9), dec!(21)]));
    assert_eq!(nl.customer.kind, ledgerlink_core::CustomerKind::Private);

    let voucher = document(2).await;
    assert!(voucher.lines.iter().any(|l| l.kind == LineKind::Discount));

    let be = document(3).await;
    assert_eq!(be.customer.kind, ledgerlink_core::CustomerKind::Business);
    assert!(be.customer.vat_number.is_some());
    assert_eq!(be.destination().country.code(), "BE");
    assert!(be.total_tax.is_zero());

    let wrapped = document(5).await;
    assert!(wrapped.lines.iter().any(|l| l.kind == LineKind::Fee));

    let usd = document(7).await;
    assert_eq!(usd.currency.code(), "USD");
    assert_eq!(usd.custom_fields["conversion_rate"], "1.085");
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_that_says_what_to_check() {
    let (running, shop) = PrestaSandbox::start(PrestaConfig::default(), 0)
        .await
        .unwrap();
    let (_, refused) = client(&running.base_url(), "WRONGKEYWRONGKEYWRONGKEYWRONGKEY").await;
    let error = refused.order(1).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Auth);
    assert!(
        error
            .message_for_user
            .contains("Advanced Parameters > Webservice")
            && error.message_for_user.contains("View (GET) orders"),
        "{}",
        error.message_for_user
    );
    let (_, client) = client(&running.base_url(), &shop.config().api_key).await;
    assert_eq!(
        client.order(999).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn the_api_key_never_reaches_the_audit_log() {
    let (_running, shop, store, client) = shop().await;
    let key = shop.config().api_key.clone();
    let ids = fixtures::demo_mix(&shop);
    for id in &ids {
        client.bundle(*id).await.unwrap();
        client.order_slips_for(*id).await.unwrap();
    }
    client.order(999_999).await.unwrap_err();
    let audit = store.audit_entries("shop", 1000).await.unwrap();
    assert!(audit.len() > 20);
    for entry in &audit {
        for text in [
            Some(&entry.url),
            entry.request_body.as_ref(),
            entry.response_body.as_ref(),
            entry.error.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(!text.contains(&key), "the key in {}", entry.url);
            assert!(!text.contains("$2y$"), "a password hash in {}", entry.url);
        }
    }
    assert!(audit.iter().any(|e| e.url.contains("order_states")));
    // An order's secure key (what its payment and tracking links are signed with) is
    // redacted wherever the shop sends it.
    let bodies: Vec<&str> = audit
        .iter()
        .filter_map(|e| e.response_body.as_deref())
        .collect();
    assert!(bodies.iter().any(|b| b.contains("\"secure_key\"")));
    for body in bodies {
        assert_eq!(
            body.matches("\"secure_key\":\"").count(),
            body.matches("\"secure_key\":\"[redacted]\"").count()
        );
    }
}
