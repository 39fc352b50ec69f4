//! VAT numbers as customers type them into a shop: the shape (`VatNumber`), then the
//! country's format and check digits (`rules::vat_number`).
#![no_main]

use ledgerlink_core::VatNumber;
use ledgerlink_rules::vat_number::{check, check_str, VatNumberError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(number) = input.parse::<VatNumber>() else {
        assert!(
            check_str(input).is_err(),
            "{input:?} has no shape but passes"
        );
        return;
    };
    // The normal form is what the ledger keeps and VIES is asked: it reads back as itself.
    let written = number.to_string();
    assert_eq!(
        written.parse::<VatNumber>().as_ref(),
        Ok(&number),
        "{input:?} → {written}"
    );
    assert_eq!(written, format!("{}{}", number.prefix(), number.body()));
    let verdict = check(&number);
    assert_eq!(check_str(input), verdict.clone().map(|()| number.clone()));
    assert_eq!(
        check_str(&written),
        verdict.clone().map(|()| number.clone())
    );
    match verdict {
        Ok(()) => {}
        // Only blamed on a repeat when the number without it is valid.
        Err(VatNumberError::RepeatedPrefix { corrected, .. }) => {
            assert_eq!(check(&corrected), Ok(()), "{input:?} → {corrected}");
        }
        // The merchant reads the reason: it names the number.
        Err(error) => assert!(error.to_string().contains(&written), "{error}"),
    }
});
