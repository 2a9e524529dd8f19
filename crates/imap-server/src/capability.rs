//! The CAPABILITY list, which changes with TLS and with login (RFC 9051 §6.1.1, §7.2.2).

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

pub(crate) fn capabilities(config: &ImapConfig, stage: &Stage) -> Vec<String> {
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
