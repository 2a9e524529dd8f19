//! The Kerberos 5 keytab for GSSAPI: the `keytab` option (with `sasl_keytab` and `srvtab` as
//! other names for it) is handed to the system's Kerberos library as `KRB5_KTNAME`, which is
//! where MIT Kerberos looks for an acceptor's keys. The binding GSSAPI uses has no call that
//! names a keytab, so the process environment carries it; it is set at start-up, before the
//! runtime or any other thread that could read the environment starts.
//!
//! Each server then acquires its service principal's credentials once ([`service`]: `imap/HOST`
//! for IMAP, HOST being `servername`), so that a keytab without the key is reported at
//! start-up: an error when `sasl_mech_list` names GSSAPI, a note when the empty list would
//! have offered it.
//!
//! Owns: choosing the keytab and the acquisition policy. Must not: run an exchange (the `sasl`
//! crate does, on the hashing threads).

use std::path::Path;

use anyhow::{bail, Result};

/// The option names of the keytab, in the order they are consulted.
const NAMES: [&str; 3] = ["keytab", "sasl_keytab", "srvtab"];

/// Names the configured keytab to Kerberos; with none configured, Kerberos's own default (its
/// environment variable, else `/etc/krb5.keytab`) stands. Refuses two names for different
/// files. Call before any thread starts.
pub fn configure(config: &config::Config) -> Result<()> {
    let Some(keytab) = chosen(config)? else {
        return Ok(());
    };
    if !cfg!(feature = "gssapi") {
        tracing::warn!(
            "{} is set, but this build has no GSSAPI (build with the `gssapi` feature): the keytab is not used",
            NAMES.join("/")
        );
        return Ok(());
    }
    if let Err(e) = std::fs::File::open(keytab) {
        bail!("keytab {}: {e}", keytab.display());
    }
    let mut name = std::ffi::OsString::from("FILE:");
    name.push(keytab);
    // Before any other thread: nothing reads the environment while it changes.
    std::env::set_var("KRB5_KTNAME", name);
    Ok(())
}

/// The Kerberos credentials of `service` (`imap`, `pop`, `sieve`, `lmtp`) on `host`, for GSSAPI;
/// `None` when GSSAPI is not to be offered. `mechanisms` is the parsed `sasl_mech_list`.
pub fn service(
    service: &str,
    host: &str,
    mechanisms: &[sasl::Mechanism],
) -> Result<Option<sasl::KerberosService>> {
    let listed = mechanisms.contains(&sasl::Mechanism::Gssapi);
    if !listed && !mechanisms.is_empty() {
        return Ok(None);
    }
    match sasl::KerberosService::acquire(service, host) {
        Ok(credentials) => {
            tracing::info!("GSSAPI: accepting Kerberos tickets for {service}/{host}");
            Ok(Some(credentials))
        }
        Err(e) if listed => bail!("sasl_mech_list names GSSAPI, but {e}"),
        Err(sasl::KerberosError::NotBuilt) => Ok(None),
        Err(e) => {
            tracing::info!("GSSAPI not offered: {e}");
            Ok(None)
        }
    }
}

/// The keytab the options name, if any: each name set must name the same file.
fn chosen(config: &config::Config) -> Result<Option<&Path>> {
    let mut chosen: Option<(&str, &Path)> = None;
    for name in NAMES {
        let Some(path) = config.path(name) else {
            continue;
        };
        match chosen {
            Some((first, other)) if other != path => bail!(
                "{first} and {name} name different keytabs ({} and {}): set one",
                other.display(),
                path.display()
            ),
            Some(_) => {}
            None => chosen = Some((name, path)),
        }
    }
    Ok(chosen.map(|(_, path)| path))
}
