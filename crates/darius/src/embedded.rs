//! The embedded default configuration, and the files it makes on first start: the data
//! directory `./darius-data`, a self-signed certificate (`certificate.rs`, renewed when due), the `admin` account with a random
//! password (printed once, kept in `darius-data/admin-password`, mode 0600), and the effective
//! configuration written out as a commented `darius-data/imapd.conf`.
//!
//! Without `-C`, every start uses the embedded default afresh; the written `imapd.conf` is a
//! starting point to copy, edit and pass with `-C`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::distributions::{Alphanumeric, DistString};
use types::Secret;

use crate::services::{Embedded, SERVICES};

pub const DATA_DIR: &str = "darius-data";
pub const ADMIN_USER: &str = "admin";
const ADMIN_PASSWORD_FILE: &str = "admin-password";
/// Stated in the written `imapd.conf` (it is also the option's default), so that an admin who
/// copies the file sees the limit and does not lose it by editing.
const MAX_MESSAGE_SIZE: &str = "100M";

/// A configuration and where it came from.
pub struct Loaded {
    pub config: config::Config,
    /// The data directory, when this is the embedded default.
    pub embedded: Option<PathBuf>,
}

/// Reads `-C FILE`, or builds the embedded default for `./darius-data`. Warnings about unknown
/// options go to stderr (logging may not be set up yet).
pub fn load_config(path: Option<&Path>) -> Result<Loaded> {
    let (config, warnings, embedded) = match path {
        Some(path) => {
            let (config, warnings) = config::parse_file(path)?;
            (config, warnings, None)
        }
        None => {
            let data_dir = std::env::current_dir()
                .context("finding the current directory")?
                .join(DATA_DIR);
            let text = config_text(&data_dir);
            let (config, warnings) = config::parse_str(&text, "(embedded default)")?;
            (config, warnings, Some(data_dir))
        }
    };
    for warning in warnings {
        eprintln!("darius: warning: {warning}");
    }
    Ok(Loaded { config, embedded })
}

/// The embedded default as `imapd.conf` text.
pub(crate) fn config_text(data_dir: &Path) -> String {
    let d = data_dir.display();
    let mut text = format!(
        "configdirectory: {d}\n\
         partition-default: {d}/spool\n\
         admins: {ADMIN_USER}\n\
         maxmessagesize: {MAX_MESSAGE_SIZE}\n\
         tls_server_cert: {d}/tls/server.pem\n\
         tls_server_key: {d}/tls/server.key\n"
    );
    for service in SERVICES.iter().filter(|s| s.implemented()) {
        match service.embedded {
            Embedded::Port(port) => {
                let _ = writeln!(text, "{}: 127.0.0.1:{port}", service.option);
            }
            Embedded::Socket(rel) => {
                let _ = writeln!(text, "{}: {d}/{rel}", service.option);
            }
            Embedded::Off => {}
        }
    }
    text
}

/// First-start work for the embedded default; `set_admin_password` stores the admin's password
/// in the password database. Returns the new password when one was made (to print once).
pub fn prepare(
    config: &config::Config,
    data_dir: &Path,
    set_admin_password: impl FnOnce(&Secret<String>) -> Result<()>,
) -> Result<Option<Secret<String>>> {
    if let (Some(cert), Some(key)) = (
        config.path("tls_server_cert"),
        config.path("tls_server_key"),
    ) {
        crate::certificate::ensure(cert, key)?;
    }
    let header = format!(
        "The embedded default configuration of Darius {}, written at every start without -C.\n\
         To change it, copy this file, edit the copy and start `darius serve -C COPY`.",
        env!("CARGO_PKG_VERSION")
    );
    let conf = config::render_imapd_conf(config, &header);
    let conf_path = data_dir.join("imapd.conf");
    fs::write(&conf_path, conf).with_context(|| format!("writing {}", conf_path.display()))?;
    let password_path = data_dir.join(ADMIN_PASSWORD_FILE);
    if password_path.exists() {
        return Ok(None);
    }
    let password = Secret::new(Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20));
    set_admin_password(&password)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&password_path)
        .with_context(|| format!("creating {}", password_path.display()))?;
    writeln!(file, "{}", password.expose())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", password_path.display()))?;
    Ok(Some(password))
}
