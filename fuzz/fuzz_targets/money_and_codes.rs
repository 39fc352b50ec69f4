//! The newtypes a shop's fields are parsed into at the edge: amounts, currency and country
//! codes, e-mail addresses. Each must read back as itself from the form it is kept in.
#![no_main]

use ledgerlink_core::{Country, Currency, Email, Money};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;

fuzz_target!(|input: &str| {
    if let Ok(money) = input.parse::<Money>() {
        // Every digit is kept: the full decimal reads back as the same amount.
        assert_eq!(money.amount().to_string().parse::<Money>(), Ok(money));
        // As the ledger's JSON keeps it.
        let json = serde_json::to_string(&money).expect("money serialises");
        assert_eq!(serde_json::from_str::<Money>(&json).ok(), Some(money));
        // Shown to the cent, it is still money, less than a cent away.
        let shown = money.to_string();
        let reread: Money = shown
            .parse()
            .unwrap_or_else(|e| panic!("{input:?} is shown as {shown}: {e}"));
        assert!((reread - money).abs().amount() < Decimal::new(1, 2));
        // Rounding to the cent moves at most half a cent, whatever the digits.
        assert!((money.round_cents() - money).abs().amount() <= Decimal::new(5, 3));
    }
    if let Ok(currency) = input.parse::<Currency>() {
        assert_eq!(currency.code().len(), 3);
        assert_eq!(currency.code().parse::<Currency>(), Ok(currency));
    }
    if let Ok(country) = input.parse::<Country>() {
        assert_eq!(country.code().parse::<Country>(), Ok(country));
        assert_eq!(Country::from_vat_prefix(country.vat_prefix()), Ok(country));
    }
    if let Ok(email) = input.parse::<Email>() {
        // Documents keep the address as text and parse it again when they are read back.
        assert_eq!(
            email.as_str().parse::<Email>().as_ref(),
            Ok(&email),
            "{input:?} → {email}"
        );
        assert!(!email.domain().is_empty());
    }
});
