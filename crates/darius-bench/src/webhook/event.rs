//! What a notification body says, without I/O: the Message-IDs of the new messages it
//! announces. A body is one JSON event object (Cyrus's event notification format: `"event":
//! "MessageNew"` and `"vnd.cmu.midset"`, the Message-IDs of the messages) or an array of them.

use serde_json::Value;

/// The RFC 5423 event a delivered message raises.
pub const MESSAGE_NEW: &str = "MessageNew";
/// The field (Cyrus's name) listing the Message-IDs of an event's messages.
pub const MIDSET: &str = "vnd.cmu.midset";

/// What one body carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The Message-IDs of every `MessageNew` event, as [`normalize`] writes them; an event
    /// naming two messages gives two.
    pub message_ids: Vec<String>,
    /// Events of other kinds (counted, not matched).
    pub other_events: u64,
    /// `MessageNew` events without a usable `vnd.cmu.midset` (missing, empty, or with a member
    /// that is not a Message-ID): what they do not name cannot be matched to a delivery.
    pub without_midset: u64,
}

/// Why a body is not a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    NotJson(String),
    /// JSON, but neither an object nor an array of objects.
    NotAnEvent,
}

/// Reads the events in `body`.
pub fn parse(body: &[u8]) -> Result<Parsed, BodyError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| BodyError::NotJson(e.to_string()))?;
    let mut out = Parsed::default();
    match value {
        Value::Object(_) => read_event(&value, &mut out)?,
        Value::Array(events) => {
            for event in &events {
                read_event(event, &mut out)?;
            }
        }
        _ => return Err(BodyError::NotAnEvent),
    }
    Ok(out)
}

fn read_event(event: &Value, out: &mut Parsed) -> Result<(), BodyError> {
    let Value::Object(fields) = event else {
        return Err(BodyError::NotAnEvent);
    };
    if fields.get("event").and_then(Value::as_str) != Some(MESSAGE_NEW) {
        out.other_events += 1;
        return Ok(());
    }
    let Some(Value::Array(ids)) = fields.get(MIDSET) else {
        out.without_midset += 1;
        return Ok(());
    };
    let before = out.message_ids.len();
    out.message_ids.extend(
        ids.iter()
            .filter_map(Value::as_str)
            .map(normalize)
            .filter(|id| !id.is_empty()),
    );
    let found = out.message_ids.len() - before;
    if found == 0 || found != ids.len() {
        out.without_midset += 1;
    }
    Ok(())
}

/// A Message-ID as matched: without surrounding white space and angle brackets, so that
/// `<a@b>` in the message and `a@b` in an event (or the reverse) are the same message.
pub fn normalize(id: &str) -> String {
    let id = id.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    let id = id.strip_suffix('>').unwrap_or(id);
    id.trim().to_owned()
}
