//! NOOP (RFC 9051 §6.1.2) and CHECK (RFC 3501 §6.4.1; in IMAP4rev2 an alias of NOOP). Their
//! work is the untagged updates the dispatcher sends before every completion.

use crate::command::Reply;

pub(crate) fn run() -> Reply {
    Reply::ok("Completed")
}
