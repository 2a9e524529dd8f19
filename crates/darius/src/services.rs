//! The services `darius serve` knows and the embedded default's address for each. Whether this
//! build implements a service is its option's `Support` in the option table (one place): the
//! configuration reader refuses a configured service that is not implemented yet with
//! `file:line: option: not supported yet` — a client must never meet a fake greeting — and the
//! embedded default enables only the implemented ones.

/// One service and the option that enables it.
pub struct Service {
    /// The `imapd.conf` option (a `listen_*` address or a socket path).
    pub option: &'static str,
    /// Address the embedded default uses (a port on 127.0.0.1, or a path under the data dir).
    pub embedded: Embedded,
}

impl Service {
    /// Whether this build serves it (its option is `Supported` in the option table).
    pub fn implemented(&self) -> bool {
        config::lookup(self.option).is_some_and(|spec| spec.support == config::Support::Supported)
    }
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
        embedded: Embedded::Port(1143),
    },
    Service {
        option: "listen_imaps",
        embedded: Embedded::Port(1993),
    },
    Service {
        option: "listen_pop3",
        embedded: Embedded::Port(1110),
    },
    Service {
        option: "listen_pop3s",
        embedded: Embedded::Port(1995),
    },
    Service {
        option: "listen_lmtp",
        embedded: Embedded::Port(2424),
    },
    Service {
        option: "lmtpsocket",
        embedded: Embedded::Socket("socket/lmtp"),
    },
    Service {
        option: "listen_sieve",
        embedded: Embedded::Port(4190),
    },
    Service {
        option: "listen_metrics",
        embedded: Embedded::Off,
    },
    Service {
        option: "adminsocket",
        embedded: Embedded::Socket("socket/admin"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_option_is_in_the_table() {
        for service in SERVICES {
            assert!(
                config::lookup(service.option).is_some(),
                "{}",
                service.option
            );
        }
        assert!(SERVICES
            .iter()
            .any(|s| s.option == "listen_imap" && s.implemented()));
        assert!(SERVICES
            .iter()
            .any(|s| s.option == "listen_sieve" && s.implemented()));
        assert!(SERVICES
            .iter()
            .any(|s| s.option == "listen_metrics" && !s.implemented()));
    }
}
