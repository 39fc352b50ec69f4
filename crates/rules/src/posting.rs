//! Posting mode: every document an entry of its own, or the private sales of a day summarised
//! in one entry per VAT treatment. A summary is only a different grouping of plans the other
//! rules already made: its lines add up the members' lines, so it reconciles to the cent when
//! they do, and it keeps the list of the documents it covers.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ledgerlink_core::plan::PlanLine;
use ledgerlink_core::{
    Address, BookingPlan, Currency, CustomerKind, EntryKind, ModuleEffect, Money, PlanCustomer,
};
use serde::{Deserialize, Serialize};

use crate::settings::{PostingMode, PostingSettings};
use crate::BookingSettings;

/// The ledger's document kind of a summary entry.
pub const SUMMARY_KIND: &str = "summary";

/// The documents one summary entry covers share all of these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryGroup {
    pub day: NaiveDate,
    pub currency: Currency,
    pub journal: String,
    /// The collective relation's customer number.
    pub relation: String,
    /// The VAT treatment of the documents' lines: `domestic`, `oss/DE`, `export`, …
    pub treatment: String,
}

impl SummaryGroup {
    /// Identifies the group in the ledger.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.day, self.currency, self.journal, self.relation, self.treatment
        )
    }

    /// When the day is over for the summary: no document of it is expected any more.
    pub fn closes_at(&self, posting: &PostingSettings) -> DateTime<Utc> {
        let next_day = self.day.succ_opt().unwrap_or(self.day);
        next_day.and_time(chrono::NaiveTime::MIN).and_utc()
            + Duration::hours(i64::from(posting.close_after_hours))
    }

    /// The start of the summaries' references of this day; the ledger appends a sequence
    /// number (`WC-S20261124-1`).
    pub fn reference_prefix(&self, settings: &BookingSettings) -> String {
        format!(
            "{}S{}-",
            settings.reference_prefix,
            self.day.format("%Y%m%d")
        )
    }
}

/// The summary a planned document joins, or `None` when it is booked on its own: only sales
/// to private customers on a collective debtor are summarised.
pub fn summary_group(plan: &BookingPlan, settings: &BookingSettings) -> Option<SummaryGroup> {
    let summarised = settings.posting.mode == PostingMode::DailySummary
        && plan.kind == EntryKind::SalesEntry
        && plan.customer.kind == CustomerKind::Private
        && plan.customer.collective;
    summarised.then(|| SummaryGroup {
        day: plan.entry_date,
        currency: plan.currency,
        journal: plan.journal.clone(),
        relation: plan.customer.match_value.clone(),
        treatment: document_treatment(plan),
    })
}

/// What the posting mode does with a plan, for the dry run.
pub fn effect(plan: &BookingPlan, settings: &BookingSettings) -> String {
    match (settings.posting.mode, summary_group(plan, settings)) {
        (PostingMode::PerDocument, _) => "one entry per document".into(),
        (PostingMode::DailySummary, Some(group)) => format!(
            "joins the daily summary of {} ({}, {}, relation {}), booked after {}",
            group.day,
            group.treatment,
            group.currency,
            group.relation,
            group
                .closes_at(&settings.posting)
                .format("%Y-%m-%d %H:%M UTC")
        ),
        (PostingMode::DailySummary, None) => {
            let why = if plan.kind == EntryKind::CreditNote {
                "refunds are credit notes of their own"
            } else if plan.customer.kind == CustomerKind::Business {
                "business customers are booked one by one"
            } else {
                "the customer is not on a collective debtor"
            };
            format!("an entry of its own: {why}")
        }
    }
}

/// The treatments of a plan's lines, without the VAT rate: the summaries a day's sales are
/// split into (`domestic`, `oss/DE`, `export`, or several joined by `+`).
fn document_treatment(plan: &BookingPlan) -> String {
    let treatments: BTreeSet<String> = plan
        .lines
        .iter()
        .filter(|l| l.vat_treatment != "none")
        .map(|l| {
            let mut parts = l.vat_treatment.split('/');
            match (parts.next(), parts.next()) {
                (Some("oss"), Some(country)) => format!("oss/{country}"),
                (Some(kind), _) => kind.to_string(),
                (None, _) => String::new(),
            }
        })
        .collect();
    if treatments.is_empty() {
        "none".into()
    } else {
        treatments.into_iter().collect::<Vec<_>>().join("+")
    }
}

