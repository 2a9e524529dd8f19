//! Server layer: netnews export (collectnews, rmnews, syncnews). (Filled in by the netnews issue.)
//!
//! Owns: moving articles between a news spool and shared mailboxes. Must not: bypass `mailservice`.
