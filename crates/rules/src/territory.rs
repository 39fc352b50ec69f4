//! Special territories: places whose addresses carry an EU member state's country code but lie
//! outside the EU VAT area for goods (Art. 6 of VAT Directive 2006/112/EC, and the French
//! overseas places outside the EU altogether). VAT on goods follows where they are delivered, so
//! a sale delivered to the Canary Islands or Réunion is an export at 0%, although the country
//! says ES or FR. Only the postcode tells them apart.
//!
//! The list errs towards the mainland: a postcode that merely might be a special territory is not
//! one, because booking a domestic sale as an export would leave VAT unpaid.

use ledgerlink_core::Country;

/// A place outside the EU VAT area although its country is a member state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialTerritory {
    pub name: &'static str,
}

/// Letters a postcode may start with besides the country's own code: the old one-letter vehicle
/// codes (`D-78266`), `EL` for Greece, and Åland's own ISO code `AX`.
const PREFIXES: &[(&str, &[&str])] = &[
    ("DE", &["D"]),
    ("ES", &["E"]),
    ("FI", &["FIN", "AX"]),
    ("FR", &["F"]),
    ("GR", &["EL"]),
    ("IT", &["I"]),
];

/// Country, start of the five-digit postcode, territory. The more specific entry comes first.
const TERRITORIES: &[(&str, &str, &str)] = &[
    ("ES", "35", "Canary Islands"),
    ("ES", "38", "Canary Islands"),
    ("ES", "51", "Ceuta"),
    ("ES", "52", "Melilla"),
    ("FI", "22", "Åland Islands"),
    ("DE", "78266", "Büsingen am Hochrhein"),
    ("DE", "27498", "Heligoland"),
    // Livigno and Campione once shared 23030 and 22060 with mainland villages (22060 still is
    // Carimate's); only their own postcodes are safe to read as outside the VAT area.
    ("IT", "23041", "Livigno"),
    ("IT", "22061", "Campione d'Italia"),
    ("GR", "63086", "Mount Athos"),
    ("GR", "63087", "Mount Athos"),
    // Saint-Barthélemy and Saint-Martin share Guadeloupe's postcodes but are territories of
    // their own; naming them right makes the reason readable.
    ("FR", "97133", "Saint Barthélemy"),
    ("FR", "97150", "Saint Martin"),
    ("FR", "971", "Guadeloupe"),
    ("FR", "972", "Martinique"),
    ("FR", "973", "French Guiana"),
    ("FR", "974", "Réunion"),
    ("FR", "975", "Saint Pierre and Miquelon"),
    ("FR", "976", "Mayotte"),
    // Not 98 as a whole: 980xx is Monaco, which is inside the French VAT area.
    ("FR", "984", "French Southern and Antarctic Lands"),
    ("FR", "986", "Wallis and Futuna"),
    ("FR", "987", "French Polynesia"),
    ("FR", "988", "New Caledonia"),
];

/// The special territory a delivery address lies in, if any.
pub fn special_territory(country: Country, postcode: &str) -> Option<SpecialTerritory> {
    let digits = postcode_digits(country, postcode)?;
    TERRITORIES
        .iter()
        .find(|(code, start, _)| *code == country.code() && digits.starts_with(start))
        .map(|&(_, _, name)| SpecialTerritory { name })
}

