//! Offline check of a VAT number: the format and check digits each member state (and Northern
//! Ireland, prefix XI) uses, so a typo is caught before a VIES lookup or a booking.
//!
//! The rules are written from `tests/data/vat-number-formats.json`. Passing this check means
//! the number *can* exist, not that it is registered: only VIES can say that.
//!
//! A failure is sorted like the reference vectors: the wrong number of characters
//! ([`VatNumberError::Length`]), characters where the country never has them
//! ([`VatNumberError::Format`]), a part that cannot exist such as an unknown tax office or a
//! birth date that never was ([`VatNumberError::Component`]), check digits that do not match
//! ([`VatNumberError::Checksum`]) or the country prefix typed twice
//! ([`VatNumberError::RepeatedPrefix`]).

use std::sync::Arc;

use chrono::NaiveDate;
use ledgerlink_core::vat_number::VatNumberParseError;
use ledgerlink_core::{Country, VatNumber};

/// Why a VAT number fails the offline check, in words a merchant can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatNumberError {
    /// Not shaped like a VAT number at all (no EU prefix, too short, odd characters).
    #[error(transparent)]
    Parse(Arc<VatNumberParseError>),
    /// The country's numbers have another number of characters after the prefix.
    #[error(
        "{number}: a VAT number from {country} has {expected} after {prefix}, this one has {found} characters — check the number with the customer",
        country = country_name(.number),
        prefix = .number.prefix(),
        found = .number.body().len()
    )]
    Length {
        number: VatNumber,
        expected: &'static str,
    },
    /// Characters the country's numbers never have, or not in those places.
    #[error(
        "{number}: not written like a VAT number from {country} ({problem}) — check the number with the customer",
        country = country_name(.number)
    )]
    Format {
        number: VatNumber,
        problem: &'static str,
    },
    /// Well written, but a part of it cannot exist (e.g. a tax office or a birth date).
    #[error(
        "{number}: {problem}, so it is not a valid VAT number from {country} — check the number with the customer",
        country = country_name(.number)
    )]
    Component {
        number: VatNumber,
        problem: &'static str,
    },
    /// Well written, but the check digits do not match the rest: most likely a typo.
    #[error(
        "{number}: the check digits do not match for a VAT number from {country} — check the number with the customer",
        country = country_name(.number)
    )]
    Checksum { number: VatNumber },
    /// The country prefix was typed twice; without the repeat the number is valid.
    #[error(
        "{number}: the country prefix is written twice — the VAT number from {country} is {corrected}",
        country = country_name(.number)
    )]
    RepeatedPrefix {
        number: VatNumber,
        corrected: VatNumber,
    },
}

impl From<VatNumberParseError> for VatNumberError {
    fn from(error: VatNumberParseError) -> Self {
        VatNumberError::Parse(Arc::new(error))
    }
}

/// Checks the format and check digits of a parsed VAT number for its country. Old short forms
/// that the countries still accept (Belgium's 9 digits, Greece's 8, Dutch numbers without their
/// leading zeros) pass as they are.
pub fn check(number: &VatNumber) -> Result<(), VatNumberError> {
    let problem = match check_body(number) {
        Ok(()) => return Ok(()),
        Err(problem) => problem,
    };
    if let Some(corrected) = without_repeated_prefix(number) {
        return Err(VatNumberError::RepeatedPrefix {
            number: number.clone(),
            corrected,
        });
    }
    let number = number.clone();
    Err(match problem {
        Problem::Length(expected) => VatNumberError::Length { number, expected },
        Problem::Format(problem) => VatNumberError::Format { number, problem },
        Problem::Component(problem) => VatNumberError::Component { number, problem },
        Problem::Checksum => VatNumberError::Checksum { number },
    })
}

/// Parses `input` as a VAT number (separators and case do not matter), then [`check`]s it.
pub fn check_str(input: &str) -> Result<VatNumber, VatNumberError> {
    let number: VatNumber = input.parse()?;
    check(&number)?;
    Ok(number)
}

