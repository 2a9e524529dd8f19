//! Server layer: IMAP sessions — one task per connection, state as an enum, one handler per
//! command, the selected view owning sequence numbers.
//!
//! Owns: mapping parsed commands to service calls and service errors to response codes.
//! Must not: parse bytes itself (that is `imap-proto`) or reach past `mailservice` into storage rules.
