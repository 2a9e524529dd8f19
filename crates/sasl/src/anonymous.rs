//! ANONYMOUS (RFC 4505): one message, an optional trace string, logged and never trusted.

use crate::{field, FailureReason, Step, Success};

/// RFC 4505 §3: the trace is at most 255 characters.
const MAX_TRACE_CHARS: usize = 255;

pub(crate) struct Anonymous;

impl Anonymous {
    pub(crate) fn new() -> Anonymous {
        Anonymous
    }

    /// RFC 4505 §3: `message = [ email / token ]`, UTF-8 without NUL, up to 255 characters.
    pub(crate) fn step(&mut self, response: &[u8]) -> Step {
        let trace = match field::text(response) {
            Ok(trace) if trace.chars().count() <= MAX_TRACE_CHARS => trace,
            Ok(_) => return FailureReason::TooLong.into(),
            Err(reason) => return reason.into(),
        };
        Step::Done(Success {
            authcid: "anonymous".to_string(),
            authzid: None,
            additional_data: None,
            trace: (!trace.is_empty()).then(|| trace.to_string()),
        })
    }
}