/// The five digits of a postcode written as `630 86`, `FI-22100` or `AX-22100`; `None` for
/// anything else.
fn postcode_digits(country: Country, postcode: &str) -> Option<String> {
    let compact: String = postcode
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    let letters = compact
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(compact.len());
    let (prefix, digits) = compact.split_at(letters);
    let prefix_ok = prefix.is_empty()
        || prefix == country.code()
        || PREFIXES
            .iter()
            .any(|(code, extra)| *code == country.code() && extra.contains(&prefix));
    (prefix_ok && digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn territory(country: &str, postcode: &str) -> Option<&'static str> {
        special_territory(country.parse().unwrap(), postcode).map(|t| t.name)
    }

    #[test]
    fn recognises_each_territory() {
        for (country, postcode, name) in [
            ("ES", "35001", "Canary Islands"),
            ("ES", "38001", "Canary Islands"),
            ("ES", "51001", "Ceuta"),
            ("ES", "52001", "Melilla"),
            ("FI", "22100", "Åland Islands"),
            ("DE", "78266", "Büsingen am Hochrhein"),
            ("DE", "27498", "Heligoland"),
            ("IT", "23041", "Livigno"),
            ("IT", "22061", "Campione d'Italia"),
            ("GR", "63086", "Mount Athos"),
            ("GR", "63087", "Mount Athos"),
            ("FR", "97100", "Guadeloupe"),
            ("FR", "97133", "Saint Barthélemy"),
            ("FR", "97150", "Saint Martin"),
            ("FR", "97200", "Martinique"),
            ("FR", "97300", "French Guiana"),
            ("FR", "97400", "Réunion"),
            ("FR", "97500", "Saint Pierre and Miquelon"),
            ("FR", "97600", "Mayotte"),
            ("FR", "98400", "French Southern and Antarctic Lands"),
            ("FR", "98600", "Wallis and Futuna"),
            ("FR", "98714", "French Polynesia"),
            ("FR", "98800", "New Caledonia"),
        ] {
            assert_eq!(
                territory(country, postcode),
                Some(name),
                "{country} {postcode}"
            );
        }
    }

    #[test]
    fn neighbouring_mainland_postcodes_are_not_special() {
        for (country, postcode) in [
            ("ES", "28001"),
            ("ES", "36001"),
            ("FI", "00100"),
            ("FI", "21100"),
            ("DE", "78262"),
            ("DE", "27472"),
            ("IT", "23030"),
            ("IT", "22060"),
            ("GR", "63075"),
            ("GR", "10557"),
            ("FR", "75001"),
            ("FR", "98000"),
        ] {
            assert_eq!(territory(country, postcode), None, "{country} {postcode}");
        }
    }

    #[test]
    fn postcode_belongs_to_the_country() {
        assert_eq!(territory("NL", "35001"), None);
        assert_eq!(territory("PT", "22100"), None);
        assert_eq!(territory("ES", "97400"), None);
    }

    #[test]
    fn tolerates_spaces_dashes_and_a_country_prefix() {
        assert_eq!(territory("FI", "AX-22100"), Some("Åland Islands"));
        assert_eq!(territory("FI", "FI-22100"), Some("Åland Islands"));
        assert_eq!(territory("FI", " ax 22100 "), Some("Åland Islands"));
        assert_eq!(territory("DE", "D-78266"), Some("Büsingen am Hochrhein"));
        assert_eq!(territory("GR", "630 86"), Some("Mount Athos"));
        assert_eq!(territory("EL", "GR-630 87"), Some("Mount Athos"));
        assert_eq!(territory("GR", "EL 63086"), Some("Mount Athos"));
        assert_eq!(territory("FR", "F-97400"), Some("Réunion"));
    }

    #[test]
    fn a_foreign_prefix_or_extra_text_is_not_read() {
        assert_eq!(territory("FI", "SE-22100"), None);
        assert_eq!(territory("ES", "35001 Las Palmas"), None);
        assert_eq!(territory("ES", "350011"), None);
        assert_eq!(territory("ES", "3500"), None);
    }

    #[test]
    fn garbage_is_none() {
        for postcode in [
            "",
            "ABC",
            "35",
            "   ",
            "-",
            "ES-",
            "３５００１",
            "35 0 0 1x",
        ] {
            assert_eq!(territory("ES", postcode), None, "{postcode:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(postcode in any::<String>(), country in "[A-Z]{2}") {
            let _ = special_territory(country.parse().unwrap(), &postcode);
        }

        #[test]
        fn formatting_does_not_matter(digits in "[0-9]{5}") {
            let plain = territory("ES", &digits);
            let spaced = format!("E- {} {}", &digits[..2], &digits[2..]);
            prop_assert_eq!(territory("ES", &spaced), plain);
        }
    }
}
