//! E-mail addresses, checked for shape when they enter the system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{input}` is not an e-mail address: {reason}")]
pub struct EmailParseError {
    pub input: String,
    pub reason: &'static str,
}

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl FromStr for Email {
    type Err = EmailParseError;

    /// A pragmatic check of the shape (local@domain.tld), not RFC 5322 in full: what a ledger
    /// will accept and a person can write to. The domain is lower-cased; the local part kept.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| EmailParseError {
            input: input.to_string(),
            reason,
        };
        let trimmed = input.trim();
        let (local, domain) = trimmed
            .rsplit_once('@')
            .ok_or_else(|| fail("it has no @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(fail("the part before @ is empty or too long"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(fail("the part before @ has a misplaced dot"));
        }
        let local_ok = local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        if !local_ok {
            return Err(fail(
                "the part before @ has a character addresses cannot contain",
            ));
        }
        // Checked as kept: lower-casing can change a letter into several characters
        // (`İ` → `i̇`), and the address must parse again when a document is read back.
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(fail("the domain has no dot"));
        }
        let labels_ok = labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !labels_ok {
            return Err(fail("the domain is malformed"));
        }
        let tld = labels.last().expect("at least two labels");
        if tld.len() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
            return Err(fail("the domain does not end in a real top-level domain"));
        }
        let address = format!("{local}@{domain}");
        if address.len() > 254 {
            return Err(fail("it is longer than 254 characters"));
        }
        Ok(Email(address))
    }
}

impl TryFrom<String> for Email {
    type Error = EmailParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "jan@example.nl",
            "Jan.de.Vries+shop@Example.COM",
            "søren@eksempel.dk",
        ] {
            assert!(ok.parse::<Email>().is_ok(), "{ok}");
        }
        assert_eq!(
            "Jan@Example.COM".parse::<Email>().unwrap().as_str(),
            "Jan@example.com"
        );
    }

    #[test]
    fn an_address_reads_back_as_itself() {
        // `İ` lower-cases to `i` and a combining dot, which no domain label may hold.
        assert!("jan@İstanbul.com.tr".parse::<Email>().is_err());
        let email: Email = "Jan@ÅRHUS.dk".parse().unwrap();
        assert_eq!(email.as_str().parse::<Email>(), Ok(email));
    }

    #[test]
    fn rejects_malformed_addresses_with_a_reason() {
        for bad in [
            "jan",
            "jan@",
            "@example.nl",
            "jan@example",
            "jan..x@example.nl",
            "jan@-x.nl",
            "jan@example.1",
            "jan doe@example.nl",
        ] {
            let error = bad.parse::<Email>().unwrap_err();
            assert!(
                error.to_string().contains("is not an e-mail address"),
                "{bad}"
            );
        }
    }
}
