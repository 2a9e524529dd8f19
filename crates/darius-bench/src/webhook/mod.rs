//! Measuring a server's webhook notifications (`lmtp --webhook-listen`): a receiver that
//! records when each new message's notification arrived, and the join of those arrivals with
//! the deliveries that raised them into delivery-to-notification latency, missing and
//! duplicate notifications.
//!
//! `http` (request heads), `event` (notification bodies) and `join` are pure; only
//! `receiver` does I/O.

pub mod event;
pub mod http;
pub mod join;
pub mod receiver;

pub use join::Delivered;
pub use receiver::Receiver;

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
