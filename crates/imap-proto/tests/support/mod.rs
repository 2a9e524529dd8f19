//! Shared test tables.
#![allow(dead_code, clippy::unwrap_used)]

pub mod responses;
