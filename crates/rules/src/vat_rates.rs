//! The VAT rates of each member state by date, from the embedded table (`data/`), to check
//! that the rate a shop charged is one that applies: the amounts are never re-taxed, but a
//! wrong rate holds the document.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::NaiveDate;
use ledgerlink_core::Country;
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Deserialize)]
struct Table {
    countries: HashMap<String, CountryRates>,
}

#[derive(Deserialize)]
struct CountryRates {
    periods: Vec<Period>,
}

#[derive(Deserialize)]
struct Period {
    from: String,
    standard: serde_json::Number,
    #[serde(default)]
    reduced: Vec<serde_json::Number>,
    #[serde(default)]
    super_reduced: Vec<serde_json::Number>,
    parking: Option<serde_json::Number>,
}

/// Per country, its periods newest first: (from, rates).
type Rates = HashMap<String, Vec<(NaiveDate, Vec<Decimal>)>>;

fn table() -> &'static Rates {
    static TABLE: OnceLock<Rates> = OnceLock::new();
    TABLE.get_or_init(|| {
        let table: Table = serde_json::from_str(include_str!("../data/eu-vat-rates.json"))
            .expect("the embedded VAT rate table is valid");
        let rate = |n: &serde_json::Number| {
            Decimal::from_str(&n.to_string())
                .expect("rates are decimals")
                .normalize()
        };
        table
            .countries
            .into_iter()
            .map(|(country, rates)| {
                let mut periods: Vec<(NaiveDate, Vec<Decimal>)> = rates
                    .periods
                    .iter()
                    .map(|p| {
                        // "0000-01-01": in force since before the table's window.
                        let from = NaiveDate::parse_from_str(&p.from, "%Y-%m-%d")
                            .unwrap_or(NaiveDate::MIN);
                        let mut all: Vec<Decimal> = std::iter::once(&p.standard)
                            .chain(&p.reduced)
                            .chain(&p.super_reduced)
                            .chain(&p.parking)
                            .map(rate)
                            .collect();
                        all.sort();
                        all.dedup();
                        (from, all)
                    })
                    .collect();
                periods.sort_by_key(|(from, _)| std::cmp::Reverse(*from));
                (country, periods)
            })
            .collect()
    })
}

/// The rates (in percent) a member state applies on `date`; `None` outside the table.
pub fn rates_on(country: Country, date: NaiveDate) -> Option<&'static [Decimal]> {
    if country.code() == "XI" {
        return Some(northern_ireland());
    }
    // The table keys Greece by its VAT prefix, EL.
    let periods = table().get(country.vat_prefix())?;
    periods
        .iter()
        .find(|(from, _)| *from <= date)
        .map(|(_, rates)| rates.as_slice())
}

/// Northern Ireland is in the EU VAT area for goods at the UK's rates (20% and 5% since
/// 2011), which the EU-27 table does not hold.
fn northern_ireland() -> &'static [Decimal] {
    static RATES: OnceLock<[Decimal; 2]> = OnceLock::new();
    RATES.get_or_init(|| [Decimal::from(5), Decimal::from(20)])
}

/// Every member state in the table, and Northern Ireland.
pub fn countries() -> Vec<Country> {
    let mut countries: Vec<Country> = table()
        .keys()
        .filter_map(|prefix| Country::from_vat_prefix(prefix).ok())
        .chain("XI".parse().ok())
        .collect();
    countries.sort();
    countries
}

/// The rates as a person reads them: "19%, 7%".
pub fn describe(rates: &[Decimal]) -> String {
    rates
        .iter()
        .rev()
        .map(|r| format!("{r}%"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn c(code: &str) -> Country {
        code.parse().unwrap()
    }

    #[test]
    fn rates_follow_their_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(rates_on(c("NL"), today).unwrap().last(), Some(&dec!(21)));
        assert!(rates_on(c("DE"), today).unwrap().contains(&dec!(7)));
        // Austria's 4.9% on basic foods applies from July 2026 only.
        assert!(rates_on(c("AT"), today).unwrap().contains(&dec!(4.9)));
        assert!(
            !rates_on(c("AT"), NaiveDate::from_ymd_opt(2026, 6, 30).unwrap())
                .unwrap()
                .contains(&dec!(4.9))
        );
        assert!(rates_on(c("NO"), today).is_none());
        assert_eq!(rates_on(c("GR"), today).unwrap().last(), Some(&dec!(24)));
        assert_eq!(describe(rates_on(c("DE"), today).unwrap()), "19%, 7%");
    }

    #[test]
    fn every_member_state_is_in_the_table() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        for code in [
            "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
            "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
        ] {
            assert!(rates_on(c(code), today).is_some(), "{code}");
        }
    }
}
