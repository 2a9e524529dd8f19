//! `darius doctor`: checks what a server needs from the machine and its files before an
//! administrator finds out from a failure, and says what to do about each problem: the
//! configuration, every directory (there, writable, not open to everyone, owned by whoever
//! runs this), free space on every partition, the TLS certificate (it reads, it is not about
//! to expire), every configured listener (it can be bound, or the running server holds it),
//! the store's consistency (`darius check`), and the clock and time zone.
//!
//! One line per check: `ok`, `warning` or `error`, what was found, and for a problem what to
//! do. Exit status 0 when nothing is an error (warnings allowed), 1 otherwise; run it as the
//! user the server runs as.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::services::SERVICES;

/// A certificate expiring within this many days is a warning.
const EXPIRY_WARNING_DAYS: u64 = 21;
/// Free space below these, on any partition or the config directory's file system.
const FREE_ERROR_BYTES: u64 = 100 << 20;
const FREE_WARNING_PERCENT: u64 = 10;

#[derive(Default)]
struct Report {
    errors: usize,
    warnings: usize,
}

impl Report {
    fn ok(&mut self, what: &str) {
        println!("ok       {what}");
    }

    fn warning(&mut self, what: &str, fix: &str) {
        self.warnings += 1;
        println!("warning  {what}\n         fix: {fix}");
    }

    fn error(&mut self, what: &str, fix: &str) {
        self.errors += 1;
        println!("error    {what}\n         fix: {fix}");
    }
}

pub fn run(config_path: Option<&Path>) -> ExitCode {
    let mut report = Report::default();
    let loaded = match crate::embedded::load_config(config_path) {
        Ok(loaded) => loaded,
        Err(e) => {
            report.error(
                &format!("configuration: {e:#}"),
                "correct the file (docs/configuration.md, darius-imapd.conf(5)) and run again",
            );
            return summary(&report);
        }
    };
    let config = &loaded.config;
    report.ok(&format!("configuration: {} reads", config.source()));
    directories(config, &mut report);
    certificate(&loaded, &mut report);
    listeners(config, &mut report);
    store(config, &mut report);
    clock(&mut report);
    summary(&report)
}

fn summary(report: &Report) -> ExitCode {
    println!(
        "doctor: {} error(s), {} warning(s)",
        report.errors, report.warnings
    );
    if report.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn directories(config: &config::Config, report: &mut Report) {
    let mut dirs = vec![(
        "configdirectory".to_string(),
        config.configdirectory().to_path_buf(),
    )];
    for (name, path) in config.partitions() {
        dirs.push((format!("partition-{name}"), path.to_path_buf()));
    }
    let me = rustix::process::geteuid().as_raw();
    for (option, dir) in dirs {
        let shown = format!("{option} {}", dir.display());
        let meta = match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => meta,
            Ok(_) => {
                report.error(
                    &format!("{shown}: not a directory"),
                    &format!("point {option} at a directory"),
                );
                continue;
            }
            Err(e) => {
                // `darius serve` makes what it may (its parent writable by this user).
                let parent_writable = dir
                    .ancestors()
                    .skip(1)
                    .find(|p| p.exists())
                    .is_some_and(|p| rustix::fs::access(p, rustix::fs::Access::WRITE_OK).is_ok());
                let fix = format!(
                    "create it (`install -d -m 0750 -o darius -g darius {}`)",
                    dir.display()
                );
                if parent_writable {
                    report.warning(
                        &format!("{shown}: {e}; `darius serve` creates it at its first start"),
                        &fix,
                    );
                } else {
                    report.error(&format!("{shown}: {e}"), &fix);
                }
                continue;
            }
        };
        let probe = dir.join(format!(".darius-doctor-{}", std::process::id()));
        match fs::write(&probe, b"") {
            Ok(()) => {
                let _ = fs::remove_file(&probe);
            }
            Err(e) => {
                report.error(
                    &format!("{shown}: not writable by this user ({e})"),
                    &format!(
                        "`chown -R darius:darius {}`, and run the server (and doctor) as darius",
                        dir.display()
                    ),
                );
                continue;
            }
        }
        if meta.uid() != me {
            report.warning(
                &format!(
                    "{shown}: owned by uid {}, not by this user (uid {me})",
                    meta.uid()
                ),
                &format!(
                    "`chown -R darius:darius {}` if the server runs as darius; run doctor as \
                     the server's user",
                    dir.display()
                ),
            );
            continue;
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            report.warning(
                &format!("{shown}: mode {mode:o}, others may enter or read it"),
                &format!(
                    "`chmod o-rwx {}` (0750 is the packaged mode)",
                    dir.display()
                ),
            );
            continue;
        }
        match free_space(&dir) {
            Some((available, total)) => {
                let percent = available.saturating_mul(100) / total.max(1);
                let text = format!("{shown}: {} MiB free ({percent} %)", available >> 20);
                if available < FREE_ERROR_BYTES {
                    report.error(
                        &text,
                        "free space on that file system: deliveries and APPENDs are refused \
                         when it runs out",
                    );
                } else if percent < FREE_WARNING_PERCENT {
                    report.warning(&text, "free space on that file system, or add a partition");
                } else {
                    report.ok(&text);
                }
            }
            None => report.ok(&format!("{shown}: writable")),
        }
    }
}

