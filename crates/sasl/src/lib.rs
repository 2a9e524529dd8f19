//! Protocol layer: SASL mechanism state machines (PLAIN, LOGIN, CRAM-MD5, SCRAM, …).
//!
//! Owns: the exchange of challenges and responses and what they prove. Must not: perform I/O or
//! look up credentials itself (a credential source is handed in). (Filled in by the Authentication
//! issue.)
