//! PrestaShop Webservice (`/api/`, 1.6 to 8.x): orders with their lines, customers,
//! addresses and states, and their credit slips; no webhooks in the core, so orders are
//! polled on `date_upd` and backfilled on `date_add`.
//!
//! An order is spread over many resources; [`PrestaClient::bundle`] gathers them into an
//! [`OrderBundle`], which [`map_order`] and [`map_slip`] map without further requests.

pub mod body;
mod bundle;
mod client;
mod mapping;
#[cfg(test)]
mod tests;

pub use bundle::{line_products, OrderBundle, OrderState};
pub use client::{Page, PrestaClient, PrestaCredentials, PAGE_SIZE};
pub use mapping::{map_order, map_slip, MappingError};
