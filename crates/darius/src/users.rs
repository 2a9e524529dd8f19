//! `darius user add|passwd|del|list|show|check` (and `import-sasldb`, in `sasldb_import.rs`): through the running server's admin socket when one
//! answers, otherwise on the files directly (the server is stopped). Both paths run
//! `admin::execute`, so they say the same thing; each change is reported with the data
//! directory it was made in. Only `darius serve` creates a store: without one these commands
//! refuse, naming the directory they looked in. `user del` deletes mail, so it asks first (on a
//! terminal) or wants `--yes`.

use std::io::{BufRead, IsTerminal, Read};
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
    /// Delete a user and all their mail (asks on a terminal; elsewhere needs --yes).
    Del {
        name: String,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// List users, one per line.
    List,
    /// Show which secret forms a user's password is stored in (`argon2id`, `scram-sha-1(N)`,
    /// `scram-sha-256(N)` with N iterations, `cram-md5`, `apop` for the copy `allowapop`
    /// keeps), never the secrets themselves.
    Show { name: String },
    /// Check a user's password (read like `add`); exits 0 when it is right, 1 when not.
    Check {
        name: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Add the users of a Cyrus SASL database (sasldb2) with their passwords.
    ImportSasldb(crate::sasldb_import::ImportArgs),
}

pub fn run(config_path: Option<&Path>, action: UserAction) -> Result<()> {
    if let UserAction::ImportSasldb(args) = action {
        return crate::sasldb_import::run(config_path, args);
    }
    submit(config_path, |dir| {
        Ok(match action {
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
            UserAction::Del { name, yes } => {
                if !yes {
                    confirm_delete(&name, dir)?;
                }
                Request::UserDel { name }
            }
            UserAction::List => Request::UserList,
            UserAction::Show { name } => Request::UserShow { name },
            // `run` has returned for this action before `submit`.
            UserAction::ImportSasldb(_) => unreachable!("import-sasldb is not one request"),
            UserAction::Check {
                name,
                password_file,
            } => Request::UserCheck {
                password: read_password(password_file.as_deref())?,
                name,
            },
        })
    })
}

/// Carries out one admin request: through the running server's admin socket when one answers,
/// otherwise on the files directly. `request` builds it once the data directory is known.
pub(crate) fn submit(
    config_path: Option<&Path>,
    request: impl FnOnce(&Path) -> Result<Request>,
) -> Result<()> {
    let loaded = embedded::load_config(config_path)?;
    let config = &loaded.config;
    let dir = config.configdirectory();
    if !crate::serve::is_initialised(dir) {
        bail!("{}", no_store(&loaded));
    }
    crate::logging::init(config);
    let request = request(dir)?;
    let response = match config.path("adminsocket") {
        Some(socket) => admin::call(socket, &request)?,
        None => None,
    };
    let response = match response {
        Some(response) => response,
        None => direct(config, request)?,
    };
    report(response, dir)
}

/// Why there is nothing to work on, and how to make it.
pub(crate) fn no_store(loaded: &embedded::Loaded) -> String {
    let dir = loaded.config.configdirectory().display();
    match &loaded.embedded {
        Some(_) => format!(
            "no Darius data directory at {dir}: without -C, commands use the `{}` directory \
             under the current directory, which `darius serve` creates; run this where you ran \
             `darius serve`, or pass -C FILE",
            embedded::DATA_DIR
        ),
        None => format!(
            "no mail store in {dir} (configdirectory of {}): only `darius serve` creates one; \
             start `darius -C {} serve` once",
            loaded.config.source(),
            loaded.config.source()
        ),
    }
}

/// Asks on a terminal; elsewhere (a script, a pipe) refuses unless `--yes` was given.
fn confirm_delete(name: &str, dir: &Path) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "user del deletes all mail of `{name}` in {}; pass --yes to confirm",
            dir.display()
        );
    }
    eprint!(
        "Delete user `{name}` and all their mail in {}? [y/N] ",
        dir.display()
    );
    let mut answer = String::new();
    stdin
        .lock()
        .take(1024)
        .read_line(&mut answer)
        .context("reading the answer")?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => bail!("user `{name}` kept"),
    }
}

/// Opens the databases ourselves: only possible while no server holds them.
fn direct(config: &config::Config, request: Request) -> Result<Response> {
    let ctx = crate::mail::Backend::open(config)?;
    Ok(admin::execute(&ctx, request, "command-line"))
}

fn report(response: Response, dir: &Path) -> Result<()> {
    match response {
        Response::Done { message } => {
            println!("{message}");
            Ok(())
        }
        Response::Users { names } => {
            if names.is_empty() {
                eprintln!("darius: no users in {}", dir.display());
            }
            for name in names {
                println!("{name}");
            }
            Ok(())
        }
        Response::Mailboxes { names } => {
            for name in names {
                println!("{name}");
            }
            Ok(())
        }
        Response::Acl { entries } => {
            for (identifier, rights) in entries {
                println!("{identifier} {rights}");
            }
            Ok(())
        }
        Response::Quotas { roots } => {
            print!("{}", crate::quotas::render(&roots));
            Ok(())
        }
        Response::Checked { valid: true } => {
            println!("OK");
            Ok(())
        }
        Response::Checked { valid: false } => bail!("authentication failed"),
        Response::Findings { lines } => {
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        Response::Collected { report } => {
            print!("{report}");
            Ok(())
        }
        Response::Removed { report } => {
            print!("{report}");
            Ok(())
        }
        Response::Synced { report } => {
            print!("{report}");
            Ok(())
        }
        Response::BackedUp { summary } => {
            println!(
                "backed up {} mailboxes, {} messages",
                summary.mailboxes, summary.messages
            );
            Ok(())
        }
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
