//! VAT identification numbers, normalised at the edge (prefix upper-case, separators removed).
//!
//! This type guarantees the shape a VAT number can have at all: an EU (or XI) prefix and 2–12
//! letters or digits, with the separators people write (spaces, dots, dashes, colons,
//! slashes, the Belgian "(0)") removed. The per-country formats and checksums are a rule of their own
//! (`vat_number` in the rules crate), because a merchant may choose to book an order whose
//! number fails them, with a different VAT treatment.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Country;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VatNumber {
    country: Country,
    /// The part after the prefix, upper-case, without separators.
    body: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{input}` is not a VAT number: {reason}")]
pub struct VatNumberParseError {
    pub input: String,
    pub reason: &'static str,
}

impl VatNumber {
    pub fn country(&self) -> Country {
        self.country
    }

    pub fn prefix(&self) -> &str {
        self.country.vat_prefix()
    }

    pub fn body(&self) -> &str {
        &self.body
    }
}

impl FromStr for VatNumber {
    type Err = VatNumberParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| VatNumberParseError {
            input: input.to_string(),
            reason,
        };
        let compact: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | ':' | '/' | '(' | ')' | '\u{a0}'))
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.len() < 4 || !compact.is_char_boundary(2) {
            return Err(fail("it is too short"));
        }
        let (prefix, body) = compact.split_at(2);
        let country = Country::from_vat_prefix(prefix)
            .map_err(|_| fail("it does not start with a country prefix such as NL or BE"))?;
        if country.code() == "GR" && prefix != "EL" {
            return Err(fail("Greek VAT numbers start with EL, not GR"));
        }
        if !country.in_eu_vat_area_for_goods() {
            return Err(fail("the prefix is not an EU member state or XI"));
        }
        if !(2..=12).contains(&body.len()) || !body.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(fail(
                "after the prefix it must have 2 to 12 letters or digits",
            ));
        }
        Ok(VatNumber {
            country,
            body: body.to_string(),
        })
    }
}

impl TryFrom<String> for VatNumber {
    type Error = VatNumberParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<VatNumber> for String {
    fn from(value: VatNumber) -> Self {
        value.to_string()
    }
}

impl fmt::Display for VatNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.prefix(), self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_separators_and_case() {
        let vat: VatNumber = "be 0477.472.701".parse().unwrap();
        assert_eq!(vat.to_string(), "BE0477472701");
        assert_eq!(vat.country().code(), "BE");
    }

    #[test]
    fn reads_the_ways_people_write_them() {
        for (written, read) in [
            ("BE (0)468.561.072", "BE0468561072"),
            ("DK: 21599336", "DK21599336"),
            ("CZ 640229/4448", "CZ6402294448"),
        ] {
            assert_eq!(written.parse::<VatNumber>().unwrap().to_string(), read);
        }
    }

    #[test]
    fn greece_uses_el() {
        let vat: VatNumber = "EL094259216".parse().unwrap();
        assert_eq!(vat.country().code(), "GR");
        assert_eq!(vat.to_string(), "EL094259216");
        assert!("GR094259216".parse::<VatNumber>().is_err());
    }

    #[test]
    fn northern_ireland_is_accepted() {
        assert!("XI123456789".parse::<VatNumber>().is_ok());
    }

    #[test]
    fn rejects_non_eu_and_malformed() {
        for bad in [
            "",
            "NL",
            "US123456789",
            "GB123456789",
            "NL12345678901234",
            "NL12#4",
        ] {
            assert!(bad.parse::<VatNumber>().is_err(), "{bad}");
        }
    }
}
