//! Clients of the public registers ledgerlink consults before it books a document, written
//! from each register's own reference (`../shared/specs/<system>`). A lookup has no side
//! effects, so every failure to get an answer is worth retrying; only a definite answer from the
//! register ever decides how a document is booked.

pub mod vies;
