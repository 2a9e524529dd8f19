//! The Kerberos 5 keytab for GSSAPI: the `keytab` option (with `sasl_keytab` and `srvtab` as
//! other names for it) is handed to the system's Kerberos library as `KRB5_KTNAME`, which is
//! where MIT Kerberos looks for an acceptor's keys. The binding GSSAPI uses has no call that
//! names a keytab, so the process environment carries it; it is set at start-up, before the
//! runtime or any other thread that could read the environment starts.
//!
//! Owns: choosing the keytab. Must not: acquire credentials (each server acquires those of its
//! service, `imap/HOST`, through `sasl::KerberosService`).

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
