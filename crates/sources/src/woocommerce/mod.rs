//! WooCommerce REST API v3 (`/wp-json/wc/v3`): orders and their refunds, customers,
//! products; signed webhooks; a `modified_after` cursor for the sweeper and backfill.

mod client;
mod mapping;
mod webhook;

pub use client::{Page, WooClient, WooCredentials};
pub use mapping::{line_products, map_order, map_refund, MappingError};
pub use webhook::{verify_signature, WebhookEvent, SIGNATURE_HEADER};
