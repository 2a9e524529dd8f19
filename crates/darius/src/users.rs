//! `darius user add|passwd|del|list|check`: through the running server's admin socket when one
//! answers, otherwise on the files directly (the server is stopped).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use crate::admin::{self, Request, Response};
use crate::embedded;

#[derive(Subcommand)]
pub enum UserAction {
    /// Add a user; the password is read from standard input (first line) or --password-file.
    Add {
        name: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Change a user's password (read like `add`).
    Passwd {
        name: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Delete a user.
    Del { name: String },
    /// List users, one per line.
    List,
    /// Check a user's password (read like `add`); exits 0 when it is right, 1 when not.
    Check {
        name: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

pub fn run(config_path: Option<&Path>, action: UserAction) -> Result<()> {
    let loaded = embedded::load_config(config_path)?;
    let config = &loaded.config;
    crate::logging::init(config);
    let request = match action {
        UserAction::Add {
            name,
            password_file,
        } => Request::UserAdd {
            password: read_password(password_file.as_deref())?,
            name,
        },
        UserAction::Passwd {
            name,
            password_file,
        } => Request::UserPasswd {
            password: read_password(password_file.as_deref())?,
            name,
        },
        UserAction::Del { name } => Request::UserDel { name },
        UserAction::List => Request::UserList,
        UserAction::Check {
            name,
            password_file,
        } => Request::UserCheck {
            password: read_password(password_file.as_deref())?,
            name,
        },
    };
    let response = match config.path("adminsocket") {
        Some(socket) => admin::call(socket, &request)?,
        None => None,
    };
    let response = match response {
        Some(response) => response,
        None => direct(config, request)?,
    };
    report(response)
}

/// Opens the databases ourselves: only possible while no server holds them.
fn direct(config: &config::Config, request: Request) -> Result<Response> {
    let dir = config.configdirectory();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ctx = crate::mail::Backend::open(config)?;
    Ok(admin::execute(&ctx, request, "command-line"))
}

fn report(response: Response) -> Result<()> {
    match response {
        Response::Done => Ok(()),
        Response::Users { names } => {
            for name in names {
                println!("{name}");
            }
            Ok(())
        }
        Response::Checked { valid: true } => {
            println!("OK");
            Ok(())
        }
        Response::Checked { valid: false } => bail!("authentication failed"),
        Response::Refused { reason } | Response::Failed { reason } => bail!("{reason}"),
    }
}

/// The first line of the file or of standard input, without its line end.
fn read_password(file: Option<&Path>) -> Result<String> {
    let text = match file {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => {
            let mut text = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut text)
                .context("reading the password from standard input")?;
            text
        }
    };
    let password = text.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        bail!("no password given (standard input or --password-file)");
    }
    Ok(password)
}
