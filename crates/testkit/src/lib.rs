//! Compliance suites: the behaviour every target must show, written once and run against each
//! target through a [`target_suite::TargetHarness`] that knows how to provoke it there
//! (fault injection in an emulator, or the real server's own means).

pub mod target_suite;
