//! Source connectors, one folder per system: the API client, webhook verification and the
//! mapping of the system's documents to [`ledgerlink_core::Document`].
//!
//! The set of sources is closed: [`SourceKind`] is matched exhaustively wherever a source is
//! chosen, so adding one is a compile error everywhere it must be handled.

pub mod prestashop;
pub mod woocommerce;

use ledgerlink_core::Document;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Woocommerce,
    Prestashop,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Woocommerce => "woocommerce",
            SourceKind::Prestashop => "prestashop",
        }
    }
}

/// A document read from a source, with the payload it was read from.
#[derive(Clone, Debug)]
pub struct SourceDocument {
    pub document: Document,
    pub payload: serde_json::Value,
}

/// Documents read in one pass over a source, and where the next pass starts.
#[derive(Debug, Default)]
pub struct Batch {
    pub documents: Vec<SourceDocument>,
    /// Advance the cursor to this only after every document above is in the ledger.
    pub next_cursor: Option<String>,
}
