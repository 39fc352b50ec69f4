//! Countries by ISO 3166-1 alpha-2 code, with what VAT needs to know about them.
//!
//! Two quirks matter for VAT: Greece is `GR` in addresses but `EL` in VAT numbers and VIES, and
//! Northern Ireland (`XI`) is inside the EU VAT area for goods although part of the UK.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a country: use the two-letter ISO 3166 code, e.g. NL, BE or DK")]
pub struct CountryParseError(pub String);

/// The 27 member states by ISO code (Greece as GR).
const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

impl Country {
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("country codes are ASCII")
    }

    /// A member state of the European Union.
    pub fn is_eu_member(&self) -> bool {
        EU_MEMBERS.contains(&self.code())
    }

    /// Inside the EU VAT area for goods: the member states plus Northern Ireland.
    pub fn in_eu_vat_area_for_goods(&self) -> bool {
        self.is_eu_member() || self.code() == "XI"
    }

    /// The prefix this country's VAT numbers carry (`EL` for Greece).
    pub fn vat_prefix(&self) -> &str {
        match self.code() {
            "GR" => "EL",
            code => code,
        }
    }

    /// The country a VAT-number prefix belongs to (`EL` → GR).
    pub fn from_vat_prefix(prefix: &str) -> Result<Country, CountryParseError> {
        match prefix.to_ascii_uppercase().as_str() {
            "EL" => "GR".parse(),
            other => other.parse(),
        }
    }
}

impl FromStr for Country {
    type Err = CountryParseError;

    /// Accepts an ISO code in any case; `EL` (the VAT spelling) is read as Greece, `UK` as GB.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let upper = input.trim().to_ascii_uppercase();
        let normalised = match upper.as_str() {
            "EL" => "GR",
            "UK" => "GB",
            other => other,
        };
        let bytes: [u8; 2] = normalised
            .as_bytes()
            .try_into()
            .map_err(|_| CountryParseError(input.to_string()))?;
        if bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Country(bytes))
        } else {
            Err(CountryParseError(input.to_string()))
        }
    }
}

impl TryFrom<String> for Country {
    type Error = CountryParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Country> for String {
    fn from(value: Country) -> Self {
        value.code().to_string()
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Country {
        code.parse().unwrap()
    }

    #[test]
    fn greece_has_two_spellings() {
        assert_eq!(c("EL"), c("GR"));
        assert_eq!(c("gr").vat_prefix(), "EL");
        assert_eq!(Country::from_vat_prefix("EL").unwrap(), c("GR"));
        assert!(c("GR").is_eu_member());
    }

    #[test]
    fn northern_ireland_is_in_the_vat_area_for_goods_only() {
        assert!(!c("XI").is_eu_member());
        assert!(c("XI").in_eu_vat_area_for_goods());
        assert!(!c("GB").in_eu_vat_area_for_goods());
    }

    #[test]
    fn eu_has_27_members() {
        assert_eq!(EU_MEMBERS.len(), 27);
        assert!(c("NL").is_eu_member() && c("DK").is_eu_member());
        assert!(!c("NO").is_eu_member() && !c("CH").is_eu_member() && !c("US").is_eu_member());
    }

    #[test]
    fn rejects_non_codes() {
        for bad in ["", "N", "NLD", "1A"] {
            assert!(bad.parse::<Country>().is_err(), "{bad}");
        }
    }
}
