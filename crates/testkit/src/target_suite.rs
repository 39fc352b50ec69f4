//! What the exactly-once protocol needs from every target: bookings found by reference,
//! uncertain outcomes resolved by looking up, rejections in the target's own words, expired
//! authentication recovered, credit notes booked.

use async_trait::async_trait;
use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{
    Address, BookingPlan, Currency, CustomerKind, EntryKind, ErrorKind, Money, PlanCustomer,
    PlanLine,
};
use ledgerlink_targets::Target;
use rust_decimal::Decimal;

/// How the suite reaches one target and provokes what it must survive.
#[async_trait]
pub trait TargetHarness: Send + Sync {
    fn target(&self) -> Target;
    /// The target's code for a revenue account, the VAT code for 21% and for 0% reverse
    /// charge, and its sales journal.
    fn revenue_account(&self) -> &str;
    fn vat_21(&self) -> &str;
    fn journal(&self) -> &str;
    /// The next booking write lands but its answer is lost.
    async fn lose_next_post_response(&self);
    /// The target's authentication expires (token or session), as after a night.
    async fn expire_authentication(&self);
    /// How many bookings the target holds with this reference (read from the target itself).
    async fn bookings_with_reference(&self, reference: &str) -> usize;
}

fn money(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2))
}

/// A plan the harness's target accepts: 100.00 + 21% and 4.95 shipping + 21%.
pub fn plan(harness: &dyn TargetHarness, reference: &str, kind: EntryKind) -> BookingPlan {
    let sign = if kind == EntryKind::CreditNote { -1 } else { 1 };
    let line = |description: &str, cents: i64| PlanLine {
        account: harness.revenue_account().to_string(),
        description: description.to_string(),
        amount: money(sign * cents),
        vat_code: harness.vat_21().to_string(),
        vat_amount: money(sign * cents).percent(Decimal::from(21)).round_cents(),
        vat_treatment: "domestic/21".to_string(),
        extra: Default::default(),
    };
    let lines = vec![line("Wollen deken", 10000), line("Verzending", 495)];
    let total = lines.iter().map(|l| l.amount + l.vat_amount).sum();
    let total_vat = lines.iter().map(|l| l.vat_amount).sum();
    let email = format!("{}@compliance.example.nl", reference.to_lowercase());
    BookingPlan {
        reference: reference.to_string(),
        kind,
        corrects_reference: None,
        // Today: ledgers such as Tryton number invoices in date order.
        entry_date: crate::site_today(),
        currency: Currency::EUR,
        journal: harness.journal().to_string(),
        description: format!("Compliance {reference}"),
        customer: PlanCustomer {
            match_on: CustomerMatch::Email,
            match_value: email.clone(),
            kind: CustomerKind::Private,
            name: "Compliance Klant".into(),
            email: Some(email.parse().expect("a valid e-mail")),
            phone: None,
            vat_number: None,
            vies_consultation: None,
            address: Address {
                name: "Compliance Klant".into(),
                company: None,
                line1: "Teststraat 1".into(),
                line2: None,
                postcode: "1234 AB".into(),
                city: "Utrecht".into(),
                region: None,
                country: "NL".parse().expect("NL"),
            },
            country: "NL".parse().expect("NL"),
            delivery_address: None,
            classification: None,
            collective: false,
        },
        lines,
        total,
        total_vat,
        extra: Default::default(),
        payment: None,
        distance_sales: Money::ZERO,
        modules: Vec::new(),
        covers: Vec::new(),
    }
}

async fn book(
    target: &Target,
    plan: &BookingPlan,
) -> Result<ledgerlink_targets::BookingRef, ledgerlink_core::ConnectorError> {
    let prepared = target.prepare(plan).await?;
    target.post(&prepared).await
}

/// Not found before, booked once, found after with the same id and total.
pub async fn books_once_and_finds_it_by_reference(harness: &dyn TargetHarness, reference: &str) {
    let target = harness.target();
    let plan = plan(harness, reference, EntryKind::SalesEntry);
    assert_eq!(
        target.find(reference, plan.kind).await.expect("find works"),
        None
    );
    let booked = book(&target, &plan).await.expect("a valid plan is booked");
    assert!(!booked.id.is_empty());
    let found = target
        .find(reference, plan.kind)
        .await
        .expect("find works")
        .expect("found after booking");
    assert_eq!(found.id, booked.id);
    assert_eq!(
        found.total,
        Some(plan.total),
        "the target's total equals the plan's"
    );
    assert_eq!(harness.bookings_with_reference(reference).await, 1);
}

/// A write whose answer is lost is uncertain, and looking it up finds the one booking.
pub async fn an_uncertain_write_is_resolved_by_looking_it_up(
    harness: &dyn TargetHarness,
    reference: &str,
) {
    let target = harness.target();
    let plan = plan(harness, reference, EntryKind::SalesEntry);
    let prepared = target.prepare(&plan).await.expect("prepared");
    harness.lose_next_post_response().await;
    let error = target
        .post(&prepared)
        .await
        .expect_err("the answer was lost");
    assert_eq!(error.kind, ErrorKind::Uncertain, "{error:?}");
    let found = target.find(reference, plan.kind).await.expect("find works");
    assert!(
        found.is_some(),
        "the write landed and is found by reference"
    );
    assert_eq!(harness.bookings_with_reference(reference).await, 1);
}

/// A plan the target cannot accept fails with a reason a person can act on, and books nothing.
pub async fn a_rejection_says_what_is_wrong(harness: &dyn TargetHarness, reference: &str) {
    let target = harness.target();
    let mut plan = plan(harness, reference, EntryKind::SalesEntry);
    plan.lines[0].account = "999999".into();
    let error = match target.prepare(&plan).await {
        Ok(prepared) => target
            .post(&prepared)
            .await
            .expect_err("an unknown account is refused"),
        Err(error) => error,
    };
    assert!(
        matches!(error.kind, ErrorKind::Rejected | ErrorKind::Config),
        "{error:?}"
    );
    assert!(
        error.message_for_user.contains("999999"),
        "the reason names the account: {}",
        error.message_for_user
    );
    assert_eq!(harness.bookings_with_reference(reference).await, 0);
}

/// Expired authentication is renewed without a person.
pub async fn expired_authentication_is_renewed(harness: &dyn TargetHarness, reference: &str) {
    let target = harness.target();
    harness.expire_authentication().await;
    assert_eq!(
        target
            .find(reference, EntryKind::SalesEntry)
            .await
            .expect("renewed and searched"),
        None
    );
    let plan = plan(harness, reference, EntryKind::SalesEntry);
    book(&target, &plan).await.expect("booked after renewal");
}

/// A credit note (negative amounts) is booked and found as one.
pub async fn a_credit_note_is_booked(harness: &dyn TargetHarness, reference: &str) {
    let target = harness.target();
    let plan = plan(harness, reference, EntryKind::CreditNote);
    let booked = book(&target, &plan).await.expect("a credit note is booked");
    assert_eq!(
        booked.total.map(|t| t.is_negative()),
        Some(true),
        "{booked:?}"
    );
    assert!(target
        .find(reference, EntryKind::CreditNote)
        .await
        .expect("find works")
        .is_some());
}
