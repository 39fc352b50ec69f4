//! The merchant's bookkeeping settings for one connection (the `[booking]` table of the
//! settings file). Every field has a default a Dutch webshop can start from.

use std::collections::BTreeMap;

use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{Country, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BookingSettings {
    /// Where the merchant is established: decides domestic vs. intra-EU vs. export.
    pub home_country: Country,
    /// Registered for the EU One-Stop Shop: intra-EU B2C sales carry the destination's VAT.
    pub oss_registered: bool,
    /// Consult VIES before booking a sale with reverse charge (needs `vies_url` in the
    /// settings file); a number VIES calls invalid is held.
    pub vies_check: bool,
    /// The merchant's own VAT number: VIES then issues a consultation number as evidence.
    pub own_vat_number: Option<ledgerlink_core::VatNumber>,
    /// Order statuses (slugs, custom ones included) at which an order is booked.
    pub triggers: Vec<String>,
    /// Statuses at which an order that was never booked is skipped for good.
    pub skip_statuses: Vec<String>,
    /// Put before the order number to make the booking's reference, e.g. `WC-`.
    pub reference_prefix: String,
    /// The target's sales journal code.
    pub journal: String,
    /// The field a customer is matched on in the target.
    pub customer_match: CustomerMatch,
    pub accounts: AccountSettings,
    /// VAT code in the target per treatment key: `domestic/21`, `domestic/9`, `domestic/0`,
    /// `reverse_charge`, `export`, `oss/DE/19`, and `none` for lines without VAT (rounding).
    pub vat_codes: BTreeMap<String, String>,
    /// Largest difference between the source total and the planned lines that is booked on
    /// the rounding account; anything larger holds the document.
    pub rounding_tolerance: Money,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountSettings {
    /// Revenue account per VAT treatment kind (`domestic`, `reverse_charge`, `oss`, `export`);
    /// `default` for any kind not listed.
    pub revenue: BTreeMap<String, String>,
    pub shipping: String,
    /// Coupon discounts on their own account; when empty, lines are booked net of discount.
    pub discounts: Option<String>,
    pub fees: String,
    pub rounding: String,
}

impl Default for BookingSettings {
    fn default() -> Self {
        let vat_codes = [
            ("domestic/21", "1"),
            ("domestic/9", "2"),
            ("domestic/0", "0"),
            ("reverse_charge", "4"),
            ("export", "3"),
            ("none", "0"),
        ];
        BookingSettings {
            home_country: "NL".parse().expect("NL is a country"),
            oss_registered: false,
            vies_check: false,
            own_vat_number: None,
            // An order refunded before it reached another trigger was paid: it is booked, and
            // its refund as a credit note.
            triggers: vec!["processing".into(), "completed".into(), "refunded".into()],
            skip_statuses: vec!["cancelled".into(), "failed".into(), "trash".into()],
            reference_prefix: "WC-".into(),
            journal: "70".into(),
            customer_match: CustomerMatch::Email,
            accounts: AccountSettings::default(),
            vat_codes: vat_codes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            rounding_tolerance: Money::new(Decimal::new(2, 2)),
        }
    }
}

impl Default for AccountSettings {
    fn default() -> Self {
        let revenue = [
            ("default", "8000"),
            ("reverse_charge", "8020"),
            ("export", "8030"),
            ("oss", "8040"),
        ];
        AccountSettings {
            revenue: revenue
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            shipping: "8050".into(),
            discounts: None,
            fees: "8070".into(),
            rounding: "8990".into(),
        }
    }
}
