//! The services `darius serve` knows, which of them this build implements, and the embedded
//! default's address for each. A configured service that is not implemented yet stops start-up
//! with a clear message: a client must never meet a fake greeting.

/// One service and the option that enables it.
pub struct Service {
    /// The `imapd.conf` option (a `listen_*` address or a socket path).
    pub option: &'static str,
    pub name: &'static str,
    /// Address the embedded default uses (a port on 127.0.0.1, or a path under the data dir).
    pub embedded: Embedded,
    pub implemented: bool,
}

pub enum Embedded {
    Port(u16),
    /// A path relative to the config directory.
    Socket(&'static str),
    /// Not enabled by the embedded default.
    Off,
}

pub static SERVICES: &[Service] = &[
    Service {
        option: "listen_imap",
        name: "IMAP",
        embedded: Embedded::Port(1143),
        implemented: true,
    },
    Service {
        option: "listen_imaps",
        name: "IMAPS",
        embedded: Embedded::Port(1993),
        implemented: true,
    },
    Service {
        option: "listen_pop3",
        name: "POP3",
        embedded: Embedded::Port(1110),
        implemented: false,
    },
    Service {
        option: "listen_pop3s",
        name: "POP3S",
        embedded: Embedded::Port(1995),
        implemented: false,
    },
    Service {
        option: "listen_lmtp",
        name: "LMTP",
        embedded: Embedded::Port(2424),
        implemented: true,
    },
    Service {
        option: "lmtpsocket",
        name: "LMTP (UNIX socket)",
        embedded: Embedded::Socket("socket/lmtp"),
        implemented: true,
    },
    Service {
        option: "listen_sieve",
        name: "ManageSieve",
        embedded: Embedded::Port(4190),
        implemented: false,
    },
    Service {
        option: "listen_metrics",
        name: "metrics",
        embedded: Embedded::Off,
        implemented: false,
    },
    Service {
        option: "adminsocket",
        name: "admin socket",
        embedded: Embedded::Socket("socket/admin"),
        implemented: true,
    },
];

/// Every configured-but-unimplemented service, as messages naming the option.
pub fn unimplemented_configured(config: &config::Config) -> Vec<String> {
    SERVICES
        .iter()
        .filter(|s| !s.implemented && is_configured(config, s.option))
        .map(|s| {
            format!(
                "{}: {} is not implemented in this build yet; remove the option from {} \
                 (or leave it empty) to start without it",
                s.option,
                s.name,
                config.source()
            )
        })
        .collect()
}

fn is_configured(config: &config::Config, option: &str) -> bool {
    match config.value(option) {
        Some(config::Value::Listen(addr)) => addr.is_some(),
        Some(config::Value::Path(path)) => path.is_some(),
        _ => false,
    }
}