/// What is wrong with the part after the prefix; [`check`] adds the number to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    /// The expected length, as a noun phrase ("8 digits").
    Length(&'static str),
    Format(&'static str),
    Component(&'static str),
    Checksum,
}

/// Checks the part after the prefix for one country.
type BodyCheck = fn(&[u8]) -> Result<(), Problem>;

/// How one country's numbers are checked.
struct CountryRules {
    name: &'static str,
    check: BodyCheck,
}

fn rules_for(country: Country) -> Option<CountryRules> {
    let (name, check): (_, BodyCheck) = match country.code() {
        "AT" => ("Austria", austrian_uid),
        "BE" => ("Belgium", belgian_enterprise_number),
        "BG" => ("Bulgaria", bulgarian_vat),
        "CY" => ("Cyprus", cypriot_tic),
        "CZ" => ("Czechia", czech_dic),
        "DE" => ("Germany", german_ust_idnr),
        "DK" => ("Denmark", danish_cvr),
        "EE" => ("Estonia", estonian_kmkr),
        "ES" => ("Spain", spanish_nif),
        "FI" => ("Finland", finnish_alv),
        "FR" => ("France", french_tva),
        "GR" => ("Greece", greek_afm),
        "HR" => ("Croatia", croatian_oib),
        "HU" => ("Hungary", hungarian_anum),
        "IE" => ("Ireland", irish_vat),
        "IT" => ("Italy", italian_partita_iva),
        "LT" => ("Lithuania", lithuanian_pvm),
        "LU" => ("Luxembourg", luxembourg_tva),
        "LV" => ("Latvia", latvian_pvn),
        "MT" => ("Malta", maltese_vat),
        "NL" => ("the Netherlands", dutch_btw),
        "PL" => ("Poland", polish_nip),
        "PT" => ("Portugal", portuguese_nif),
        "RO" => ("Romania", romanian_cif),
        "SE" => ("Sweden", swedish_momsnummer),
        "SI" => ("Slovenia", slovenian_ddv),
        "SK" => ("Slovakia", slovak_ic_dph),
        "XI" => ("Northern Ireland", northern_irish_vat),
        _ => return None,
    };
    Some(CountryRules { name, check })
}

fn country_name(number: &VatNumber) -> &str {
    rules_for(number.country()).map_or(number.prefix(), |rules| rules.name)
}

fn check_body(number: &VatNumber) -> Result<(), Problem> {
    match rules_for(number.country()) {
        Some(rules) => (rules.check)(number.body().as_bytes()),
        None => Err(Problem::Component(
            "ledgerlink knows no VAT-number rules for this prefix",
        )),
    }
}

/// The number without a repeated country prefix ("AT ATU…", "ATU ATU…", "NL NL…"), if that
/// is a valid number; `None` otherwise, so a number is never blamed on a repeat it lacks.
fn without_repeated_prefix(number: &VatNumber) -> Option<VatNumber> {
    let body = number.body();
    // Austrian numbers are usually written "ATU…", so the repeat can follow the U.
    let body = match number.country().code() {
        "AT" => body.strip_prefix('U').unwrap_or(body),
        _ => body,
    };
    [number.prefix(), number.country().code()]
        .into_iter()
        .find_map(|repeat| {
            let rest = body.strip_prefix(repeat)?;
            let corrected: VatNumber = format!("{}{rest}", number.prefix()).parse().ok()?;
            check_body(&corrected).is_ok().then_some(corrected)
        })
}

// ---------------------------------------------------------------------------------------------
// Shared building blocks

const ONLY_DIGITS: &str = "only digits may follow the prefix";

/// `s` as exactly `N` digits, or `None`.
fn digits<const N: usize>(s: &[u8]) -> Option<[u32; N]> {
    let bytes: &[u8; N] = s.try_into().ok()?;
    let mut out = [0; N];
    for (digit, byte) in out.iter_mut().zip(bytes) {
        *digit = char::from(*byte).to_digit(10)?;
    }
    Some(out)
}

/// The body as digits of any length; a format problem if it has anything else. For countries
/// whose numbers are all digits this comes before the length: a letter is the clearer fault.
fn only_digits(body: &[u8]) -> Result<Vec<u32>, Problem> {
    body.iter()
        .map(|byte| char::from(*byte).to_digit(10))
        .collect::<Option<_>>()
        .ok_or(Problem::Format(ONLY_DIGITS))
}

/// The body as exactly `N` digits: a format problem if it has anything but digits, else a
/// length problem naming `expected` if it has another length.
fn fixed_digits<const N: usize>(body: &[u8], expected: &'static str) -> Result<[u32; N], Problem> {
    only_digits(body)?
        .try_into()
        .map_err(|_| Problem::Length(expected))
}

/// A format problem unless `ok`.
fn format(ok: bool, problem: &'static str) -> Result<(), Problem> {
    if ok {
        Ok(())
    } else {
        Err(Problem::Format(problem))
    }
}

/// A component problem unless `ok`.
fn component(ok: bool, problem: &'static str) -> Result<(), Problem> {
    if ok {
        Ok(())
    } else {
        Err(Problem::Component(problem))
    }
}

/// A checksum problem unless `ok`.
fn checksum(ok: bool) -> Result<(), Problem> {
    if ok {
        Ok(())
    } else {
        Err(Problem::Checksum)
    }
}

/// Σ digit × weight, pairing from the left (extra digits or weights are ignored).
fn weighted_sum(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// The digits read as one decimal number (callers pass at most 12 digits).
fn value(digits: &[u32]) -> u64 {
    digits
        .iter()
        .fold(0, |acc, &digit| acc * 10 + u64::from(digit))
}

/// The Luhn sum: from the right, every second digit doubled (a result above 9 less 9);
/// `rightmost_doubled` says whether that starts with the rightmost digit.
fn luhn_sum(digits: &[u32], rightmost_doubled: bool) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &digit)| {
            if (i % 2 == 0) == rightmost_doubled {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum()
}

/// Luhn (MOD 10): the digits, check digit last, are valid.
fn luhn_valid(digits: &[u32]) -> bool {
    luhn_sum(digits, false) % 10 == 0
}

/// Luhn (MOD 10): the check digit to append to `digits`.
fn luhn_check_digit(digits: &[u32]) -> u32 {
    (10 - luhn_sum(digits, true) % 10) % 10
}

/// ISO 7064 MOD 11,10 (hybrid system): the digits, check digit last, are valid.
fn iso7064_mod11_10_valid(digits: &[u32]) -> bool {
    let mut product = 10;
    let mut sum = 0;
    for &digit in digits {
        sum = (product + digit) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    sum == 1
}

/// ISO 7064 MOD 97-10 over letters and digits (A = 10 … Z = 35), computed digit by digit.
fn iso7064_mod97_10_valid(chars: &[u8]) -> bool {
    let mut remainder = 0;
    for byte in chars {
        let Some(v) = char::from(*byte).to_digit(36) else {
            return false;
        };
        remainder = if v < 10 {
            (remainder * 10 + v) % 97
        } else {
            (remainder * 100 + v) % 97
        };
    }
    remainder == 1
}

/// The date exists in the calendar.
fn date_exists(year: u32, month: u32, day: u32) -> bool {
    i32::try_from(year)
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, month, day))
        .is_some()
}

/// Two digits as a number (`[1, 2]` → 12).
fn two_digits(pair: &[u32]) -> u32 {
    pair.iter().fold(0, |acc, d| acc * 10 + d)
}

const NO_SUCH_BIRTH_DATE: &str = "the date of birth in this personal number does not exist";

// ---------------------------------------------------------------------------------------------
// One function per country

/// Austria (UID): U + 8 digits; Luhn-style sum (every second digit doubled) with an offset of 4.
fn austrian_uid(body: &[u8]) -> Result<(), Problem> {
    const EXPECTED: &str = "a U and 8 digits";
    if body.len() != 9 {
        return Err(Problem::Length(EXPECTED));
    }
    let d = body
        .strip_prefix(b"U")
        .and_then(digits::<8>)
        .ok_or(Problem::Format("it must be a U followed by 8 digits"))?;
    let sum = luhn_sum(&d[..7], false);
    checksum(d[7] == (10 - (sum + 4) % 10) % 10)
}

/// Belgium (enterprise number): 10 digits starting with 0 or 1 (9 in the old style, read with
/// a leading 0); MOD 97: the last two digits are 97 minus the first eight modulo 97.
fn belgian_enterprise_number(body: &[u8]) -> Result<(), Problem> {
    let padded: Vec<u8>;
    let body = if body.len() == 9 {
        padded = [&b"0"[..], body].concat();
        &padded
    } else {
        body
    };
    let d = fixed_digits::<10>(body, "10 digits")?;
    format(d[0] <= 1, "the first digit must be 0 or 1")?;
    format(d.iter().any(|&d| d != 0), "it cannot be all zeros")?;
    checksum((value(&d[..8]) + value(&d[8..])) % 97 == 0)
}

/// Bulgaria: 9 digits (BULSTAT of a legal entity) or 10 digits (a person's EGN, a foreigner's
/// PNF or another 10-digit number), each with its own weighted MOD 11 or MOD 10 check.
fn bulgarian_vat(body: &[u8]) -> Result<(), Problem> {
    let d = only_digits(body)?;
    if let Ok(d) = <[u32; 9]>::try_from(d.as_slice()) {
        return checksum(bulgarian_bulstat(&d));
    }
    let d = <[u32; 10]>::try_from(d.as_slice()).map_err(|_| Problem::Length("9 or 10 digits"))?;
    checksum(bulgarian_egn(&d) || bulgarian_pnf(&d) || bulgarian_other_10_digits(&d))
}

/// Bulgarian BULSTAT: MOD 11 with weights 1–8, or 3–10 when the first remainder is 10.
fn bulgarian_bulstat(d: &[u32; 9]) -> bool {
    let mut sum = weighted_sum(d, &[1, 2, 3, 4, 5, 6, 7, 8]) % 11;
    if sum == 10 {
        sum = weighted_sum(d, &[3, 4, 5, 6, 7, 8, 9, 10]) % 11;
    }
    d[8] == sum % 10
}

/// Bulgarian EGN (personal number): a real birth date YYMMDD (month +20 for the 1800s, +40 for
/// the 2000s) and a weighted MOD 11 check digit.
fn bulgarian_egn(d: &[u32; 10]) -> bool {
    let check = weighted_sum(d, &[2, 4, 8, 5, 10, 9, 7, 3, 6]) % 11 % 10;
    let (year, month) = match two_digits(&d[2..4]) {
        month @ 1..=12 => (1900, month),
        month @ 21..=32 => (1800, month - 20),
        month @ 41..=52 => (2000, month - 40),
        _ => return false,
    };
    check == d[9] && date_exists(year + two_digits(&d[..2]), month, two_digits(&d[4..6]))
}

/// Bulgarian PNF (personal number of a foreigner): weighted MOD 10.
fn bulgarian_pnf(d: &[u32; 10]) -> bool {
    weighted_sum(d, &[21, 19, 17, 13, 11, 9, 7, 3, 1]) % 10 == d[9]
}

/// Other Bulgarian 10-digit numbers: weighted MOD 11, where a remainder giving 10 is invalid.
fn bulgarian_other_10_digits(d: &[u32; 10]) -> bool {
    (11 - weighted_sum(d, &[4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11) % 11 == d[9]
}

/// Cyprus (TIC): 8 digits and a check letter; odd positions mapped through a table, MOD 26.
fn cypriot_tic(body: &[u8]) -> Result<(), Problem> {
    const ODD_POSITION_VALUES: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
    let Some((letter, number)) = body.split_last().filter(|_| body.len() == 9) else {
        return Err(Problem::Length("8 digits and a letter"));
    };
    let d = digits::<8>(number)
        .filter(|_| letter.is_ascii_uppercase())
        .ok_or(Problem::Format("it must be 8 digits followed by a letter"))?;
    component(d[..2] != [1, 2], "Cypriot numbers never start with 12")?;
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &digit)| match i % 2 {
            0 => ODD_POSITION_VALUES[digit as usize],
            _ => digit,
        })
        .sum();
    checksum(u32::from(*letter) == u32::from(b'A') + sum % 26)
}

/// Czechia (DIČ): 8 digits for a legal entity, 9 starting with 6 for a person without a birth
/// number, otherwise a birth number (rodné číslo) of 9 or 10 digits.
fn czech_dic(body: &[u8]) -> Result<(), Problem> {
    let d = only_digits(body)?;
    if !(8..=10).contains(&d.len()) {
        return Err(Problem::Length("8, 9 or 10 digits"));
    }
    if let Ok(d) = <[u32; 8]>::try_from(d.as_slice()) {
        return czech_legal_entity(&d);
    }
    if let Ok(d) = <[u32; 9]>::try_from(d.as_slice()) {
        if d[0] == 6 {
            return czech_individual_without_birth_number(&d);
        }
    }
    czech_birth_number(&d)
}

/// Czech legal entity (IČO): MOD 11 with weights 8–2; remainder 0 gives 1, 10 gives 0.
fn czech_legal_entity(d: &[u32; 8]) -> Result<(), Problem> {
    component(d[0] != 9, "Czech company numbers never start with 9")?;
    let expected = match (11 - weighted_sum(d, &[8, 7, 6, 5, 4, 3, 2]) % 11) % 11 {
        0 => 1,
        10 => 0,
        r => r,
    };
    checksum(d[7] == expected)
}

/// Czech individual without a birth number (9 digits starting with 6): MOD 11 over digits 2–8.
fn czech_individual_without_birth_number(d: &[u32; 9]) -> Result<(), Problem> {
    let c = i64::from(weighted_sum(&d[1..8], &[8, 7, 6, 5, 4, 3, 2]) % 11);
    let expected = (8 - (10 - c) % 11).rem_euclid(10);
    checksum(i64::from(d[8]) == expected)
}

/// Czech birth number: YYMMDD (month +50 for women, +20 since 2004 if a day's serials ran out),
/// and in the 10-digit form, MOD 11 of the first nine digits; the 9-digit form predates 1954.
fn czech_birth_number(d: &[u32]) -> Result<(), Problem> {
    let (yy, month, day) = (
        two_digits(&d[..2]),
        two_digits(&d[2..4]),
        two_digits(&d[4..6]),
    );
    let month = if month > 50 { month - 50 } else { month };
    let month = if month > 20 { month - 20 } else { month };
    let year = match d {
        [first_nine @ .., check] if d.len() == 10 => {
            checksum(value(first_nine) % 11 % 10 == u64::from(*check))?;
            if yy < 54 {
                2000 + yy
            } else {
                1900 + yy
            }
        }
        _ => {
            component(
                yy < 54,
                "9-digit Czech birth numbers were only issued before 1954",
            )?;
            1900 + yy
        }
    };
    component(date_exists(year, month, day), NO_SUCH_BIRTH_DATE)
}

/// Germany (USt-IdNr.): 9 digits, not starting with 0; ISO 7064 MOD 11,10.
fn german_ust_idnr(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<9>(body, "9 digits")?;
    format(d[0] != 0, "the first digit cannot be 0")?;
    checksum(iso7064_mod11_10_valid(&d))
}

/// Denmark (CVR): 8 digits, not starting with 0; weighted MOD 11.
fn danish_cvr(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<8>(body, "8 digits")?;
    format(d[0] != 0, "the first digit cannot be 0")?;
    checksum(weighted_sum(&d, &[2, 7, 6, 5, 4, 3, 2, 1]) % 11 == 0)
}

/// Estonia (KMKR): 9 digits; weighted MOD 10 with weights 3, 7, 1.
fn estonian_kmkr(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<9>(body, "9 digits")?;
    checksum(weighted_sum(&d, &[3, 7, 1, 3, 7, 1, 3, 7, 1]) % 10 == 0)
}

/// Spain (NIF): DNI (8 digits + letter), NIE (X/Y/Z + 7 digits + letter) and K/L/M numbers
/// take a MOD 23 letter; a company's CIF (letter + 7 digits) takes a Luhn digit or letter.
fn spanish_nif(body: &[u8]) -> Result<(), Problem> {
    const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    const CIF_LETTERS: &[u8; 10] = b"JABCDEFGHI";
    let (9, [first, middle @ .., last]) = (body.len(), body) else {
        return Err(Problem::Length("9 characters"));
    };
    let middle = digits::<7>(middle).ok_or(Problem::Format(
        "it must have 7 digits between the first and the last character",
    ))?;
    let dni_letter = |number: u64| DNI_LETTERS.get((number % 23) as usize);
    let ok = match first {
        b'0'..=b'9' => {
            let number = u64::from(first - b'0') * 10_000_000 + value(&middle);
            dni_letter(number) == Some(last)
        }
        b'K' | b'L' | b'M' => dni_letter(value(&middle)) == Some(last),
        b'X' | b'Y' | b'Z' => {
            let number = u64::from(first - b'X') * 10_000_000 + value(&middle);
            dni_letter(number) == Some(last)
        }
        b'A'..=b'H' | b'J' | b'N' | b'P'..=b'S' | b'U'..=b'W' => {
            let check = luhn_check_digit(&middle);
            char::from(*last).to_digit(10) == Some(check)
                || CIF_LETTERS.get(check as usize) == Some(last)
        }
        _ => {
            return Err(Problem::Format(
                "it must start with a digit or a letter used in Spanish tax numbers",
            ))
        }
    };
    checksum(ok)
}

/// Finland (ALV): 8 digits; weighted MOD 11.
fn finnish_alv(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<8>(body, "8 digits")?;
    checksum(weighted_sum(&d, &[7, 9, 10, 5, 8, 4, 2, 1]) % 11 == 0)
}

/// France (TVA): a 2-character key and the 9-digit SIREN (Luhn, except Monaco's 000…); a
/// numeric key is MOD 97 of the SIREN, a key with letters uses the newer MOD 11 scheme.
fn french_tva(body: &[u8]) -> Result<(), Problem> {
    const KEY_ALPHABET: &[u8; 34] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let (11, [key_0, key_1, siren @ ..]) = (body.len(), body) else {
        return Err(Problem::Length("11 characters"));
    };
    let key_index = |byte: &u8| KEY_ALPHABET.iter().position(|c| c == byte);
    let (Some(i0), Some(i1), Some(siren)) =
        (key_index(key_0), key_index(key_1), digits::<9>(siren))
    else {
        return Err(Problem::Format(
            "it must be 2 letters or digits (not I or O) followed by the 9-digit SIREN",
        ));
    };
    checksum(siren[..3] == [0, 0, 0] || luhn_valid(&siren))?;
    let siren = value(&siren);
    let (i0, i1) = (i0 as u64, i1 as u64);
    if i0 < 10 && i1 < 10 {
        return checksum(i0 * 10 + i1 == (siren * 100 + 12) % 97);
    }
    // At least one letter (index ≥ 10) makes both expressions non-negative.
    let c = if i0 < 10 {
        i0 * 24 + i1 - 10
    } else {
        i0 * 34 + i1 - 100
    };
    checksum((siren + 1 + c / 11) % 11 == c % 11)
}

/// Greece (AFM): 9 digits (8 in the old style, read with a leading 0); weights 2⁸ … 2¹,
/// MOD 11 then MOD 10.
fn greek_afm(body: &[u8]) -> Result<(), Problem> {
    let padded: Vec<u8>;
    let body = if body.len() == 8 {
        padded = [&b"0"[..], body].concat();
        &padded
    } else {
        body
    };
    let d = fixed_digits::<9>(body, "9 digits")?;
    checksum(weighted_sum(&d, &[256, 128, 64, 32, 16, 8, 4, 2]) % 11 % 10 == d[8])
}

/// Croatia (OIB): 11 digits; ISO 7064 MOD 11,10.
fn croatian_oib(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<11>(body, "11 digits")?;
    checksum(iso7064_mod11_10_valid(&d))
}

/// Hungary (ANUM): 8 digits; weighted MOD 10 with weights 9, 7, 3, 1.
fn hungarian_anum(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<8>(body, "8 digits")?;
    checksum(weighted_sum(&d, &[9, 7, 3, 1, 9, 7, 3, 1]) % 10 == 0)
}

/// Ireland: 7 digits, a check letter and an optional second letter (or the old style digit,
/// letter, 5 digits, check letter); weighted MOD 23 giving the check letter.
fn irish_vat(body: &[u8]) -> Result<(), Problem> {
    const LETTERS: &[u8; 23] = b"WABCDEFGHIJKLMNOPQRSTUV";
    const WRITTEN: &str =
        "it must be 7 digits and one or two letters, or a digit, a letter, 5 digits and a letter";
    if !matches!(body.len(), 8 | 9) {
        return Err(Problem::Length("8 or 9 characters"));
    }
    let letter_value = |byte: &u8| LETTERS.iter().position(|c| c == byte);
    let (seven, check, second) = match body {
        // Old style: the second character is a letter; rearranged to 0 + 5 digits + first digit.
        [first, b'A'..=b'Z', five @ .., check] if body.len() == 8 => {
            let number = [&[b'0'][..], five, &[*first][..]].concat();
            (digits::<7>(&number), check, 0)
        }
        [seven @ .., check] if body.len() == 8 => (digits::<7>(seven), check, 0),
        [seven @ .., check, second @ (b'A'..=b'I' | b'W')] => {
            (digits::<7>(seven), check, letter_value(second).unwrap_or(0))
        }
        _ => return Err(Problem::Format(WRITTEN)),
    };
    let seven = seven.ok_or(Problem::Format(WRITTEN))?;
    let check = letter_value(check).ok_or(Problem::Format(WRITTEN))?;
    let sum = weighted_sum(&seven, &[8, 7, 6, 5, 4, 3, 2]) as usize + 9 * second;
    checksum(check == sum % 23)
}

/// Italy (partita IVA): 11 digits — a company number, a tax-office code and a Luhn check digit.
fn italian_partita_iva(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<11>(body, "11 digits")?;
    component(
        d[..7].iter().any(|&d| d != 0),
        "the company number (the first 7 digits) is all zeros",
    )?;
    component(
        matches!(value(&d[7..10]), 1..=100 | 120 | 121 | 888 | 999),
        "digits 8 to 10 are not the code of an Italian tax office",
    )?;
    checksum(luhn_valid(&d))
}

/// Lithuania (PVM): 9 digits (legal entity) or 12 (temporary), the second-to-last being 1;
/// MOD 11 with weights 1–9 repeating, or shifted by two when the first remainder is 10.
fn lithuanian_pvm(body: &[u8]) -> Result<(), Problem> {
    let d = only_digits(body)?;
    let Some((&check, rest)) = d.split_last().filter(|_| matches!(d.len(), 9 | 12)) else {
        return Err(Problem::Length("9 or 12 digits"));
    };
    component(
        rest.last() == Some(&1),
        "the second-to-last digit of a Lithuanian VAT number is always 1",
    )?;
    let sum_with = |shift: usize| -> u32 {
        rest.iter()
            .enumerate()
            .map(|(i, &digit)| (1 + (i + shift) % 9) as u32 * digit)
            .sum::<u32>()
            % 11
    };
    let mut sum = sum_with(0);
    if sum == 10 {
        sum = sum_with(2);
    }
    checksum(check == sum % 10)
}

/// Luxembourg (TVA): 8 digits; the last two are the first six MOD 89.
fn luxembourg_tva(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<8>(body, "8 digits")?;
    checksum(value(&d[..6]) % 89 == value(&d[6..]))
}

/// Latvia (PVN): 11 digits. A legal entity (first digit above 3) is weighted MOD 11 = 3; a
/// personal code is a weighted MOD 11 check digit over a birth date DDMMYY + century digit
/// (codes starting with 32, issued since 2017, carry no date).
fn latvian_pvn(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<11>(body, "11 digits")?;
    if d[0] > 3 {
        return checksum(weighted_sum(&d, &[9, 1, 4, 8, 3, 10, 2, 5, 7, 6, 1]) % 11 == 3);
    }
    let sum = 1 + weighted_sum(&d, &[10, 5, 8, 4, 2, 1, 6, 3, 7, 9]);
    // A wrong check digit is the likelier typo, so it is reported before the date.
    checksum(sum % 11 % 10 == d[10])?;
    if d[..2] == [3, 2] {
        return Ok(());
    }
    let century = match d[6] {
        0 => 1800,
        1 => 1900,
        2 => 2000,
        _ => return Err(Problem::Component(NO_SUCH_BIRTH_DATE)),
    };
    component(
        date_exists(
            century + two_digits(&d[4..6]),
            two_digits(&d[2..4]),
            two_digits(&d[..2]),
        ),
        NO_SUCH_BIRTH_DATE,
    )
}

/// Malta: 8 digits, not starting with 0; weighted MOD 37.
fn maltese_vat(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<8>(body, "8 digits")?;
    format(d[0] != 0, "the first digit cannot be 0")?;
    checksum(weighted_sum(&d, &[3, 4, 6, 7, 8, 9, 10, 1]) % 37 == 0)
}

/// The Netherlands (btw): 9 digits (leading zeros may be left out), B and 2 digits; the digits
/// pass the MOD 11 "elfproef" (older numbers) or the whole number ISO 7064 MOD 97-10 (the
/// btw-identificatienummer of sole proprietors since 2020).
fn dutch_btw(body: &[u8]) -> Result<(), Problem> {
    const WRITTEN: &str = "it must be 9 digits, a B and 2 digits, e.g. 123456789B01";
    let b = body
        .iter()
        .position(|&c| c == b'B')
        .ok_or(Problem::Format(WRITTEN))?;
    let (number, suffix) = body.split_at(b);
    if !(1..=9).contains(&number.len()) {
        return Err(Problem::Format(WRITTEN));
    }
    let (Some(d), Some(after_b)) = (
        digits::<9>(&[&b"000000000"[number.len()..], number].concat()),
        suffix.strip_prefix(b"B").and_then(digits::<2>),
    ) else {
        return Err(Problem::Format(WRITTEN));
    };
    format(d.iter().any(|&d| d != 0), "the 9 digits cannot all be 0")?;
    format(
        after_b != [0, 0],
        "the two digits after the B must be 01 to 99",
    )?;
    // Adding 11 × 9 keeps the subtraction of the last digit from going below zero.
    let elfproef = (weighted_sum(&d, &[9, 8, 7, 6, 5, 4, 3, 2]) + 11 * 9 - d[8]) % 11 == 0;
    let padded = format!("NL{:09}B{:02}", value(&d), value(&after_b));
    checksum(elfproef || iso7064_mod97_10_valid(padded.as_bytes()))
}

/// Poland (NIP): 10 digits; weighted MOD 11 (a remainder of 10 is never valid).
fn polish_nip(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<10>(body, "10 digits")?;
    checksum(weighted_sum(&d, &[6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11 == d[9])
}

/// Portugal (NIF): 9 digits, not starting with 0; weighted MOD 11 with weights 9–2.
fn portuguese_nif(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<9>(body, "9 digits")?;
    format(d[0] != 0, "the first digit cannot be 0")?;
    let sum = weighted_sum(&d, &[9, 8, 7, 6, 5, 4, 3, 2]);
    checksum((11 - sum % 11) % 11 % 10 == d[8])
}

/// Romania (CUI/CIF): 2 to 10 digits, not starting with 0; weighted MOD 11 with the weights
/// 7, 5, 3, 2, 1, 7, 5, 3, 2 aligned to the right.
fn romanian_cif(body: &[u8]) -> Result<(), Problem> {
    const WEIGHTS: [u32; 9] = [7, 5, 3, 2, 1, 7, 5, 3, 2];
    let d = only_digits(body)?;
    let Some((&check, rest)) = d.split_last().filter(|_| (2..=10).contains(&d.len())) else {
        return Err(Problem::Length("2 to 10 digits"));
    };
    format(rest.first() != Some(&0), "the first digit cannot be 0")?;
    let sum: u32 = rest
        .iter()
        .rev()
        .zip(WEIGHTS.iter().rev())
        .map(|(d, w)| d * w)
        .sum();
    checksum(10 * sum % 11 % 10 == check)
}

/// Sweden (momsregistreringsnummer): the 10-digit organisation or personal number (Luhn)
/// followed by 01.
fn swedish_momsnummer(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<12>(body, "12 digits")?;
    format(d[10..] == [0, 1], "it must end in 01")?;
    checksum(luhn_valid(&d[..10]))
}

/// Slovenia (DDV): 8 digits, not starting with 0; weighted MOD 11 with weights 8–2 (a check
/// value of 10 is written 0, 11 is never valid).
fn slovenian_ddv(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<8>(body, "8 digits")?;
    format(d[0] != 0, "the first digit cannot be 0")?;
    let check = match 11 - weighted_sum(&d, &[8, 7, 6, 5, 4, 3, 2]) % 11 {
        10 => 0,
        11 => return Err(Problem::Checksum),
        check => check,
    };
    checksum(d[7] == check)
}

/// Slovakia (IČ DPH): 10 digits, not starting with 0, the third digit 2, 3, 4, 7, 8 or 9;
/// the whole number is divisible by 11 (MOD 11).
fn slovak_ic_dph(body: &[u8]) -> Result<(), Problem> {
    let d = fixed_digits::<10>(body, "10 digits")?;
    format(d[0] != 0, "the first digit cannot be 0")?;
    format(
        matches!(d[2], 2 | 3 | 4 | 7 | 8 | 9),
        "the third digit must be 2, 3, 4, 7, 8 or 9",
    )?;
    checksum(value(&d) % 11 == 0)
}

/// Northern Ireland (UK VAT rules under prefix XI): 9 digits (12 with a branch), or a
/// government department (GD) or health authority (HA) number.
fn northern_irish_vat(body: &[u8]) -> Result<(), Problem> {
    if let Some(rest) = body.strip_prefix(b"GD") {
        return uk_government_or_health_number(rest, |first| first < 5);
    }
    if let Some(rest) = body.strip_prefix(b"HA") {
        return uk_government_or_health_number(rest, |first| first >= 5);
    }
    let d = only_digits(body)?;
    let nine = d
        .first_chunk::<9>()
        .filter(|_| matches!(d.len(), 9 | 12))
        .ok_or(Problem::Length("9 or 12 digits"))?;
    checksum(uk_vat_number(nine))
}

/// UK VAT number: weighted MOD 97 with weights 8–2, 10, 1; numbers from 100 on may also leave
/// 42 or 55 (the 1990s "9755" scheme).
fn uk_vat_number(d: &[u32; 9]) -> bool {
    let remainder = weighted_sum(d, &[8, 7, 6, 5, 4, 3, 2, 10, 1]) % 97;
    if value(&d[..3]) >= 100 {
        matches!(remainder, 0 | 42 | 55)
    } else {
        remainder == 0
    }
}

/// The digits after GD or HA: 3 digits in the kind's range (GD000–GD499, HA500–HA999; no check
/// digits), or the rare 8888nnnxx form whose xx is nnn MOD 97.
fn uk_government_or_health_number(
    digits_after_kind: &[u8],
    in_range: fn(u32) -> bool,
) -> Result<(), Problem> {
    match *only_digits(digits_after_kind)?.as_slice() {
        [first, _, _] => format(
            in_range(first),
            "GD numbers run from GD000 to GD499 and HA numbers from HA500 to HA999",
        ),
        [8, 8, 8, 8, a, b, c, x, y] => checksum(value(&[a, b, c]) % 97 == value(&[x, y])),
        _ => Err(Problem::Length("GD or HA and 3 digits")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PREFIXES: [&str; 28] = [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE",
        "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
    ];

    fn vat(input: &str) -> VatNumber {
        input.parse().unwrap()
    }

    #[test]
    fn every_member_state_and_northern_ireland_has_rules() {
        for prefix in PREFIXES {
            let country = Country::from_vat_prefix(prefix).unwrap();
            assert!(rules_for(country).is_some(), "{prefix}");
        }
    }

    #[test]
    fn shared_algorithms_match_known_values() {
        assert!(luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(!luhn_valid(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]));
        assert_eq!(luhn_check_digit(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1]), 3);
        assert!(iso7064_mod11_10_valid(&[3, 3, 3, 9, 2, 0, 0, 5, 9, 6, 1]));
        assert!(!iso7064_mod11_10_valid(&[3, 3, 3, 9, 2, 0, 0, 5, 9, 6, 2]));
        // The IBAN GB82 WEST 1234 5698 7654 32, rearranged as ISO 13616 checks it.
        assert!(iso7064_mod97_10_valid(b"WEST12345698765432GB82"));
        assert!(!iso7064_mod97_10_valid(b"WEST12345698765432GB83"));
    }

    #[test]
    fn check_str_returns_the_normalised_number() {
        assert_eq!(check_str("be 0477.472.701"), Ok(vat("BE0477472701")));
    }

    #[test]
    fn a_checksum_error_names_the_number_the_country_and_what_to_do() {
        let error = check_str("BE 0477.472.702").unwrap_err();
        assert_eq!(
            error,
            VatNumberError::Checksum {
                number: vat("BE0477472702")
            }
        );
        assert_eq!(
            error.to_string(),
            "BE0477472702: the check digits do not match for a VAT number from Belgium — check \
             the number with the customer"
        );
    }

    #[test]
    fn a_repeated_prefix_offers_the_number_without_it() {
        for input in ["ATU ATU 65033803", "AT ATU 65033803"] {
            assert_eq!(
                check_str(input),
                Err(VatNumberError::RepeatedPrefix {
                    number: vat(input),
                    corrected: vat("ATU65033803"),
                })
            );
        }
        // Greece's ISO code after its VAT prefix is the same mistake.
        assert!(matches!(
            check_str("EL GR 094501040"),
            Err(VatNumberError::RepeatedPrefix { corrected, .. }) if corrected == vat("EL094501040")
        ));
        // Without a valid number behind the repeat, the plain fault is reported.
        assert!(matches!(
            check_str("ATU ATU 65033804"),
            Err(VatNumberError::Length { .. })
        ));
    }

    #[test]
    fn northern_ireland_accepts_government_and_health_numbers() {
        for valid in [
            "XIGD123",
            "XIHA600",
            "XIGD888812326",
            "XI432525179",
            "XI432525179001",
        ] {
            assert_eq!(check_str(valid).map(|_| ()), Ok(()), "{valid}");
        }
        assert!(matches!(
            check_str("XIGD600"),
            Err(VatNumberError::Format { .. })
        ));
        assert!(matches!(
            check_str("XIHA499"),
            Err(VatNumberError::Format { .. })
        ));
        assert!(matches!(
            check_str("XIGD888812318"),
            Err(VatNumberError::Checksum { .. })
        ));
    }

    #[test]
    fn personal_numbers_without_a_reference_vector_are_accepted() {
        // A Latvian personal code (16.11.1975) and a Czech 10-digit birth number (19.03.1971).
        for valid in ["LV 161175-19997", "CZ 7103192745"] {
            assert_eq!(check_str(valid).map(|_| ()), Ok(()), "{valid}");
        }
    }

    #[test]
    fn a_letter_in_an_all_digit_number_is_reported_before_its_length() {
        assert!(matches!(
            check_str("DE 1234X56789"),
            Err(VatNumberError::Format { .. })
        ));
        assert!(matches!(
            check_str("DE 1234567890"),
            Err(VatNumberError::Length { .. })
        ));
    }

    #[test]
    fn an_impossible_birth_date_is_a_component_error() {
        // Latvian personal code with a matching check digit but century digit 4.
        assert!(matches!(
            check_str("LV 10103241333"),
            Err(VatNumberError::Component { .. })
        ));
    }

    fn vat_shaped() -> impl Strategy<Value = String> {
        (
            prop::sample::select(PREFIXES.to_vec()),
            prop_oneof!["[0-9]{0,13}", "[0-9A-Z]{0,13}", "[0-9A-Z .-]{0,16}"],
        )
            .prop_map(|(prefix, body)| format!("{prefix}{body}"))
    }

    proptest! {
        /// No input makes the check panic.
        #[test]
        fn arbitrary_strings_never_panic(input in any::<String>()) {
            let _ = check_str(&input);
        }

        /// Strings shaped like VAT numbers reach every country's rules without a panic, and a
        /// number accepted once is accepted again as written out.
        #[test]
        fn accepted_numbers_stay_accepted(input in vat_shaped()) {
            if let Ok(number) = check_str(&input) {
                prop_assert_eq!(check_str(&number.to_string()), Ok(number));
            }
        }
    }
}
