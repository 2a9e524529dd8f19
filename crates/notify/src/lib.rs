//! Server layer: new-mail notification (mailnotifier, sievenotifier). (Filled in by the
//! notifications issue.)
//!
//! Owns: turning store events into notifications. Must not: touch storage directly.
