//! Which relation a document is booked on, and how it is found or created in the target.

use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{Document, PlanCustomer};

use crate::{BookingSettings, Decision};

pub fn plan_customer(
    document: &Document,
    settings: &BookingSettings,
) -> Result<PlanCustomer, Decision> {
    let customer = &document.customer;
    let chosen = match settings.customer_match {
        CustomerMatch::Email => customer.email.as_ref().map(|e| e.to_string()),
        CustomerMatch::CustomerNumber => customer.source_id.clone(),
        CustomerMatch::VatNumber => customer.vat_number.as_ref().map(|v| v.to_string()),
    };
    // Guests have no customer number and private customers no VAT number: fall back to the
    // e-mail address, which every checkout asks for.
    let (match_on, match_value) = match (chosen, &customer.email) {
        (Some(value), _) => (settings.customer_match, value),
        (None, Some(email)) => (CustomerMatch::Email, email.to_string()),
        (None, None) => {
            return Err(Decision::Hold {
                reason: format!(
                    "Document {} has no customer {} and no valid e-mail address{}, so the relation cannot be matched. Fill in the customer's e-mail address in the shop, then retry.",
                    document.number,
                    match settings.customer_match {
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
    Ok(PlanCustomer {
        match_on,
        match_value,
        kind: customer.kind,
        name: customer
            .company
            .clone()
            .unwrap_or_else(|| customer.name.clone()),
        email: customer.email.clone(),
        phone: customer.phone.clone(),
        vat_number: customer.vat_number.clone(),
        vies_consultation: None,
        address: document.billing.clone(),
        country: document.billing.country,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    #[test]
    fn company_name_wins_for_business_customers() {
        let plan = plan_customer(&eu_b2b_order(), &settings()).unwrap();
        assert_eq!(plan.name, "Brouwerij De Klok BV");
        assert_eq!(plan.match_on, CustomerMatch::Email);
    }

    #[test]
    fn guest_falls_back_to_email_for_customer_number() {
        let mut settings = settings();
        settings.customer_match = CustomerMatch::CustomerNumber;
        let mut order = domestic_order();
        order.customer.source_id = None;
        let plan = plan_customer(&order, &settings).unwrap();
        assert_eq!(plan.match_on, CustomerMatch::Email);
        assert_eq!(plan.match_value, "jan@example.nl");
    }

    #[test]
    fn no_way_to_match_holds() {
        let mut order = domestic_order();
        order.customer.email = None;
        order.customer.invalid_email = Some("jan@@x".into());
        let Err(Decision::Hold { reason }) = plan_customer(&order, &settings()) else {
            panic!()
        };
        assert!(reason.contains("`jan@@x` is not one"), "{reason}");
    }
}
