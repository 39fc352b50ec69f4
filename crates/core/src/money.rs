//! Money is a decimal amount, never a float. Sources send strings like `"29.35"`; we parse
//! them exactly and keep every digit until a rule decides to round.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(#[serde(with = "rust_decimal::serde::str")] Decimal);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{input}` is not an amount of money: write digits with a dot for decimals, e.g. 29.95, at most {MAX_DIGITS_BEFORE_POINT} digits before the dot")]
pub struct MoneyParseError {
    pub input: String,
}

/// No sales document needs more: a cap keeps every sum of amounts far from decimal overflow.
pub const MAX_DIGITS_BEFORE_POINT: usize = 12;

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(amount: Decimal) -> Self {
        Money(amount)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// Whole cents, half away from zero — how shops and ledgers round a single amount.
    pub fn round_cents(self) -> Money {
        self.round_dp(2)
    }

    pub fn round_dp(self, places: u32) -> Money {
        Money(
            self.0
                .round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    /// `self` × `percent` / 100, unrounded.
    pub fn percent(self, percent: Decimal) -> Money {
        Money(self.0 * percent / Decimal::ONE_HUNDRED)
    }

    pub fn times(self, factor: Decimal) -> Money {
        Money(self.0 * factor)
    }
}

impl FromStr for Money {
    type Err = MoneyParseError;

    /// Accepts an optional sign, digits and one dot; no exponents, no thousands separators.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
        let whole = digits
            .split('.')
            .next()
            .unwrap_or_default()
            .trim_start_matches('0');
        let well_formed = !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            && digits.chars().filter(|c| *c == '.').count() <= 1
            && digits.chars().any(|c| c.is_ascii_digit())
            && whole.len() <= MAX_DIGITS_BEFORE_POINT
            && digits.len() <= 40;
        if !well_formed {
            return Err(MoneyParseError {
                input: input.to_string(),
            });
        }
        Decimal::from_str_exact(trimmed)
            .map(|d| Money(d.normalize()))
            .map_err(|_| MoneyParseError {
                input: input.to_string(),
            })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl From<Decimal> for Money {
    fn from(amount: Decimal) -> Self {
        Money(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parses_shop_strings_exactly() {
        assert_eq!("29.35".parse::<Money>().unwrap().amount(), dec!(29.35));
        assert_eq!("-4.1322".parse::<Money>().unwrap().amount(), dec!(-4.1322));
        assert_eq!("0".parse::<Money>().unwrap(), Money::ZERO);
    }

    #[test]
    fn rejects_what_is_not_an_amount() {
        for bad in [
            "",
            "1,50",
            "1e3",
            "12.3.4",
            "abc",
            "-",
            ".",
            "1000000000000",
            "99999999999999999999999999.5",
        ] {
            let error = bad.parse::<Money>().unwrap_err();
            assert!(error.to_string().contains("not an amount"), "{bad}");
        }
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(Money::new(dec!(2.345)).round_cents().amount(), dec!(2.35));
        assert_eq!(Money::new(dec!(-2.345)).round_cents().amount(), dec!(-2.35));
        assert_eq!(Money::new(dec!(2.3449)).round_cents().amount(), dec!(2.34));
    }

    #[test]
    fn displays_two_decimals() {
        assert_eq!(Money::new(dec!(5)).to_string(), "5.00");
        assert_eq!(Money::new(dec!(-0.5)).to_string(), "-0.50");
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity_on_cents(cents in -10_000_000_000i64..10_000_000_000i64) {
            let money = Money::new(Decimal::new(cents, 2));
            prop_assert_eq!(money.to_string().parse::<Money>().unwrap(), money);
        }

        #[test]
        fn sum_of_parts_equals_whole(parts in proptest::collection::vec(-1_000_000i64..1_000_000i64, 0..50)) {
            let total: Money = parts.iter().map(|c| Money::new(Decimal::new(*c, 2))).sum();
            let expected: i64 = parts.iter().sum();
            prop_assert_eq!(total.amount(), Decimal::new(expected, 2));
        }

        #[test]
        fn rounding_moves_at_most_half_a_cent(units in -1_000_000_000i64..1_000_000_000i64) {
            let money = Money::new(Decimal::new(units, 4));
            let diff = (money.round_cents().amount() - money.amount()).abs();
            prop_assert!(diff <= dec!(0.005));
        }

        #[test]
        fn vat_split_reconciles(net_cents in 0i64..100_000_000i64, rate in prop::sample::select(vec![0u32, 6, 9, 12, 19, 21, 25, 27])) {
            let net = Money::new(Decimal::new(net_cents, 2));
            let vat = net.percent(Decimal::from(rate)).round_cents();
            let gross = net + vat;
            prop_assert_eq!(gross - vat, net);
            prop_assert!((vat.amount() - net.amount() * Decimal::from(rate) / dec!(100)).abs() <= dec!(0.005));
        }
    }
}