/// Available and total bytes of the file system holding `dir`.
fn free_space(dir: &Path) -> Option<(u64, u64)> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    let block = stat.f_frsize.max(1);
    Some((
        stat.f_bavail.saturating_mul(block),
        stat.f_blocks.saturating_mul(block),
    ))
}

fn certificate(loaded: &crate::embedded::Loaded, report: &mut Report) {
    let config = &loaded.config;
    let (Some(cert), Some(key)) = (
        config.path("tls_server_cert"),
        config.path("tls_server_key"),
    ) else {
        if SERVICES
            .iter()
            .any(|s| s.option == "listen_imaps" && config.listen(s.option).is_some())
        {
            report.error(
                "TLS: listen_imaps is set without tls_server_cert and tls_server_key",
                "set both (PEM files), or remove listen_imaps",
            );
        } else {
            report.warning(
                "TLS: no tls_server_cert and tls_server_key: no STARTTLS, passwords travel in \
                 clear",
                "set both to a certificate and its key (PEM)",
            );
        }
        return;
    };
    // The embedded default makes its own certificate at its first start.
    if loaded.embedded.is_some() && !cert.exists() {
        report.ok(&format!(
            "TLS: {} is made by `darius serve` at its first start",
            cert.display()
        ));
        return;
    }
    let tls = match net::load_server_config(cert, key, config.path("tls_client_ca_file")) {
        Ok(tls) => tls,
        Err(e) => {
            report.error(
                &format!("TLS: {e}"),
                "give tls_server_cert a PEM certificate chain and tls_server_key its PEM key, \
                 readable by the server's user",
            );
            return;
        }
    };
    let Some(not_after) = tls.cert.not_after() else {
        report.warning(
            &format!("TLS: {}: its expiry date does not read", cert.display()),
            "check the certificate with `openssl x509 -noout -enddate -in FILE`",
        );
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let shown = format!("TLS: {}", cert.display());
    if not_after <= now {
        report.error(
            &format!("{shown}: expired {} day(s) ago", (now - not_after) / 86_400),
            "renew the certificate, then `systemctl reload darius` (SIGHUP) reads it again",
        );
    } else {
        let days = (not_after - now) / 86_400;
        if days < EXPIRY_WARNING_DAYS {
            report.warning(
                &format!("{shown}: expires in {days} day(s)"),
                "renew the certificate, then `systemctl reload darius` (SIGHUP) reads it again",
            );
        } else {
            report.ok(&format!("{shown}: valid for {days} more day(s)"));
        }
    }
}

fn listeners(config: &config::Config, report: &mut Report) {
    let running = crate::reconstruct::running_server(config).is_some();
    for service in SERVICES.iter().filter(|s| s.option.starts_with("listen_")) {
        let Some(addr) = config.listen(service.option) else {
            continue;
        };
        let shown = format!("{} {addr}", service.option);
        match TcpListener::bind((addr.host.as_str(), addr.port)) {
            Ok(_) => report.ok(&format!("{shown}: can be bound")),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && running => {
                report.ok(&format!("{shown}: held by the running server"));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => report.error(
                &format!("{shown}: in use by another program"),
                &format!(
                    "find it with `ss -ltnp 'sport = :{}'` and stop it (a system Cyrus or \
                     Dovecot?), or choose another port",
                    addr.port
                ),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => report.error(
                &format!("{shown}: {e}"),
                "ports below 1024 need CAP_NET_BIND_SERVICE: the systemd unit gives it \
                 (AmbientCapabilities), or use `setcap cap_net_bind_service=+ep` on the binary",
            ),
            Err(e) => report.error(
                &format!("{shown}: {e}"),
                "check that the address belongs to this machine",
            ),
        }
    }
}

fn store(config: &config::Config, report: &mut Report) {
    if !crate::serve::is_initialised(config.configdirectory()) {
        report.ok("store: not created yet (`darius serve` creates it)");
        return;
    }
    match crate::check::store_findings(config) {
        Ok(lines) if lines.is_empty() => report.ok("store: consistent (darius check)"),
        Ok(lines) => {
            let first = lines.first().cloned().unwrap_or_default();
            report.error(
                &format!("store: {} finding(s), the first: {first}", lines.len()),
                "`darius check` lists them all with the command that repairs each",
            );
        }
        Err(e) => report.error(
            &format!("store: {e:#}"),
            "see the error; `darius check` runs the same check",
        ),
    }
}

fn clock(report: &mut Report) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // 2024-01-01: a clock before it is wrong (internal dates, certificates, UIDVALIDITY).
    if now < 1_704_067_200 {
        report.error(
            "clock: the system time is before 2024",
            "set the clock (`timedatectl set-ntp true`)",
        );
    } else {
        report.ok("clock: plausible");
    }
    let zone = std::env::var("TZ")
        .ok()
        .filter(|z| !z.is_empty())
        .or_else(|| {
            fs::read_link("/etc/localtime").ok().map(|target| {
                let text = target.display().to_string();
                text.split("zoneinfo/").nth(1).unwrap_or(&text).to_string()
            })
        });
    match zone {
        Some(zone) => report.ok(&format!("time zone: {zone}")),
        None if Path::new("/etc/localtime").exists() => report.ok("time zone: /etc/localtime"),
        None => report.warning(
            "time zone: none set (no TZ, no /etc/localtime): local times are UTC",
            "`timedatectl set-timezone ZONE`, or install tzdata",
        ),
    }
}
