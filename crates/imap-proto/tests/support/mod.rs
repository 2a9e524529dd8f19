//! Shared test tables.
#![allow(dead_code, clippy::unwrap_used)]

pub mod commands;
pub mod responses;
