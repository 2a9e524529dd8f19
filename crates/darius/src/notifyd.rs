//! `darius notifyd`: the notification daemon (Cyrus's `notifyd`). Servers whose configuration
//! sets `notifysocket` send their notifications here as datagrams; this process runs the
//! methods (`log`, `mailto`, `external`, `webhook`) the same configuration names.

use std::path::Path;

use anyhow::{Context, Result};

use crate::{embedded, logging, mail};

pub fn run(config_path: Option<&Path>) -> Result<()> {
    let loaded = embedded::load_config(config_path)?;
    let config = &loaded.config;
    logging::init(config);
    let settings = mail::notifier_config(config, &mail::namespace(config))?;
    settings.check().map_err(anyhow::Error::msg)?;
    let path = config
        .path("notifysocket")
        .context("notifysocket: empty; notifyd needs a socket path")?
        .to_path_buf();
    let drops = std::sync::Arc::new(notify::Drops::new());
    let methods = notify::Methods::start(&settings.methods(), &settings.settings, drops)
        .map_err(anyhow::Error::msg)?;
    notify::socket::serve(&path, &methods)
        .with_context(|| format!("notifyd: socket {}", path.display()))
}
