//! WooCommerce's order arithmetic with "Round tax at subtotal level" switched off (the default):
//!
//! * each line's tax is computed per rate, unrounded (`taxes[]`), and rounded per line
//!   (`total_tax`, `subtotal_tax`);
//! * a tax line's `tax_total` is the sum of the rounded line (and fee) taxes for that rate,
//!   `shipping_tax_total` the sum of the rounded shipping taxes;
//! * `total = Σ line totals + Σ fees + shipping_total + total_tax`, every part already in cents,
//!   so the grand total always equals the sum of its rounded parts.
//!
//! Line amounts are rounded to cents before tax is computed (`round(quantity × unit price, 2)`),
//! which is what makes the last point hold for prices with three or more decimals.

use rust_decimal::Decimal;

use super::json::round2;
use super::model::{
    CouponItem, FeeItem, LineItem, ShippingItem, TaxItem, TaxRate, TaxShare, Totals,
};
use super::spec::OrderSpec;

/// Hands out WooCommerce order item ids (one sequence for every item type).
pub(crate) trait ItemIds {
    fn next_item_id(&mut self) -> u64;
}

/// Finds the shop's tax rate for a country, class slug and percentage; a positive rate the shop
/// lacks is added to its tax table (as if the shop had configured it). A 0 % rate only exists if
/// the shop configured one (the seeded NL "zero-rate" class has); otherwise no tax applies.
pub(crate) fn resolve_rate(
    rates: &mut Vec<TaxRate>,
    country: &str,
    class: &str,
    percent: Decimal,
) -> Option<TaxRate> {
    let class = if class.is_empty() { "standard" } else { class };
    let country = country.to_uppercase();
    let same = |r: &&TaxRate| r.country == country && r.rate == percent;
    if let Some(rate) = rates
        .iter()
        .filter(same)
        .find(|r| r.class == class)
        .or_else(|| rates.iter().find(same))
    {
        return Some(rate.clone());
    }
    if percent.is_zero() || country.is_empty() {
        return None;
    }
    let id = rates.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    let order = rates.iter().map(|r| r.order).max().unwrap_or(0) + 1;
    let rate = TaxRate {
        id,
        country,
        rate: percent,
        name: "VAT".to_string(),
        priority: 1,
        shipping: class == "standard",
        order,
        class: class.to_string(),
    };
    rates.push(rate.clone());
    Some(rate)
}

/// Splits an amount as entered (net, or gross when prices include tax) into the net amount,
/// the unrounded tax and the rounded tax.
fn split(entered: Decimal, rate: Option<&TaxRate>, inclusive: bool) -> (Decimal, Decimal, Decimal) {
    let Some(rate) = rate else {
        return (entered, Decimal::ZERO, Decimal::ZERO);
    };
    let hundred = Decimal::ONE_HUNDRED;
    if inclusive {
        // WC_Tax::calc_inclusive_tax: price - price / (1 + rate).
        let tax = entered * rate.rate / (hundred + rate.rate);
        let rounded = round2(tax);
        (entered - rounded, tax, rounded)
    } else {
        let tax = entered * rate.rate / hundred;
        (entered, tax, round2(tax))
    }
}

