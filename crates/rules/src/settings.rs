//! The merchant's bookkeeping settings for one connection (the `[booking]` table of the
//! settings file). Every field has a default a Dutch webshop can start from; every optional
//! module is off until its table is present. `validate` reports misconfiguration when the
//! settings are loaded, naming the setting to fix.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use ledgerlink_core::plan::CustomerMatch;
use ledgerlink_core::{Country, CustomerKind, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BookingSettings {
    /// Where the merchant is established: decides domestic vs. intra-EU vs. export.
    pub home_country: Country,
    /// Registered for the EU One-Stop Shop: intra-EU B2C sales carry the destination's VAT.
    pub oss_registered: bool,
    /// The merchant passed the EUR 10,000 OSS threshold last year, so destination VAT applies
    /// to every intra-EU consumer sale this year.
    pub oss_threshold_passed_last_year: bool,
    /// The yearly distance-sales threshold in the shop's currency (EUR 10,000; for DKK use
    /// the Danish equivalent). Tracked per calendar year from what was booked.
    pub oss_threshold: Money,
    /// Destination countries the merchant sells to under OSS; empty means all of the EU.
    /// Each needs a VAT code per rate in `vat_codes`.
    pub oss_countries: Vec<Country>,
    /// Consult VIES before booking a sale with reverse charge (needs `vies_url` in the
    /// settings file); a number VIES calls invalid is held.
    pub vies_check: bool,
    /// The merchant's own VAT number: VIES then issues a consultation number as evidence.
    pub own_vat_number: Option<ledgerlink_core::VatNumber>,
    /// Book paid orders (`order`) or the shop's own invoices when they are made (`invoice`).
    pub mode: BookingMode,
    /// The number the booking's reference is made of.
    pub reference: ReferenceSource,
    /// Order statuses (slugs, custom ones included) at which an order is booked.
    pub triggers: Vec<String>,
    /// Statuses at which an order that was never booked is skipped for good.
    pub skip_statuses: Vec<String>,
    /// Put before the order number to make the booking's reference, e.g. `WC-`.
    pub reference_prefix: String,
    /// The target's sales journal code.
    pub journal: String,
    /// A different journal per payment method code (e.g. `paypal = "71"`).
    pub journals_by_payment_method: BTreeMap<String, String>,
    /// The field a customer is matched on in the target, unless `customers` says otherwise.
    pub customer_match: CustomerMatch,
    pub customers: CustomerRules,
    /// The relation's classification in the target: the first rule that matches sets it.
    pub classifications: Vec<ClassificationRule>,
    pub email_check: Option<EmailCheck>,
    pub accounts: AccountSettings,
    /// VAT code in the target per treatment key: `domestic/21`, `domestic/9`, `domestic/0`,
    /// `reverse_charge`, `export`, `oss/DE/19`, and `none` for lines without VAT (rounding).
    pub vat_codes: BTreeMap<String, String>,
    /// Source fields passed on to target fields (`payment_reference`, `intrastat_…`).
    pub extra_fields: BTreeMap<ExtraField, FieldSource>,
    pub payment_terms: Option<PaymentTerms>,
    /// Book refunds as credit notes linked to the original booking; off leaves refunds for
    /// the bookkeeper (skipped with that reason).
    pub credit_notes: bool,
    /// Largest difference between the source total and the planned lines that is booked on
    /// the rounding account; anything larger holds the document.
    pub rounding_tolerance: Money,
    /// One entry per document, or the private sales of a day summarised.
    pub posting: PostingSettings,
}

/// How documents become entries in the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostingSettings {
    pub mode: PostingMode,
    /// With `daily_summary`: hours after midnight (UTC) ending a day before its summary is
    /// booked, so that orders of the day arriving late still join it.
    pub close_after_hours: u32,
}

