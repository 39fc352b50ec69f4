//! The settings file: TOML → `Config`, then the checks `Config::load` makes of it and the
//! engine's timing derived from it.
#![no_main]

use chrono::Utc;
use ledgerlink_engine::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(config) = Config::parse(text) else {
        return;
    };
    let _ = config.check_booking();
    let _ = config.notify_settings();
    // Workers schedule leases and retries from these: any accepted setting must give times
    // that can be scheduled.
    let options = config.engine_options();
    for wait in [options.lease, options.max_backoff.min(options.lease)] {
        let wait = chrono::Duration::from_std(wait).expect("a wait chrono can hold");
        assert!(Utc::now().checked_add_signed(wait).is_some());
    }
    assert!(options.retry_base <= options.max_backoff);
    let _ = format!("{config:?}");
});
