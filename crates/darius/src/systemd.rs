//! systemd's service notifications (`sd_notify(3)`), for a unit of `Type=notify`: `READY=1`
//! once every listener is bound, `RELOADING=1` and `READY=1` again around a SIGHUP reload,
//! `STOPPING=1` when a shutdown begins, and `WATCHDOG=1` at half the interval systemd asks for
//! (`WatchdogSec=`). Each is a datagram to the socket
//! `NOTIFY_SOCKET` names (a path, or `@name` in the abstract namespace); without it (not
//! started by systemd) nothing is sent. The variables stay in the environment (removing them
//! is not sound once threads run); a program the server starts would only see them, and the
//! watchdog's `WATCHDOG_PID` names this process alone.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Where notifications go, when systemd asked for them.
pub struct Notifier {
    socket: UnixDatagram,
    target: Target,
    /// Half the watchdog interval, when systemd set one for this process.
    watchdog: Option<Duration>,
}

enum Target {
    Path(std::path::PathBuf),
    Abstract(Vec<u8>),
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`.
    pub fn from_env() -> Option<Notifier> {
        let socket = std::env::var_os("NOTIFY_SOCKET")?;
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        let bytes = socket.as_encoded_bytes();
        let target = match bytes.strip_prefix(b"@") {
            Some(name) => Target::Abstract(name.to_vec()),
            None if bytes.starts_with(b"/") => Target::Path(socket.clone().into()),
            None => {
                tracing::warn!("NOTIFY_SOCKET is neither a path nor @name; not notifying");
                return None;
            }
        };
        let watchdog = usec
            .and_then(|u| u.parse::<u64>().ok())
            .filter(|&u| u > 0)
            .filter(|_| {
                pid.as_deref()
                    .is_none_or(|p| p.parse::<u32>().ok() == Some(std::process::id()))
            })
            .map(|u| Duration::from_micros(u / 2));
        let socket = match UnixDatagram::unbound() {
            Ok(socket) => socket,
            Err(e) => {
                tracing::warn!("NOTIFY_SOCKET: {e}; not notifying");
                return None;
            }
        };
        Some(Notifier {
            socket,
            target,
            watchdog,
        })
    }

    /// Sends one notification (`KEY=value` lines); a failure is logged, never fatal.
    pub fn notify(&self, state: &str) {
        let sent = match &self.target {
            Target::Path(path) => self.socket.send_to(state.as_bytes(), path),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name)
                    .and_then(|addr| self.socket.send_to_addr(state.as_bytes(), &addr))
            }
        };
        if let Err(e) = sent {
            tracing::warn!("NOTIFY_SOCKET: sending {:?}: {e}", state.lines().next());
        }
    }

    /// Every listener is bound: the service is up.
    pub fn ready(&self) {
        self.notify(&format!(
            "READY=1\nMAINPID={}\nSTATUS=Serving",
            std::process::id()
        ));
    }

    /// A reload (SIGHUP) began; [`Notifier::ready`] says it ended.
    pub fn reloading(&self) {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let usec = u64::try_from(now.tv_sec).unwrap_or(0) * 1_000_000
            + u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000;
        self.notify(&format!(
            "RELOADING=1\nMONOTONIC_USEC={usec}\nSTATUS=Reloading"
        ));
    }

    /// A shutdown began.
    pub fn stopping(&self) {
        self.notify("STOPPING=1\nSTATUS=Finishing running commands");
    }

    /// Pings the watchdog from the runtime, so a runtime that stops scheduling tasks stops the
    /// pings and systemd restarts the service.
    pub fn start_watchdog(self: &std::sync::Arc<Self>) {
        let Some(every) = self.watchdog else {
            return;
        };
        let this = std::sync::Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                this.notify("WATCHDOG=1");
            }
        });
    }
}