impl Default for PostingSettings {
    fn default() -> Self {
        PostingSettings {
            mode: PostingMode::PerDocument,
            close_after_hours: 2,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingMode {
    /// Every order, invoice and refund is an entry of its own.
    #[default]
    PerDocument,
    /// Sales to private customers on a collective debtor are summarised: one entry per day,
    /// currency, journal, relation and VAT treatment. Business customers and refunds are
    /// still booked one by one.
    DailySummary,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingMode {
    #[default]
    Order,
    Invoice,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceSource {
    #[default]
    OrderNumber,
    InvoiceNumber,
}

/// Business and private customers follow rules of their own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerRules {
    pub business: CustomerRule,
    pub private: CustomerRule,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerRule {
    /// Overrides `customer_match` for this kind of customer.
    pub match_on: Option<CustomerMatch>,
    /// Book every customer of this kind on one fixed relation (private customers only).
    pub collective_debtor: Option<CollectiveDebtor>,
}

/// The fixed relation (its customer number in the target) private customers are booked on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectiveDebtor {
    /// The relation for any country not listed in `by_country`.
    pub default: Option<String>,
    pub by_country: BTreeMap<Country, String>,
}

impl CollectiveDebtor {
    pub fn for_country(&self, country: Country) -> Option<&String> {
        self.by_country.get(&country).or(self.default.as_ref())
    }
}

/// Sets `classification` on customers matching every condition given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassificationRule {
    pub kind: Option<CustomerKind>,
    /// Billing countries; empty matches any.
    pub countries: Vec<Country>,
    /// The shop's customer group, e.g. `wholesale`.
    pub customer_group: Option<String>,
    /// `true`: only customers outside the home country; `false`: only domestic ones.
    pub foreign: Option<bool>,
    /// The classification's code in the target.
    pub classification: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailCheck {
    pub on_invalid: OnInvalidEmail,
    /// The address used instead when `on_invalid = "fallback"`.
    pub fallback: Option<ledgerlink_core::Email>,
}

impl Default for EmailCheck {
    fn default() -> Self {
        EmailCheck {
            on_invalid: OnInvalidEmail::Drop,
            fallback: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalidEmail {
    /// Book without an e-mail address.
    Drop,
    /// Book with `fallback` instead.
    Fallback,
    /// Hold the document until the address is corrected in the shop.
    Hold,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountSettings {
    /// Revenue account per VAT treatment kind (`domestic`, `reverse_charge`, `oss`, `export`);
    /// `default` for any kind not listed.
    pub revenue: BTreeMap<String, String>,
    /// More specific revenue accounts, by product category, country and treatment; the first
    /// rule that matches a product line wins over `revenue`.
    pub revenue_rules: Vec<RevenueRule>,
    pub shipping: String,
    /// Coupon discounts on their own account; when empty, lines are booked net of discount.
    pub discounts: Option<String>,
    /// Gift cards redeemed on an order; when empty they go to `discounts` (or revenue).
    pub gift_cards: Option<String>,
    pub fees: String,
    pub rounding: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RevenueRule {
    /// The product category as the shop names it (case does not matter).
    pub category: Option<String>,
    /// Destination countries; empty matches any.
    pub countries: Vec<Country>,
    /// Treatment kind: `domestic`, `reverse_charge`, `oss` or `export`.
    pub treatment: Option<String>,
    pub account: String,
}

/// Target fields a merchant can fill from the shop's own fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraField {
    YourReference,
    PaymentReference,
    ExternalLinkUrl,
    ExternalLinkDescription,
    Notes,
    PeriodFrom,
    PeriodTo,
    SerialNumber,
    TrackingNumber,
    IntrastatCountry,
    IntrastatStatisticalValue,
    IntrastatStatisticalQuantity,
    IntrastatCommodityCode,
    IntrastatNetWeight,
    IntrastatTransactionA,
    IntrastatTransactionB,
    IntrastatTransportMode,
    IntrastatDeliveryTerms,
}

impl ExtraField {
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Fields of the whole document; the others belong to each product line.
    pub fn is_document_level(self) -> bool {
        matches!(
            self,
            ExtraField::YourReference
                | ExtraField::PaymentReference
                | ExtraField::ExternalLinkUrl
                | ExtraField::ExternalLinkDescription
        )
    }
}

/// Where an extra field's value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldSource {
    /// A custom field of the line (for line-level fields) or else of the document.
    Field(String),
    /// The same value on every document.
    Value(String),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentTerms {
    /// Terms for any payment method not listed.
    pub default: PaymentTerm,
    /// Terms per payment method code (e.g. `ideal`, `bacs`, `paypal`).
    pub by_method: BTreeMap<String, PaymentTerm>,
    /// The target's item (its code) the lines of an e-mailed invoice are booked with: Exact
    /// Online only e-mails sales invoices, whose lines need an item. Each line keeps its own
    /// ledger account and VAT code.
    pub invoice_item: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentTerm {
    /// The target's payment condition code.
    pub condition: Option<String>,
    /// Days after the booking date the invoice is due.
    pub due_days: Option<u32>,
    /// Paid at checkout: register the payment at once.
    pub paid: bool,
    /// Ask the target to e-mail the invoice to the customer (Exact Online: the sale is booked
    /// as a sales invoice, processed with "send e-mail to customer").
    pub send_invoice_email: bool,
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
            oss_threshold_passed_last_year: false,
            oss_threshold: Money::new(Decimal::new(10_000, 0)),
            oss_countries: Vec::new(),
            vies_check: false,
            own_vat_number: None,
            mode: BookingMode::Order,
            reference: ReferenceSource::OrderNumber,
            // An order refunded before it reached another trigger was paid: it is booked, and
            // its refund as a credit note.
            triggers: vec!["processing".into(), "completed".into(), "refunded".into()],
            skip_statuses: vec!["cancelled".into(), "failed".into(), "trash".into()],
            reference_prefix: "WC-".into(),
            journal: "70".into(),
            journals_by_payment_method: BTreeMap::new(),
            customer_match: CustomerMatch::Email,
            customers: CustomerRules::default(),
            classifications: Vec::new(),
            email_check: None,
            accounts: AccountSettings::default(),
            vat_codes: vat_codes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            extra_fields: BTreeMap::new(),
            payment_terms: None,
            credit_notes: true,
            rounding_tolerance: Money::new(Decimal::new(2, 2)),
            posting: PostingSettings::default(),
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
            revenue_rules: Vec::new(),
            shipping: "8050".into(),
            discounts: None,
            gift_cards: None,
            fees: "8070".into(),
            rounding: "8990".into(),
        }
    }
}

/// One thing wrong with the settings: the setting to fix, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsProblem {
    pub setting: String,
    pub problem: String,
}

impl std::fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.setting, self.problem)
    }
}

const TREATMENT_KINDS: [&str; 4] = ["domestic", "reverse_charge", "oss", "export"];

impl BookingSettings {
    /// Every VAT-code key a sale on `date` can need under these settings.
    pub fn vat_code_keys_needed(&self, date: NaiveDate) -> Vec<String> {
        let mut keys = vec![
            "reverse_charge".to_string(),
            "export".into(),
            "none".into(),
            "domestic/0".into(),
        ];
        if let Some(rates) = crate::vat_rates::rates_on(self.home_country, date) {
            keys.extend(rates.iter().map(|r| format!("domestic/{}", r.normalize())));
        }
        if self.oss_applies() {
            for country in self.oss_destinations() {
                if let Some(rates) = crate::vat_rates::rates_on(country, date) {
                    keys.extend(
                        rates
                            .iter()
                            .filter(|r| !r.is_zero())
                            .map(|r| format!("oss/{country}/{}", r.normalize())),
                    );
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Whether intra-EU consumer sales can carry destination VAT: registered, or past the
    /// threshold (which the engine tracks over the year).
    pub fn oss_applies(&self) -> bool {
        self.oss_registered || self.oss_threshold_passed_last_year
    }

    /// The EU countries sold to under OSS.
    pub fn oss_destinations(&self) -> Vec<Country> {
        if self.oss_countries.is_empty() {
            crate::vat_rates::countries()
                .into_iter()
                .filter(|c| *c != self.home_country)
                .collect()
        } else {
            self.oss_countries.clone()
        }
    }

    /// The account codes the settings name, each with the setting it comes from.
    pub fn account_codes(&self) -> Vec<(String, String)> {
        let accounts = &self.accounts;
        let mut codes: Vec<(String, String)> = accounts
            .revenue
            .iter()
            .map(|(k, v)| (format!("accounts.revenue.{k}"), v.clone()))
            .collect();
        codes.extend(accounts.revenue_rules.iter().enumerate().map(|(i, r)| {
            (
                format!("accounts.revenue_rules[{i}].account"),
                r.account.clone(),
            )
        }));
        codes.push(("accounts.shipping".into(), accounts.shipping.clone()));
        codes.push(("accounts.fees".into(), accounts.fees.clone()));
        codes.push(("accounts.rounding".into(), accounts.rounding.clone()));
        if let Some(d) = &accounts.discounts {
            codes.push(("accounts.discounts".into(), d.clone()));
        }
        if let Some(g) = &accounts.gift_cards {
            codes.push(("accounts.gift_cards".into(), g.clone()));
        }
        codes
    }

    /// The journal codes the settings name, each with its setting.
    pub fn journal_codes(&self) -> Vec<(String, String)> {
        let mut codes = vec![("journal".to_string(), self.journal.clone())];
        codes.extend(
            self.journals_by_payment_method
                .iter()
                .map(|(m, j)| (format!("journals_by_payment_method.{m}"), j.clone())),
        );
        codes
    }

    /// What can be checked without the target: every treatment reachable has a VAT code,
    /// every account and journal is named, module settings fit together.
    pub fn validate(&self, today: NaiveDate) -> Result<(), Vec<SettingsProblem>> {
        let mut problems = Vec::new();
        let mut problem = |setting: &str, text: String| {
            problems.push(SettingsProblem {
                setting: setting.to_string(),
                problem: text,
            })
        };
        for key in self.vat_code_keys_needed(today) {
            if !self.vat_codes.contains_key(&key) {
                problem(
                    &format!("vat_codes.\"{key}\""),
                    format!("no VAT code is mapped for the treatment `{key}`, which a sale can need; add `\"{key}\" = \"<code>\"` under [connections.booking.vat_codes]{}", if key.starts_with("oss/") { " (or narrow `oss_countries` to the countries you sell to)" } else { "" }),
                );
            }
        }
        if !self.accounts.revenue.contains_key("default")
            && !TREATMENT_KINDS
                .iter()
                .all(|k| self.accounts.revenue.contains_key(*k))
        {
            problem(
                "accounts.revenue.default",
                "not every treatment has a revenue account; set `default` or one for each of domestic, reverse_charge, oss and export".into(),
            );
        }
        for (setting, code) in self.account_codes().into_iter().chain(self.journal_codes()) {
            if code.trim().is_empty() {
                problem(&setting, "is empty; name the code in the target".into());
            }
        }
        for (i, rule) in self.accounts.revenue_rules.iter().enumerate() {
            if let Some(t) = &rule.treatment {
                if !TREATMENT_KINDS.contains(&t.as_str()) {
                    problem(
                        &format!("accounts.revenue_rules[{i}].treatment"),
                        format!(
                            "`{t}` is not a treatment; use domestic, reverse_charge, oss or export"
                        ),
                    );
                }
            }
        }
        if self.triggers.is_empty() && self.mode == BookingMode::Order {
            problem(
                "triggers",
                "is empty, so no order would ever be booked; name at least one status".into(),
            );
        }
        if let Some(status) = self
            .triggers
            .iter()
            .find(|t| self.skip_statuses.contains(t))
        {
            problem(
                "skip_statuses",
                format!("`{status}` is both a trigger and a skip status; remove it from one"),
            );
        }
        if self.customers.business.collective_debtor.is_some() {
            problem(
                "customers.business.collective_debtor",
                "business customers always get their own relation (their VAT number must be on the invoice); set a collective debtor for private customers only".into(),
            );
        }
        if let Some(debtor) = &self.customers.private.collective_debtor {
            if debtor.default.is_none() && debtor.by_country.is_empty() {
                problem(
                    "customers.private.collective_debtor",
                    "names no relation; set `default` (the relation's customer number) or `by_country`".into(),
                );
            }
        }
        if self.posting.mode == PostingMode::DailySummary {
            if self.customers.private.collective_debtor.is_none() {
                problem(
                    "posting.mode",
                    "`daily_summary` books private sales on a collective debtor; set `customers.private.collective_debtor` (the relation's customer number) first".into(),
                );
            }
            if self.posting.close_after_hours > 72 {
                problem(
                    "posting.close_after_hours",
                    format!("{} hours is longer than three days; a day's summary is booked this long after the day ends (2 covers the Dutch, Belgian and Danish midnight)", self.posting.close_after_hours),
                );
            }
        }
        for (i, rule) in self.classifications.iter().enumerate() {
            if rule.classification.trim().is_empty() {
                problem(
                    &format!("classifications[{i}].classification"),
                    "is empty; name the classification's code in the target".into(),
                );
            }
        }
        if let Some(check) = &self.email_check {
            if check.on_invalid == OnInvalidEmail::Fallback && check.fallback.is_none() {
                problem(
                    "email_check.fallback",
                    "`on_invalid = \"fallback\"` needs the fallback address".into(),
                );
            }
        }
        if self.reference == ReferenceSource::InvoiceNumber && self.mode == BookingMode::Order {
            problem(
                "reference",
                "`invoice_number` needs `mode = \"invoice\"`: in order mode an order may be booked before the shop made its invoice".into(),
            );
        }
        if let Some(terms) = &self.payment_terms {
            for (method, term) in std::iter::once(("default", &terms.default))
                .chain(terms.by_method.iter().map(|(m, t)| (m.as_str(), t)))
            {
                if term.send_invoice_email && terms.invoice_item.is_none() {
                    problem(
                        "payment_terms.invoice_item",
                        format!("`send_invoice_email` for {method} needs the item the invoice's lines are booked with; set `invoice_item` (the item's code in the target) under payment_terms"),
                    );
                }
                if term.paid && term.due_days.is_some() {
                    problem(
                        &format!("payment_terms.{method}"),
                        "is both paid at once and due later; choose `paid = true` or `due_days`"
                            .into(),
                    );
                }
            }
        }
        if self.rounding_tolerance.is_negative() {
            problem(
                "rounding_tolerance",
                "is negative; use an amount like \"0.02\"".into(),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn problems(settings: &BookingSettings) -> Vec<String> {
        settings
            .validate(today())
            .err()
            .unwrap_or_default()
            .iter()
            .map(|p| p.setting.clone())
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(problems(&BookingSettings::default()), Vec::<String>::new());
    }

    #[test]
    fn a_treatment_without_a_vat_code_is_named_at_load() {
        let mut settings = BookingSettings::default();
        settings.vat_codes.remove("reverse_charge");
        assert_eq!(problems(&settings), ["vat_codes.\"reverse_charge\""]);
        settings
            .vat_codes
            .insert("reverse_charge".into(), "4".into());
        settings.oss_registered = true;
        settings.oss_countries = vec!["DE".parse().unwrap()];
        settings.vat_codes.insert("oss/DE/19".into(), "ODE".into());
        assert_eq!(problems(&settings), ["vat_codes.\"oss/DE/7\""]);
    }

    #[test]
    fn module_settings_that_do_not_fit_are_named() {
        let settings: BookingSettings = toml::from_str(
            r#"
            reference = "invoice_number"
            [customers.business.collective_debtor]
            default = "9999"
            [email_check]
            on_invalid = "fallback"
            [accounts]
            shipping = ""
            "#,
        )
        .unwrap();
        assert_eq!(
            problems(&settings),
            [
                "accounts.shipping",
                "customers.business.collective_debtor",
                "email_check.fallback",
                "reference"
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = toml::from_str::<BookingSettings>("custmer_match = \"email\"").unwrap_err();
        assert!(error.to_string().contains("custmer_match"), "{error}");
    }

    #[test]
    fn extra_fields_read_from_a_field_or_a_value() {
        let settings: BookingSettings = toml::from_str(
            r#"
            [extra_fields]
            payment_reference = { field = "_transaction_id" }
            intrastat_transaction_a = { value = "1" }
            "#,
        )
        .unwrap();
        assert_eq!(
            settings.extra_fields[&ExtraField::PaymentReference],
            FieldSource::Field("_transaction_id".into())
        );
        assert_eq!(
            ExtraField::IntrastatTransactionA.name(),
            "intrastat_transaction_a"
        );
    }
}
