//! The CAPABILITY list, which changes with TLS and with login (RFC 9051 §6.1.1, §7.2.2), and
//! on a Murder frontend, after login, is narrowed to what every live backend offers
//! ([`narrow`]): the frontend relays the backends' answers, so it cannot promise an extension
//! one of them lacks.

use crate::ImapConfig;

/// Where the session stands, as far as capabilities care.
pub(crate) struct Stage {
    pub tls: bool,
    pub authenticated: bool,
    /// Plaintext logins are allowed here (TLS, loopback, or `allowplaintext`).
    pub plaintext_ok: bool,
    /// The SASL mechanisms this connection is offered, strongest first.
    pub mechanisms: Vec<sasl::Mechanism>,
}

/// Capabilities a frontend keeps whatever its backends offer: they concern the connection
/// with the client or commands the frontend answers itself (RFC 2193's MAILBOX-REFERRALS
/// is the frontend's own; `AUTH=`, STARTTLS and LOGINDISABLED are shown before login only).
const FRONTEND_OWN: [&str; 6] = [
    "LITERAL+",
    "SASL-IR",
    "ID",
    "ENABLE",
    "NAMESPACE",
    "MAILBOX-REFERRALS",
];

/// RFC 2193 §4: the server may answer with referrals to other servers' mailboxes.
pub(crate) const MAILBOX_REFERRALS: &str = "MAILBOX-REFERRALS";

/// What this server shows a user after login, `suppress_capabilities` applied.
pub(crate) fn after_login(config: &ImapConfig) -> Vec<String> {
    let stage = Stage {
        tls: false,
        authenticated: true,
        plaintext_ok: false,
        mechanisms: Vec::new(),
    };
    capabilities(config, &stage)
}

pub(crate) fn capabilities(config: &ImapConfig, stage: &Stage) -> Vec<String> {
    let mut caps = unsuppressed(config, stage);
    caps.retain(|c| {
        !config
            .suppress_capabilities
            .iter()
            .any(|s| s.eq_ignore_ascii_case(c))
    });
    caps
}

fn unsuppressed(config: &ImapConfig, stage: &Stage) -> Vec<String> {
    let mut caps: Vec<String> = [
        "IMAP4rev1",
        "IMAP4rev2",
        "LITERAL+",
        "SASL-IR",
        "ID",
        "ENABLE",
    ]
    .map(String::from)
    .to_vec();
    if !stage.authenticated {
        if !stage.tls && config.tls.is_some() {
            caps.push("STARTTLS".into());
        }
        caps.extend(stage.mechanisms.iter().map(|m| format!("AUTH={m}")));
        if !stage.plaintext_ok {
            // RFC 9051 §6.2.3: LOGIN refused until TLS.
            caps.push("LOGINDISABLED".into());
        }
        return caps;
    }
    caps.extend(
        [
            "IDLE",
            "NAMESPACE",
            "UIDPLUS",
            "UNSELECT",
            "CHILDREN",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "LIST-MYRIGHTS",
            "SPECIAL-USE",
            "CREATE-SPECIAL-USE",
            "MOVE",
            "ESEARCH",
            "SEARCHRES",
            "MULTIAPPEND",
            "STATUS=SIZE",
            "CONDSTORE",
            "QRESYNC",
            "ACL",
            "RIGHTS=kxten",
            "QUOTA",
            "QUOTA=RES-STORAGE",
            "QUOTA=RES-MESSAGE",
            "QUOTASET",
        ]
        .map(String::from),
    );
    caps.push(match config.max_message_size {
        Some(limit) => format!("APPENDLIMIT={limit}"),
        None => "APPENDLIMIT".into(),
    });
    caps
}

/// `own` without what any of `backends` (each one backend's published list) lacks, but for
/// [`FRONTEND_OWN`]. APPENDLIMIT (RFC 7889) stays when every backend offers one: with the
/// smallest limit when all of them (and `own`) name one, else bare (the limit is then the
/// mailbox's, given by STATUS APPENDLIMIT at its backend).
pub(crate) fn narrow(own: Vec<String>, backends: &[Vec<String>]) -> Vec<String> {
    let offered_by_all = |cap: &str| {
        backends
            .iter()
            .all(|list| list.iter().any(|c| c.eq_ignore_ascii_case(cap)))
    };
    own.into_iter()
        .filter_map(|cap| {
            if FRONTEND_OWN.iter().any(|o| o.eq_ignore_ascii_case(&cap)) {
                return Some(cap);
            }
            if appendlimit(&cap).is_some() {
                return narrow_appendlimit(&cap, backends);
            }
            offered_by_all(&cap).then_some(cap)
        })
        .collect()
}

/// `Some(Some(n))` for `APPENDLIMIT=n`, `Some(None)` for a bare `APPENDLIMIT`.
fn appendlimit(cap: &str) -> Option<Option<u64>> {
    let upper = cap.to_ascii_uppercase();
    let rest = upper.strip_prefix("APPENDLIMIT")?;
    if rest.is_empty() {
        return Some(None);
    }
    rest.strip_prefix('=')?.parse().ok().map(Some)
}

/// The APPENDLIMIT every backend can take, from `own`'s (see [`narrow`]).
fn narrow_appendlimit(own: &str, backends: &[Vec<String>]) -> Option<String> {
    let mut limit = appendlimit(own)?;
    for list in backends {
        let theirs = list.iter().find_map(|c| appendlimit(c))?;
        limit = match (limit, theirs) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
    }
    Some(match limit {
        Some(n) => format!("APPENDLIMIT={n}"),
        None => "APPENDLIMIT".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(caps: &str) -> Vec<String> {
        caps.split(' ').map(String::from).collect()
    }

    #[test]
    fn an_extension_one_backend_lacks_is_not_offered() {
        let own = list("IMAP4rev1 LITERAL+ ID ENABLE IDLE CONDSTORE QRESYNC MOVE");
        let b1 = list("IMAP4rev1 IDLE CONDSTORE QRESYNC MOVE");
        let b2 = list("IMAP4REV1 idle MOVE");
        assert_eq!(
            narrow(own, &[b1, b2]),
            list("IMAP4rev1 LITERAL+ ID ENABLE IDLE MOVE")
        );
    }

    #[test]
    fn without_backends_the_own_list_stands() {
        let own = list("IMAP4rev1 CONDSTORE APPENDLIMIT=100");
        assert_eq!(narrow(own.clone(), &[]), own);
    }

    #[test]
    fn appendlimit_takes_the_smallest_or_goes_bare_or_goes() {
        let own = list("IMAP4rev1 APPENDLIMIT=100");
        let small = list("IMAP4rev1 APPENDLIMIT=50");
        let bare = list("IMAP4rev1 APPENDLIMIT");
        let none = list("IMAP4rev1");
        assert_eq!(
            narrow(own.clone(), std::slice::from_ref(&small)),
            list("IMAP4rev1 APPENDLIMIT=50")
        );
        assert_eq!(
            narrow(own.clone(), &[small, bare]),
            list("IMAP4rev1 APPENDLIMIT")
        );
        assert_eq!(narrow(own, &[none]), list("IMAP4rev1"));
        assert_eq!(appendlimit("APPENDLIMIT=x"), None);
        assert_eq!(appendlimit("APPENDLIMITS"), None);
    }
}
