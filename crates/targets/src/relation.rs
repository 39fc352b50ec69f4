//! What a target keeps of a relation ledgerlink created, to see what the shop changed since:
//! a digest of its master data (name, contact, VAT number, address, classification), one of
//! its delivery address and one of its billing address alone. A relation found in the target (made by the bookkeeper) has none and
//! is never changed from the shop.

use ledgerlink_core::PlanCustomer;
use serde_json::{json, Value};

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub(crate) relation: String,
    pub(crate) delivery: String,
    pub(crate) billing: String,
}

impl Fingerprint {
    pub(crate) fn of(customer: &PlanCustomer) -> Self {
        let address = |a: &ledgerlink_core::Address| {
            json!([
                a.name,
                a.company,
                a.line1,
                a.line2,
                a.postcode,
                a.city,
                a.country.code()
            ])
        };
        let relation = json!([
            customer.name,
            customer.email.as_ref().map(|e| e.as_str()),
            customer.phone,
            customer.vat_number.as_ref().map(ToString::to_string),
            address(&customer.address),
            customer.classification,
        ]);
        let delivery = json!(customer.delivery_address.as_ref().map(address));
        Fingerprint {
            relation: digest(&relation),
            delivery: digest(&delivery),
            billing: digest(&address(&customer.address)),
        }
    }

    /// As stored: `relation.delivery.billing`. A part missing (an older digest) counts as
    /// changed.
    pub(crate) fn parse(stored: &str) -> Self {
        let mut parts = stored.splitn(3, '.').map(str::to_string);
        Fingerprint {
            relation: parts.next().unwrap_or_default(),
            delivery: parts.next().unwrap_or_default(),
            billing: parts.next().unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.relation, self.delivery, self.billing)
    }
}

fn digest(value: &Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(value.to_string().as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledgerlink_core::plan::CustomerMatch;
    use ledgerlink_core::{Address, CustomerKind};

    fn customer() -> PlanCustomer {
        let address = Address {
            name: "Lotte Peeters".into(),
            company: None,
            line1: "Grote Markt 1".into(),
            line2: None,
            postcode: "2000".into(),
            city: "Antwerpen".into(),
            region: None,
            country: "BE".parse().unwrap(),
        };
        PlanCustomer {
            match_on: CustomerMatch::Email,
            match_value: "lotte@example.be".into(),
            kind: CustomerKind::Private,
            name: "Lotte Peeters".into(),
            email: Some("lotte@example.be".parse().unwrap()),
            phone: None,
            vat_number: None,
            vies_consultation: None,
            country: address.country,
            address,
            delivery_address: None,
            classification: None,
            collective: false,
        }
    }

    #[test]
    fn a_change_shows_in_the_part_it_belongs_to() {
        let before = Fingerprint::of(&customer());
        assert_eq!(Fingerprint::parse(&before.to_string()), before);

        let mut moved = customer();
        moved.address.city = "Gent".into();
        let after = Fingerprint::of(&moved);
        assert_ne!(after.relation, before.relation);
        assert_ne!(after.billing, before.billing);
        assert_eq!(after.delivery, before.delivery);

        let mut delivered = customer();
        delivered.delivery_address = Some(customer().address);
        let after = Fingerprint::of(&delivered);
        assert_eq!(after.relation, before.relation);
        assert_ne!(after.delivery, before.delivery);

        let mut classified = customer();
        classified.classification = Some("B2C".into());
        let after = Fingerprint::of(&classified);
        assert_ne!(after.relation, before.relation);
        assert_eq!(after.billing, before.billing);

        assert_ne!(
            Fingerprint::parse("0123abcd"),
            before,
            "an older digest is a change"
        );
    }
}