/// One entry for the plans of a group: a line per (account, VAT code, treatment) with the
/// members' amounts added up, and the members' references in the line notes and `covers`.
/// `Err` says why the members cannot be summarised together (a ledger fault, not the shop's).
pub fn summarise(
    reference: &str,
    group: &SummaryGroup,
    members: &[BookingPlan],
) -> Result<BookingPlan, String> {
    let Some(first) = members.first() else {
        return Err(format!("summary {reference} covers no documents"));
    };
    if let Some(stray) = members.iter().find(|m| {
        m.entry_date != group.day
            || m.currency != group.currency
            || m.journal != group.journal
            || m.customer.match_value != group.relation
            || m.kind != EntryKind::SalesEntry
    }) {
        return Err(format!(
            "document {} does not belong in summary {reference} ({})",
            stray.reference,
            group.key()
        ));
    }
    type LineKey = (String, String, String);
    let mut lines: BTreeMap<LineKey, (Money, Money, Vec<&str>)> = BTreeMap::new();
    for member in members {
        for line in &member.lines {
            let key = (
                line.account.clone(),
                line.vat_code.clone(),
                line.vat_treatment.clone(),
            );
            let entry = lines.entry(key).or_default();
            entry.0 += line.amount;
            entry.1 += line.vat_amount;
            if entry.2.last() != Some(&member.reference.as_str()) {
                entry.2.push(&member.reference);
            }
        }
    }
    let lines: Vec<PlanLine> = lines
        .into_iter()
        .map(
            |((account, vat_code, vat_treatment), (amount, vat_amount, covers))| PlanLine {
                description: format!(
                    "Sales {} {vat_treatment} ({} documents)",
                    group.day,
                    covers.len()
                ),
                extra: BTreeMap::from([("notes".to_string(), covers.join(", "))]),
                account,
                amount,
                vat_code,
                vat_amount,
                vat_treatment,
            },
        )
        .collect();
    let total: Money = members.iter().map(|m| m.total).sum();
    let total_vat: Money = members.iter().map(|m| m.total_vat).sum();
    let name = format!("Collective debtor {}", group.relation);
    let customer = PlanCustomer {
        match_on: first.customer.match_on,
        match_value: group.relation.clone(),
        kind: CustomerKind::Private,
        name: name.clone(),
        email: None,
        phone: None,
        vat_number: None,
        vies_consultation: None,
        // The relation exists in the target and is found by its number; no consumer's
        // address belongs on it.
        address: Address {
            name,
            company: None,
            line1: String::new(),
            line2: None,
            postcode: String::new(),
            city: String::new(),
            region: None,
            country: first.customer.country,
        },
        country: first.customer.country,
        delivery_address: None,
        classification: None,
        collective: true,
    };
    Ok(BookingPlan {
        reference: reference.to_string(),
        kind: EntryKind::SalesEntry,
        corrects_reference: None,
        entry_date: group.day,
        currency: group.currency,
        journal: group.journal.clone(),
        description: format!(
            "Daily summary {} {}: {} documents",
            group.day,
            group.treatment,
            members.len()
        ),
        customer,
        lines,
        total,
        total_vat,
        extra: BTreeMap::new(),
        payment: None,
        distance_sales: members.iter().map(|m| m.distance_sales).sum(),
        modules: vec![ModuleEffect {
            module: "posting_mode".into(),
            effect: format!(
                "daily summary of {} documents of {} ({})",
                members.len(),
                group.day,
                group.treatment
            ),
        }],
        covers: members.iter().map(|m| m.reference.clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::settings::CollectiveDebtor;
    use crate::{decide, Decision};
    use ledgerlink_core::Document;
    use rust_decimal::Decimal;

    fn summary_settings() -> BookingSettings {
        let mut settings = settings();
        settings.posting.mode = PostingMode::DailySummary;
        settings.customers.private.collective_debtor = Some(CollectiveDebtor {
            default: Some("9999".into()),
            by_country: Default::default(),
        });
        settings
    }

    fn plan_of(document: &Document, settings: &BookingSettings) -> BookingPlan {
        match decide(document, settings) {
            Decision::Book { plan } => *plan,
            other => panic!("expected a plan, got {other:?}"),
        }
    }

    fn numbered(number: &str) -> Document {
        let mut order = domestic_order();
        order.number = number.into();
        order.source_ref.id = number.into();
        order
    }

    #[test]
    fn private_sales_on_the_collective_debtor_join_the_days_summary() {
        let settings = summary_settings();
        let plan = plan_of(&domestic_order(), &settings);
        let group = summary_group(&plan, &settings).expect("summarised");
        assert_eq!(group.relation, "9999");
        assert_eq!(group.treatment, "domestic");
        assert_eq!(group.day, plan.entry_date);
        assert_eq!(
            group.closes_at(&settings.posting),
            (plan.entry_date + Duration::days(1))
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                + Duration::hours(2)
        );
        assert!(plan
            .modules
            .iter()
            .any(|m| m.module == "posting_mode" && m.effect.contains("joins the daily summary")));
    }

    #[test]
    fn business_customers_refunds_and_per_document_mode_are_booked_on_their_own() {
        let settings = summary_settings();
        let business = plan_of(&eu_b2b_order(), &settings);
        assert_eq!(summary_group(&business, &settings), None);
        assert!(effect(&business, &settings).contains("business customers"));

        let per_document_settings = crate::fixtures::settings();
        let per_document = plan_of(&domestic_order(), &per_document_settings);
        assert_eq!(summary_group(&per_document, &per_document_settings), None);

        let mut refund = plan_of(&domestic_order(), &settings);
        refund.kind = EntryKind::CreditNote;
        assert_eq!(summary_group(&refund, &settings), None);
        assert!(effect(&refund, &settings).contains("credit notes of their own"));

        let mut own_relation = plan_of(&domestic_order(), &settings);
        own_relation.customer.collective = false;
        assert_eq!(summary_group(&own_relation, &settings), None);
    }

    #[test]
    fn a_summary_adds_up_its_members_per_account_and_vat_code() {
        let settings = summary_settings();
        let members: Vec<BookingPlan> = ["1001", "1002", "1003"]
            .iter()
            .map(|n| plan_of(&numbered(n), &settings))
            .collect();
        let group = summary_group(&members[0], &settings).unwrap();
        let summary = summarise("WC-S20261124-1", &group, &members).unwrap();

        assert_eq!(summary.reference, "WC-S20261124-1");
        assert_eq!(summary.covers, ["WC-1001", "WC-1002", "WC-1003"]);
        // Three orders of 41.15 each.
        assert_eq!(summary.total, Money::new(Decimal::new(12345, 2)));
        assert_eq!(summary.lines_total(), summary.total);
        assert_eq!(
            summary.total_vat,
            members.iter().map(|m| m.total_vat).sum::<Money>()
        );
        // Each member has a 21% product, a 9% product and 21% shipping on its own account.
        let distinct: BTreeSet<(&str, &str)> = members[0]
            .lines
            .iter()
            .map(|l| (l.account.as_str(), l.vat_code.as_str()))
            .collect();
        assert_eq!(summary.lines.len(), distinct.len());
        for line in &summary.lines {
            assert_eq!(line.extra["notes"], "WC-1001, WC-1002, WC-1003");
            assert!(
                line.description.contains("(3 documents)"),
                "{}",
                line.description
            );
        }
        assert!(summary.customer.collective);
        assert_eq!(summary.customer.match_value, "9999");
        assert_eq!(summary.customer.email, None);
        assert_eq!(summary.customer.address.line1, "");
    }

    #[test]
    fn a_document_of_another_group_is_refused() {
        let settings = summary_settings();
        let first = plan_of(&numbered("1001"), &settings);
        let mut other_day = plan_of(&numbered("1002"), &settings);
        other_day.entry_date = other_day.entry_date.succ_opt().unwrap();
        let group = summary_group(&first, &settings).unwrap();
        let error = summarise("WC-S1", &group, &[first, other_day]).unwrap_err();
        assert!(error.contains("WC-1002"), "{error}");
        assert!(summarise("WC-S1", &group, &[]).is_err());
    }

    #[test]
    fn treatments_split_summaries_but_rates_do_not() {
        let settings = summary_settings();
        let mut plan = plan_of(&domestic_order(), &settings);
        assert_eq!(document_treatment(&plan), "domestic");
        plan.lines[0].vat_treatment = "oss/DE/19".into();
        assert_eq!(document_treatment(&plan), "domestic+oss/DE");
        for line in &mut plan.lines {
            line.vat_treatment = "none".into();
        }
        assert_eq!(document_treatment(&plan), "none");
    }

    #[test]
    fn summary_mode_without_a_collective_debtor_is_refused_at_load() {
        let mut settings = settings();
        settings.posting.mode = PostingMode::DailySummary;
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let problems = settings.validate(today).unwrap_err();
        assert!(
            problems.iter().any(|p| p.setting == "posting.mode"),
            "{problems:?}"
        );
        assert!(summary_settings().validate(today).is_ok());
    }
}