/// Spreads a fixed-cart discount over the amounts in whole cents, in proportion to each amount,
/// then hands out the remaining cents one at a time from the first line on (never taking a line
/// below zero). The discount is capped at the sum of the amounts, as WooCommerce caps it.
fn spread_discount(amounts: &[Decimal], discount: Decimal) -> Vec<Decimal> {
    let cents = |d: Decimal| (d * Decimal::ONE_HUNDRED).round();
    let line_cents: Vec<Decimal> = amounts.iter().map(|a| cents(*a)).collect();
    let total: Decimal = line_cents.iter().copied().sum();
    let discount = cents(discount).min(total);
    if total <= Decimal::ZERO || discount <= Decimal::ZERO {
        return vec![Decimal::ZERO; amounts.len()];
    }
    let mut shares: Vec<Decimal> = line_cents
        .iter()
        .map(|c| (c * discount / total).floor().min(*c))
        .collect();
    let mut remainder = discount - shares.iter().copied().sum::<Decimal>();
    while remainder > Decimal::ZERO {
        let mut progressed = false;
        for (share, cap) in shares.iter_mut().zip(&line_cents) {
            if remainder > Decimal::ZERO && *share < *cap {
                *share += Decimal::ONE;
                remainder -= Decimal::ONE;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    shares
        .into_iter()
        .map(|s| s / Decimal::ONE_HUNDRED)
        .collect()
}

struct PendingLine {
    rate: Option<TaxRate>,
    entered_subtotal: Decimal,
    entered_total: Decimal,
}

/// Computes every item and total of an order the way WooCommerce's checkout stores them.
pub(crate) fn compute(
    spec: &OrderSpec,
    rates: &mut Vec<TaxRate>,
    ids: &mut impl ItemIds,
) -> Totals {
    let country = spec
        .shipping
        .as_ref()
        .map(|s| s.country.as_str())
        .filter(|c| !c.is_empty())
        .unwrap_or(spec.billing.country.as_str())
        .to_string();
    let inclusive = spec.prices_include_tax;

    let mut pending: Vec<PendingLine> = spec
        .lines
        .iter()
        .map(|line| {
            let rate = resolve_rate(rates, &country, &line.tax_class, line.tax_rate);
            let quantity = Decimal::from(line.quantity);
            let entered_subtotal = match (&rate, inclusive) {
                (Some(rate), true) => {
                    let gross_unit = round2(
                        line.unit_price * (Decimal::ONE_HUNDRED + rate.rate) / Decimal::ONE_HUNDRED,
                    );
                    gross_unit * quantity
                }
                _ => round2(line.unit_price * quantity),
            };
            PendingLine {
                rate,
                entered_subtotal,
                entered_total: entered_subtotal,
            }
        })
        .collect();

    // Coupons, one after the other, each on what the previous ones left.
    let mut coupon_lines = Vec::new();
    for coupon in &spec.coupons {
        let before: Vec<(Decimal, Decimal)> = pending
            .iter()
            .map(|p| {
                let (net, _, tax) = split(p.entered_total, p.rate.as_ref(), inclusive);
                (net, tax)
            })
            .collect();
        let amounts: Vec<Decimal> = pending.iter().map(|p| p.entered_total).collect();
        for (p, share) in pending
            .iter_mut()
            .zip(spread_discount(&amounts, coupon.amount))
        {
            p.entered_total -= share;
        }
        let (mut discount, mut discount_tax) = (Decimal::ZERO, Decimal::ZERO);
        for (p, (net_before, tax_before)) in pending.iter().zip(before) {
            let (net, _, tax) = split(p.entered_total, p.rate.as_ref(), inclusive);
            discount += net_before - net;
            discount_tax += tax_before - tax;
        }
        coupon_lines.push((coupon.code.clone(), discount, discount_tax));
    }

    let mut totals = Totals::default();
    // (rate, items tax, shipping tax) in order of first appearance.
    let mut per_rate: Vec<(TaxRate, Decimal, Decimal)> = Vec::new();
    let mut add_rate = |rate: &TaxRate, items: Decimal, shipping: Decimal| match per_rate
        .iter_mut()
        .find(|(r, _, _)| r.id == rate.id)
    {
        Some(entry) => {
            entry.1 += items;
            entry.2 += shipping;
        }
        None => per_rate.push((rate.clone(), items, shipping)),
    };

    for (line, p) in spec.lines.iter().zip(&pending) {
        let (subtotal, subtotal_tax_raw, subtotal_tax) =
            split(p.entered_subtotal, p.rate.as_ref(), inclusive);
        let (total, total_tax_raw, total_tax) = split(p.entered_total, p.rate.as_ref(), inclusive);
        let taxes = p
            .rate
            .iter()
            .map(|rate| TaxShare {
                rate_id: rate.id,
                total: total_tax_raw,
                subtotal: Some(subtotal_tax_raw),
            })
            .collect();
        if let Some(rate) = &p.rate {
            add_rate(rate, total_tax, Decimal::ZERO);
        }
        totals.discount_total += subtotal - total;
        totals.discount_tax += subtotal_tax - total_tax;
        totals.lines.push(LineItem {
            id: ids.next_item_id(),
            name: line.name.clone(),
            product_id: line.product_id,
            variation_id: line.variation_id,
            quantity: line.quantity,
            tax_class: p
                .rate
                .as_ref()
                .map_or(line.tax_class.as_str(), TaxRate::item_class)
                .to_string(),
            subtotal,
            subtotal_tax,
            total,
            total_tax,
            taxes,
            sku: line.sku.clone(),
        });
    }

    for fee in &spec.fees {
        let rate = resolve_rate(rates, &country, &fee.tax_class, fee.tax_rate);
        let (total, tax_raw, tax) = split(round2(fee.total), rate.as_ref(), false);
        if let Some(rate) = &rate {
            add_rate(rate, tax, Decimal::ZERO);
        }
        totals.fee_lines.push(FeeItem {
            id: ids.next_item_id(),
            name: fee.name.clone(),
            tax_class: fee.tax_class.clone(),
            taxable: rate.is_some(),
            total,
            total_tax: tax,
            taxes: rate
                .iter()
                .map(|r| TaxShare {
                    rate_id: r.id,
                    total: tax_raw,
                    subtotal: None,
                })
                .collect(),
        });
    }

    if let Some(shipping) = &spec.shipping_line {
        let rate = resolve_rate(rates, &country, "", shipping.tax_rate);
        let (total, tax_raw, tax) = split(round2(shipping.total), rate.as_ref(), false);
        if let Some(rate) = &rate {
            add_rate(rate, Decimal::ZERO, tax);
        }
        totals.shipping_lines.push(ShippingItem {
            id: ids.next_item_id(),
            method_title: shipping.method_title.clone(),
            method_id: shipping.method_id.clone(),
            total,
            total_tax: tax,
            taxes: rate
                .iter()
                .map(|r| TaxShare {
                    rate_id: r.id,
                    total: tax_raw,
                    subtotal: None,
                })
                .collect(),
        });
    }

    for (rate, items, shipping) in per_rate {
        totals.tax_lines.push(TaxItem {
            id: ids.next_item_id(),
            rate_id: rate.id,
            rate_code: rate.code(),
            label: rate.name.clone(),
            rate_percent: rate.rate,
            tax_total: items,
            shipping_tax_total: shipping,
        });
    }
    for (code, discount, discount_tax) in coupon_lines {
        totals.coupon_lines.push(CouponItem {
            id: ids.next_item_id(),
            code,
            discount,
            discount_tax,
        });
    }

    totals.shipping_total = totals.shipping_lines.iter().map(|s| s.total).sum();
    totals.cart_tax = totals.tax_lines.iter().map(|t| t.tax_total).sum();
    totals.shipping_tax = totals.tax_lines.iter().map(|t| t.shipping_tax_total).sum();
    totals.total_tax = totals.cart_tax + totals.shipping_tax;
    let items: Decimal = totals.lines.iter().map(|l| l.total).sum();
    let fees: Decimal = totals.fee_lines.iter().map(|f| f.total).sum();
    totals.total = items + fees + totals.shipping_total + totals.total_tax;
    totals
}
