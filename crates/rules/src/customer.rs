//! Which relation a document is booked on, and how it is found or created in the target:
//! business and private customers by rules of their own, private ones optionally on a
//! collective debtor, a classification set by rule, and the e-mail address checked first.

use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{CustomerKind, Document, Email, PlanCustomer};

use crate::effects::Effects;
use crate::settings::{ClassificationRule, OnInvalidEmail};
use crate::{email_check, BookingSettings, Decision};

pub fn plan_customer(
    document: &Document,
    settings: &BookingSettings,
    effects: &mut Effects,
) -> Result<PlanCustomer, Decision> {
    let customer = &document.customer;
    let email = checked_email(document, settings, effects)?;
    let email_replaced = email.is_some() && email != customer.email;
    let classification = classify(document, settings);
    match &classification {
        Some(code) => effects.note("classification", format!("relation classified `{code}`")),
        None if settings.classifications.is_empty() => effects.off("classification"),
        None => effects.note("classification", "no rule matches: none set".into()),
    }
    let delivery_address = document
        .shipping
        .as_ref()
        .filter(|shipping| **shipping != document.billing)
        .cloned();
    let mut planned = PlanCustomer {
        match_on: CustomerMatch::Email,
        match_value: String::new(),
        kind: customer.kind,
        name: customer
            .company
            .clone()
            .unwrap_or_else(|| customer.name.clone()),
        email,
        phone: customer.phone.clone(),
        vat_number: customer.vat_number.clone(),
        vies_consultation: None,
        address: document.billing.clone(),
        country: document.billing.country,
        delivery_address,
        classification,
        collective: false,
    };
    if let Some(number) = collective_debtor(document, settings) {
        effects.note(
            "collective_debtor",
            format!("private customer booked on the collective relation {number}"),
        );
        effects.note(
            "customers",
            format!(
                "{} is not created in the ledger: the sale is booked on relation {number}",
                planned.name
            ),
        );
        planned.match_on = CustomerMatch::CustomerNumber;
        planned.match_value = number.clone();
        planned.collective = true;
        return Ok(planned);
    }
    if settings.customers.private.collective_debtor.is_some() {
        effects.note(
            "collective_debtor",
            match customer.kind {
                CustomerKind::Business => {
                    "business customer: booked on a relation of its own".into()
                }
                CustomerKind::Private => format!(
                    "no collective relation for {}: booked on a relation of its own",
                    document.billing.country
                ),
            },
        );
    } else {
        effects.off("collective_debtor");
    }
    let wanted = match customer.kind {
        CustomerKind::Business => settings.customers.business.match_on,
        CustomerKind::Private => settings.customers.private.match_on,
    }
    .unwrap_or(settings.customer_match);
    // A fallback address is shared by every customer it stands in for: never a match value.
    let own_email = planned.email.as_ref().filter(|_| !email_replaced);
    let chosen = match wanted {
        CustomerMatch::Email => own_email.map(|e| e.to_string()),
        CustomerMatch::CustomerNumber => customer.source_id.clone(),
        CustomerMatch::VatNumber => customer.vat_number.as_ref().map(|v| v.to_string()),
    };
    // Guests have no customer number and private customers no VAT number: fall back to the
    // e-mail address, which every checkout asks for.
    let (match_on, match_value) = match (chosen, own_email) {
        (Some(value), _) => (wanted, value),
        (None, Some(email)) => (CustomerMatch::Email, email.to_string()),
        (None, None) => {
            return Err(Decision::Hold {
                reason: format!(
                    "Document {} has no customer {} and no valid e-mail address{}, so the relation cannot be matched. Fill in the customer's e-mail address in the shop, then retry.",
                    document.number,
                    match wanted {
                        CustomerMatch::Email => "e-mail",
                        CustomerMatch::CustomerNumber => "number",
                        CustomerMatch::VatNumber => "VAT number",
                    },
                    customer
                        .invalid_email
                        .as_ref()
                        .map(|e| format!(" (`{e}` is not one)"))
                        .unwrap_or_default()
                ),
            })
        }
    };
    effects.note(
        "customers",
        format!(
            "{} customer matched on {} `{match_value}`, created with its details if not found{}",
            match customer.kind {
                CustomerKind::Business => "business",
                CustomerKind::Private => "private",
            },
            match match_on {
                CustomerMatch::Email => "e-mail",
                CustomerMatch::CustomerNumber => "customer number",
                CustomerMatch::VatNumber => "VAT number",
            },
            if planned.delivery_address.is_some() {
                "; the delivery address is kept as its own address"
            } else {
                ""
            }
        ),
    );
    planned.match_on = match_on;
    planned.match_value = match_value;
    Ok(planned)
}

