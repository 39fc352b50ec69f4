//! VIES (VAT Information Exchange System) REST emulator, written from the reference in
//! `shared/specs/vat/vies` (`swagger_publicVAT.yaml`, `vies-api.json`).
//!
//! Served:
//! - `POST /check-vat-number`: answers from a registry the test fills ([`ViesSandbox::register`];
//!   an unregistered number is `valid: false`), honouring per-member-state outages
//!   ([`ViesSandbox::set_member_state_available`]) and a VIES-wide one
//!   ([`ViesSandbox::set_service_available`]).
//! - `POST /check-vat-test-service`: the EC's deterministic test service: `vatNumber` 100 valid,
//!   200 invalid, 201…601 one error code each, anything else `SERVICE_UNAVAILABLE`.
//! - `GET /check-status` and `GET /ms/{countryCode}/vat/{vatNumber}`.
//! - Admin endpoints without faults or recording under `/__sandbox/`: `GET requests`,
//!   `POST faults` (an `ArmedFault`), `POST registry`, `POST member-states/{cc}`
//!   (`{"available": bool}`), `POST availability`, `GET consultations`.
//!
//! Choices where the reference is unclear:
//! - Error status: the contract lists 400 and 500 with `CommonResponse`, the notes add "sometimes
//!   200". Input errors answer 400, errors of VIES itself 500, and errors relayed from a member
//!   state (`MS_*`, `TIMEOUT`, `VAT_BLOCKED`) 200 with `actionSucceed: false`, so a client
//!   that reads `valid` without looking for `errorWrappers` is caught out.
//! - Country codes are VIES's: `EL` for Greece and `XI` for Northern Ireland; `GR` and `GB` are
//!   `INVALID_INPUT`. The test service answers by `vatNumber` alone ("any countryCode").
//! - The requester (`requesterMemberStateCode` + `requesterNumber`) must itself be registered,
//!   otherwise `INVALID_REQUESTER_INFO`; with a valid requester every valid or invalid answer
//!   carries a fresh `requestIdentifier` (`WAPISBX` + 9 digits), without one it is `""`.
//! - Approximate matching is not emulated: `trader*` come back `---` and every `*Match`
//!   `NOT_PROCESSED`, as from a member state that does not take part in it.
//! - `requestDate` is an RFC 3339 UTC instant with milliseconds (the contract's `date-time`).
//! - The test service's valid answer carries the name and address the EC's test service is
//!   publicly recorded to return ("John Doe", "123 Main St, Anytown, UK"); the reference gives none.
//! - Faults: `ServerError` is the EC front end's 500 HTML page, `TooManyRequests` a bare 429;
//!   `ServerErrorAfterApply`, `Slow` and `LoseResponse` run the check first (a consultation
//!   number is issued) and then lose or delay the answer.

mod admin;
mod api;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::faults::FaultPlan;
use crate::recorder::Recorder;

/// The member states VIES answers for, as VIES spells them (`vies-api.json`).
pub const MEMBER_STATES: [&str; 28] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
];

#[derive(Clone, Debug)]
pub struct ViesConfig {
    /// Country codes `/check-vat-number` accepts and `/check-status` lists.
    pub member_states: Vec<String>,
}

impl Default for ViesConfig {
    fn default() -> Self {
        ViesConfig {
            member_states: MEMBER_STATES.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// A consultation number VIES issued, for tests to match against what the client kept.
#[derive(Clone, Debug, Serialize)]
pub struct Consultation {
    pub request_identifier: String,
    pub country_code: String,
    pub vat_number: String,
    /// The requester as sent, prefix and number joined (e.g. `NL123456789B01`).
    pub requester: String,
    pub valid: bool,
    pub request_date: DateTime<Utc>,
}

/// A registered trader; `None` is shown as `---`, as by member states that do not disclose.
#[derive(Clone, Debug)]
pub(crate) struct Trader {
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Default)]
pub(crate) struct Registry {
    /// Keyed by (country code, number upper-case).
    pub traders: BTreeMap<(String, String), Trader>,
    pub unavailable: BTreeSet<String>,
    pub service_down: bool,
    pub consultations: Vec<Consultation>,
}

impl Registry {
    pub fn issue(
        &mut self,
        country_code: &str,
        vat_number: &str,
        requester: String,
        valid: bool,
        request_date: DateTime<Utc>,
    ) -> String {
        let request_identifier = format!("WAPISBX{:09}", self.consultations.len() + 1);
        self.consultations.push(Consultation {
            request_identifier: request_identifier.clone(),
            country_code: country_code.to_string(),
            vat_number: vat_number.to_string(),
            requester,
            valid,
            request_date,
        });
        request_identifier
    }
}

struct Inner {
    config: ViesConfig,
    faults: FaultPlan,
    recorder: Recorder,
    registry: Mutex<Registry>,
}

/// The emulator; cheap to clone (shared state).
#[derive(Clone)]
pub struct ViesSandbox {
    inner: Arc<Inner>,
}

impl ViesSandbox {
    /// Every member state available, no number registered.
    pub fn new(config: ViesConfig) -> Self {
        ViesSandbox {
            inner: Arc::new(Inner {
                config,
                faults: FaultPlan::default(),
                recorder: Recorder::default(),
                registry: Mutex::new(Registry::default()),
            }),
        }
    }

    pub fn router(&self) -> Router {
        api::routes()
            .merge(admin::routes())
            .with_state(self.clone())
    }

    /// Serves a new emulator on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(
        config: ViesConfig,
        port: u16,
    ) -> std::io::Result<(crate::Running, ViesSandbox)> {
        let sandbox = ViesSandbox::new(config);
        let running = crate::serve(sandbox.router(), port).await?;
        Ok((running, sandbox))
    }

    pub fn config(&self) -> &ViesConfig {
        &self.inner.config
    }

    pub fn faults(&self) -> &FaultPlan {
        &self.inner.faults
    }

    pub fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner.registry.lock().unwrap()
    }

    pub(crate) fn is_member_state(&self, code: &str) -> bool {
        self.inner.config.member_states.iter().any(|c| c == code)
    }

    /// Registers `number` (without prefix) as valid in member state `country` (VIES spelling:
    /// `EL`, `XI`). `None` for name or address: the member state does not disclose it.
    ///
    /// # Panics
    /// If `country` is not one of the configured member states (`GR` instead of `EL`, say).
    pub fn register(&self, country: &str, number: &str, name: Option<&str>, address: Option<&str>) {
        assert!(
            self.is_member_state(country),
            "`{country}` is not a VIES member-state code (Greece is EL, Northern Ireland XI)"
        );
        self.registry().traders.insert(
            (country.to_string(), number.to_ascii_uppercase()),
            Trader {
                name: name.map(str::to_string),
                address: address.map(str::to_string),
            },
        );
    }

    /// Takes a member state's national system down (`MS_UNAVAILABLE`) or brings it back.
    pub fn set_member_state_available(&self, country: &str, available: bool) {
        let mut registry = self.registry();
        if available {
            registry.unavailable.remove(country);
        } else {
            registry.unavailable.insert(country.to_string());
        }
    }

    /// Takes VIES itself down (`SERVICE_UNAVAILABLE` for every check) or brings it back.
    pub fn set_service_available(&self, available: bool) {
        self.registry().service_down = !available;
    }

    /// Every consultation number issued, oldest first.
    pub fn consultations(&self) -> Vec<Consultation> {
        self.registry().consultations.clone()
    }
}
