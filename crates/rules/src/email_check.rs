//! E-mail check: a malformed or undeliverable-looking address never reaches the books, where
//! invoices and reminders would be sent to it. `Email` has already checked the syntax; this
//! checks what the domain and local part say about deliverability — offline, without DNS, so it
//! only flags what is certain from the text: test domains, local names, typos of the big mail
//! providers and the placeholders shops fill in when the customer gave no address.

use ledgerlink_core::Email;

const PLACEHOLDER: &str =
    "it is a placeholder the shop filled in because the customer gave no address";
const RESERVED: &str = "its domain is reserved for examples and tests and receives no mail";
const LOCAL: &str =
    "its domain names a local machine or network and receives no mail from the internet";
const NO_REAL_TLD: &str = "its domain does not end in a real top-level domain";
const IP_ADDRESS: &str = "its domain is an IP address, not a mail domain";
const TYPO: &str = "its domain looks like a typing error for a well-known mail provider";

/// Local parts shops put in a required field the customer left empty. Not `test` or `info`:
/// those are real mailboxes often enough.
const PLACEHOLDERS: &[&str] = &[
    "noemail",
    "no-email",
    "nomail",
    "none",
    "geen-email",
    "geenemail",
];

/// Reserved for documentation with all their subdomains (RFC 2606). `example.nl` is not: it is
/// an ordinary domain someone owns.
const EXAMPLE_DOMAINS: &[&str] = &["example.com", "example.net", "example.org"];

/// Top-level domains for tests and documentation (RFC 2606, RFC 6761).
const RESERVED_TLDS: &[&str] = &["test", "example", "invalid"];

/// Top-level names that only mean something on one machine or network: `localhost` (RFC 6761),
/// `local` (mDNS, RFC 6762), `localdomain` (the Unix default) and `internal` (reserved by ICANN
/// for private networks).
const LOCAL_TLDS: &[&str] = &["localhost", "local", "localdomain", "internal"];

/// Misspellings of the big providers' domains, with the domain meant. Exact domains only: a
/// looser match would flag real domains that merely look alike.
const TYPOS: &[(&str, &str)] = &[
    ("gmial.com", "gmail.com"),
    ("gmai.com", "gmail.com"),
    ("gmal.com", "gmail.com"),
    ("gamil.com", "gmail.com"),
    ("gnail.com", "gmail.com"),
    ("gmaill.com", "gmail.com"),
    ("gmail.con", "gmail.com"),
    ("gmail.co", "gmail.com"),
    ("gmail.cm", "gmail.com"),
    ("hotmial.com", "hotmail.com"),
    ("hotmal.com", "hotmail.com"),
    ("hotmai.com", "hotmail.com"),
    ("hotmail.con", "hotmail.com"),
    ("yahooo.com", "yahoo.com"),
    ("yaho.com", "yahoo.com"),
    ("yahoo.con", "yahoo.com"),
    ("outlok.com", "outlook.com"),
    ("outloo.com", "outlook.com"),
    ("outlook.con", "outlook.com"),
    ("icloud.con", "icloud.com"),
    ("iclod.com", "icloud.com"),
    ("icoud.com", "icloud.com"),
    ("live.con", "live.com"),
];

/// Why an address that parses is still not one to put in the books.
pub fn undeliverable_reason(email: &Email) -> Option<&'static str> {
    let domain = email.domain();
    let labels: Vec<&str> = domain.split('.').collect();
    let tld = labels.last().copied().unwrap_or_default();
    if is_placeholder(email) {
        Some(PLACEHOLDER)
    } else if RESERVED_TLDS.contains(&tld)
        || EXAMPLE_DOMAINS
            .iter()
            .any(|example| is_at_or_under(domain, example))
    {
        Some(RESERVED)
    } else if LOCAL_TLDS.contains(&tld) {
        Some(LOCAL)
    } else if !is_real_tld(tld) {
        Some(NO_REAL_TLD)
    } else if has_ipv4_address(&labels) {
        Some(IP_ADDRESS)
    } else if suggested_domain(email).is_some() {
        Some(TYPO)
    } else {
        None
    }
}

/// The domain the customer most likely meant, when the address has a known typo of a big mail
/// provider's domain (`gmial.com` → `gmail.com`).
pub fn suggested_domain(email: &Email) -> Option<&'static str> {
    TYPOS
        .iter()
        .find(|(typo, _)| *typo == email.domain())
        .map(|&(_, meant)| meant)
}

fn is_placeholder(email: &Email) -> bool {
    let local = email
        .as_str()
        .rsplit_once('@')
        .map(|(local, _)| local)
        .unwrap_or_default();
    PLACEHOLDERS
        .iter()
        .any(|placeholder| local.eq_ignore_ascii_case(placeholder))
}