/// The collective relation for a private customer, when the merchant books them on one.
fn collective_debtor<'a>(document: &Document, settings: &'a BookingSettings) -> Option<&'a String> {
    if document.customer.kind != CustomerKind::Private {
        return None;
    }
    settings
        .customers
        .private
        .collective_debtor
        .as_ref()?
        .for_country(document.billing.country)
}

fn classify(document: &Document, settings: &BookingSettings) -> Option<String> {
    let applies = |rule: &ClassificationRule| {
        let customer = &document.customer;
        let country = document.billing.country;
        rule.kind.is_none_or(|k| k == customer.kind)
            && (rule.countries.is_empty() || rule.countries.contains(&country))
            && rule.customer_group.as_ref().is_none_or(|g| {
                customer
                    .group
                    .as_ref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(g))
            })
            && rule
                .foreign
                .is_none_or(|foreign| foreign == (country != settings.home_country))
    };
    settings
        .classifications
        .iter()
        .find(|rule| applies(rule))
        .map(|rule| rule.classification.clone())
}

/// The e-mail address to book with, after the e-mail check module has had its say.
fn checked_email(
    document: &Document,
    settings: &BookingSettings,
    effects: &mut Effects,
) -> Result<Option<Email>, Decision> {
    let customer = &document.customer;
    let Some(check) = &settings.email_check else {
        effects.off("email_check");
        return Ok(customer.email.clone());
    };
    let problem = match (&customer.email, &customer.invalid_email) {
        (Some(email), _) => email_check::undeliverable_reason(email)
            .map(|reason| (email.to_string(), reason.to_string())),
        (None, Some(invalid)) => Some((invalid.clone(), "it is not an e-mail address".into())),
        (None, None) => None,
    };
    let Some((address, reason)) = problem else {
        effects.note(
            "email_check",
            match &customer.email {
                Some(email) => format!("`{email}` passed"),
                None => "the shop gave no address".into(),
            },
        );
        return Ok(customer.email.clone());
    };
    let suggestion = customer
        .email
        .as_ref()
        .and_then(email_check::suggested_domain)
        .map(|domain| format!(" (did the customer mean @{domain}?)"))
        .unwrap_or_default();
    match check.on_invalid {
        OnInvalidEmail::Hold => Err(Decision::Hold {
            reason: format!(
                "The e-mail address `{address}` of document {} is not usable: {reason}{suggestion}. Correct it in the shop, then retry.",
                document.number
            ),
        }),
        OnInvalidEmail::Drop => {
            effects.note(
                "email_check",
                format!("`{address}` left out: {reason}{suggestion}"),
            );
            Ok(None)
        }
        OnInvalidEmail::Fallback => {
            let fallback = check.fallback.clone();
            effects.note(
                "email_check",
                format!(
                    "`{address}` replaced by `{}`: {reason}{suggestion}",
                    fallback.as_ref().map(Email::as_str).unwrap_or_default()
                ),
            );
            Ok(fallback)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::settings::{CollectiveDebtor, EmailCheck};

    fn plan(document: &Document, settings: &BookingSettings) -> Result<PlanCustomer, Decision> {
        plan_customer(document, settings, &mut Effects::default())
    }

    #[test]
    fn company_name_wins_for_business_customers() {
        let plan = plan(&eu_b2b_order(), &settings()).unwrap();
        assert_eq!(plan.name, "Brouwerij De Klok BV");
        assert_eq!(plan.match_on, CustomerMatch::Email);
    }

    #[test]
    fn guest_falls_back_to_email_for_customer_number() {
        let mut settings = settings();
        settings.customer_match = CustomerMatch::CustomerNumber;
        let mut order = domestic_order();
        order.customer.source_id = None;
        let plan = plan(&order, &settings).unwrap();
        assert_eq!(plan.match_on, CustomerMatch::Email);
        assert_eq!(plan.match_value, "jan@example.nl");
    }

    #[test]
    fn no_way_to_match_holds() {
        let mut order = domestic_order();
        order.customer.email = None;
        order.customer.invalid_email = Some("jan@@x".into());
        let Err(Decision::Hold { reason }) = plan(&order, &settings()) else {
            panic!()
        };
        assert!(reason.contains("`jan@@x` is not one"), "{reason}");
    }

    #[test]
    fn business_and_private_customers_match_on_their_own_field() {
        let mut settings = settings();
        settings.customers.business.match_on = Some(CustomerMatch::VatNumber);
        let business = plan(&eu_b2b_order(), &settings).unwrap();
        assert_eq!(business.match_on, CustomerMatch::VatNumber);
        assert_eq!(business.match_value, "BE0477472701");
        let private = plan(&domestic_order(), &settings).unwrap();
        assert_eq!(private.match_on, CustomerMatch::Email);
    }

    #[test]
    fn private_customers_go_to_the_collective_debtor_of_their_country() {
        let mut settings = settings();
        settings.customers.private.collective_debtor = Some(CollectiveDebtor {
            default: Some("9999".into()),
            by_country: [("BE".parse().unwrap(), "9998".to_string())].into(),
        });
        let mut effects = Effects::default();
        let private = plan_customer(&domestic_order(), &settings, &mut effects).unwrap();
        assert_eq!(
            (
                private.match_on,
                private.match_value.as_str(),
                private.collective
            ),
            (CustomerMatch::CustomerNumber, "9999", true)
        );
        assert!(effects
            .into_vec()
            .iter()
            .any(|e| e.module == "collective_debtor" && e.effect.contains("9999")));
        let mut belgian = domestic_order();
        belgian.billing.country = "BE".parse().unwrap();
        assert_eq!(plan(&belgian, &settings).unwrap().match_value, "9998");
        let business = plan(&eu_b2b_order(), &settings).unwrap();
        assert!(!business.collective);
        assert_eq!(business.match_value, "jan@example.nl");
    }

    #[test]
    fn classification_follows_the_first_matching_rule() {
        let mut settings = settings();
        settings.classifications = vec![
            ClassificationRule {
                customer_group: Some("wholesale".into()),
                classification: "GROOTHANDEL".into(),
                ..Default::default()
            },
            ClassificationRule {
                kind: Some(CustomerKind::Business),
                foreign: Some(true),
                classification: "B2B-EU".into(),
                ..Default::default()
            },
            ClassificationRule {
                kind: Some(CustomerKind::Private),
                countries: vec!["NL".parse().unwrap()],
                classification: "B2C-NL".into(),
                ..Default::default()
            },
        ];
        let classify = |d: &Document| plan(d, &settings).unwrap().classification;
        assert_eq!(classify(&domestic_order()).as_deref(), Some("B2C-NL"));
        assert_eq!(classify(&eu_b2b_order()).as_deref(), Some("B2B-EU"));
        let mut wholesale = eu_b2b_order();
        wholesale.customer.group = Some("Wholesale".into());
        assert_eq!(classify(&wholesale).as_deref(), Some("GROOTHANDEL"));
        let mut german = domestic_order();
        german.billing.country = "DE".parse().unwrap();
        assert_eq!(classify(&german), None);
    }

    #[test]
    fn the_email_check_drops_falls_back_or_holds() {
        let mut order = domestic_order();
        order.customer.email = Some("jan@gmial.com".parse().unwrap());
        let mut settings = settings();
        settings.customer_match = CustomerMatch::CustomerNumber;
        settings.email_check = Some(EmailCheck {
            on_invalid: OnInvalidEmail::Drop,
            fallback: None,
        });
        let dropped = plan(&order, &settings).unwrap();
        assert_eq!(dropped.email, None);
        assert_eq!(dropped.match_on, CustomerMatch::CustomerNumber);

        settings.email_check = Some(EmailCheck {
            on_invalid: OnInvalidEmail::Fallback,
            fallback: Some("administratie@shop.nl".parse().unwrap()),
        });
        let fallback = plan(&order, &settings).unwrap();
        assert_eq!(fallback.email.unwrap().as_str(), "administratie@shop.nl");
        // Matched on the customer number, never on the shared fallback address.
        assert_eq!(fallback.match_on, CustomerMatch::CustomerNumber);
        let mut guest = order.clone();
        guest.customer.source_id = None;
        assert!(matches!(
            plan(&guest, &settings),
            Err(Decision::Hold { .. })
        ));

        settings.email_check = Some(EmailCheck {
            on_invalid: OnInvalidEmail::Hold,
            fallback: None,
        });
        let Err(Decision::Hold { reason }) = plan(&order, &settings) else {
            panic!()
        };
        assert!(
            reason.contains("`jan@gmial.com`") && reason.contains("gmail.com"),
            "{reason}"
        );
        order.customer.email = Some("jan@example.nl".parse().unwrap());
        assert!(plan(&order, &settings).unwrap().email.is_some());
    }

    #[test]
    fn a_separate_delivery_address_is_kept() {
        let mut order = domestic_order();
        assert_eq!(plan(&order, &settings()).unwrap().delivery_address, None);
        let mut elsewhere = order.billing.clone();
        elsewhere.line1 = "Magazijnweg 7".into();
        order.shipping = Some(elsewhere.clone());
        assert_eq!(
            plan(&order, &settings()).unwrap().delivery_address,
            Some(elsewhere)
        );
    }
}
