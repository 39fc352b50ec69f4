//! PrestaShop's money arithmetic with the shop defaults: `PS_PRICE_ROUND_MODE` 2 (half up,
//! i.e. PHP `round()`: half away from zero) and `PS_ROUND_TYPE` 1 (round each item), at two
//! decimals (`_PS_PRICE_COMPUTE_PRECISION_`):
//!
//! * a unit price including tax is the price excluding tax times `1 + rate`, kept at six
//!   decimals as `Product::getPriceStatic()` returns it and `order_detail` stores it;
//! * a line total is `round(unit, 2) × quantity`, excluding and including tax alike, so
//!   `total_products` and `total_products_wt` are sums of whole cents;
//! * shipping and wrapping including tax are `round(price × (1 + rate), 2)`;
//! * `total_paid_tax_excl/incl` = products + shipping + wrapping − discounts, each part already
//!   in cents, so every order adds up exactly.
//!
//! Values are written with the scale of their MySQL column: `decimal(20,6)` for amounts,
//! `decimal(10,3)` for rates, `decimal(13,6)` for conversion rates, `decimal(17,2)` for
//! `order_cart_rule.value`.

use rust_decimal::{Decimal, RoundingStrategy};

fn round(value: Decimal, places: u32) -> Decimal {
    value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
}

pub(crate) fn round2(value: Decimal) -> Decimal {
    round(value, 2)
}

pub(crate) fn round6(value: Decimal) -> Decimal {
    round(value, 6)
}

/// `value × (1 + rate / 100)`, unrounded.
pub(crate) fn add_tax(value: Decimal, rate: Decimal) -> Decimal {
    value * (Decimal::ONE_HUNDRED + rate) / Decimal::ONE_HUNDRED
}

/// `value / (1 + rate / 100)`, unrounded.
pub(crate) fn remove_tax(value: Decimal, rate: Decimal) -> Decimal {
    value * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + rate)
}

/// The value as MySQL writes a `decimal(_, places)` column: exactly `places` decimals.
pub(crate) fn fixed(value: Decimal, places: u32) -> String {
    let mut rounded = round(value, places);
    rounded.rescale(places);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded.to_string()
}

/// Amounts (`decimal(20,6)`).
pub(crate) fn money(value: Decimal) -> String {
    fixed(value, 6)
}

/// Tax rates (`decimal(10,3)`).
pub(crate) fn rate(value: Decimal) -> String {
    fixed(value, 3)
}
