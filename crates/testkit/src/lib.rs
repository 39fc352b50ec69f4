//! Compliance suites: the behaviour every source and target must show, written once and run
//! against each connector through a harness ([`source_suite::SourceHarness`],
//! [`target_suite::TargetHarness`]) that knows how to provoke it there (an emulator's own
//! controls and fault injection, or the real server's means). And real servers the tests
//! talk to: Tryton, and an SMTP server for notifications.

pub mod postgres;
pub mod smtp;
pub mod source_suite;
pub mod target_suite;
pub mod tryton;

/// Today on the emulated shops' clock (their site time is UTC+1). Tests that book into the
/// shared Tryton ledger use it, as the shop-driven tests do: Tryton numbers invoices in date
/// order, so near midnight a test on another clock would be refused.
pub fn site_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(1)).date_naive()
}