fn is_at_or_under(domain: &str, base: &str) -> bool {
    domain
        .strip_suffix(base)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// Top-level domains are letters, possibly non-Latin ones; their ASCII form starts with `xn--`.
/// `Email` counts the length in bytes, so a single accented letter still gets here.
fn is_real_tld(tld: &str) -> bool {
    tld.starts_with("xn--") || (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// Four numeric labels in a row, as in `192.168.1.10.nip.io`: `Email` already refuses a bare IP
/// address by its numeric last label, and a single numeric label is a real name (`163.com`).
fn has_ipv4_address(labels: &[&str]) -> bool {
    labels.windows(4).any(|quad| {
        quad.iter()
            .all(|label| label.len() <= 3 && label.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::string::string_regex;

    fn reason(address: &str) -> Option<&'static str> {
        undeliverable_reason(&address.parse().unwrap())
    }

    fn suggestion(address: &str) -> Option<&'static str> {
        suggested_domain(&address.parse().unwrap())
    }

    #[test]
    fn ordinary_addresses_pass() {
        for address in [
            "jan@example.nl",
            "info@bol.com",
            "a.b+c@sub.domain.co.uk",
            "x@xn--bcher-kva.de",
            "søren@eksempel.dk",
            "jan@gmail.com",
            "Jan.Smit@Hotmail.NL",
            "x@myexample.com",
            "x@example.com.au",
            "x@163.com",
            "x@1und1.de",
            "x@10.20.example.de",
            "x@пример.рф",
            "x@xn--e1afmkfd.xn--p1ai",
            "noreply@bol.com",
            "test@bol.com",
            "none.of.them@bol.com",
            "x@test.nl",
            "x@local.nl",
        ] {
            assert_eq!(reason(address), None, "{address}");
            assert_eq!(suggestion(address), None, "{address}");
        }
    }

    #[test]
    fn reserved_domains_receive_no_mail() {
        for address in [
            "jan@example.com",
            "jan@Example.ORG",
            "jan@example.net",
            "jan@mail.example.com",
            "jan@shop.test",
            "jan@foo.example",
            "jan@nowhere.invalid",
        ] {
            assert_eq!(reason(address), Some(RESERVED), "{address}");
        }
    }

    #[test]
    fn local_names_receive_no_mail_from_outside() {
        for address in [
            "root@server.localhost",
            "jan@pc.local",
            "root@localhost.localdomain",
            "jan@corp.internal",
        ] {
            assert_eq!(reason(address), Some(LOCAL), "{address}");
        }
    }

    #[test]
    fn top_level_domain_must_be_letters() {
        for address in [
            "jan@gmail.c0m",
            "jan@shop.x1",
            "jan@shop.co-m",
            "jan@shop.é",
        ] {
            assert_eq!(reason(address), Some(NO_REAL_TLD), "{address}");
        }
    }

    #[test]
    fn ip_addresses_are_not_mail_domains() {
        for address in ["jan@192.168.1.10.nip.io", "jan@mx.10.0.0.1.example.de"] {
            assert_eq!(reason(address), Some(IP_ADDRESS), "{address}");
        }
    }

    #[test]
    fn typos_of_big_providers_are_flagged_with_a_suggestion() {
        for &(typo, meant) in TYPOS {
            let address = format!("jan@{typo}");
            assert_eq!(reason(&address), Some(TYPO), "{address}");
            assert_eq!(suggestion(&address), Some(meant), "{address}");
            assert_eq!(reason(&format!("jan@{meant}")), None, "{meant}");
        }
        assert_eq!(suggestion("Jan@GMIAL.com"), Some("gmail.com"));
    }

    #[test]
    fn placeholders_for_a_missing_address_are_flagged() {
        for address in [
            "noemail@shop.nl",
            "NoEmail@shop.nl",
            "no-email@bol.com",
            "nomail@gmail.com",
            "none@none.com",
            "geen-email@shop.nl",
            "GeenEmail@shop.nl",
            "noemail@example.com",
        ] {
            assert_eq!(reason(address), Some(PLACEHOLDER), "{address}");
        }
    }

    #[test]
    fn reasons_read_as_the_end_of_a_sentence() {
        for text in [PLACEHOLDER, RESERVED, LOCAL, NO_REAL_TLD, IP_ADDRESS, TYPO] {
            assert!(
                text.starts_with(char::is_lowercase) && !text.ends_with('.'),
                "{text}"
            );
        }
    }

    /// Mostly address-like text, so most cases parse and reach the checks, plus any text at all.
    fn local_part() -> impl Strategy<Value = String> {
        prop_oneof![4 => "[a-zA-Z0-9+_-]{1,12}", 1 => "\\PC{1,12}"]
    }

    fn domain() -> impl Strategy<Value = String> {
        let labels = "(([a-z0-9]{1,3}|xn--[a-z0-9]{1,4}|example|gmial|local)\\.){1,4}";
        let tld = "([a-z]{2,3}|[a-z0-9]{1,4}|test|localhost|con)";
        let address_like = string_regex(&format!("{labels}{tld}")).unwrap();
        prop_oneof![4 => address_like, 1 => string_regex("\\PC{1,30}").unwrap()]
    }

    proptest! {
        #[test]
        fn never_panics(local in local_part(), domain in domain()) {
            if let Ok(email) = format!("{local}@{domain}").parse::<Email>() {
                let reason = undeliverable_reason(&email);
                if suggested_domain(&email).is_some() {
                    prop_assert!(reason.is_some());
                }
            }
        }
    }
}
