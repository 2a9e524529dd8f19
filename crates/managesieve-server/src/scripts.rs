//! The commands of the authenticated state (RFC 5804 §2.5–§2.12): each runs its service call
//! on the blocking pool and maps the answer to a response, with §1.3's codes: `NONEXISTENT`,
//! `ALREADYEXISTS`, `ACTIVE`, `QUOTA/MAXSCRIPTS`, `QUOTA/MAXSIZE`; a failure of this machine is
//! logged and answered `NO (TRYLATER)`.

use mailservice::{Identity, SieveError};
use managesieve_proto::{
    list_line, script_data, Activity, Command, RespCode, Response, ScriptName,
};

use crate::session::Session;

/// What a successful command sends before its `OK`: data lines (LISTSCRIPTS, GETSCRIPT), or
/// nothing.
struct Done(Vec<u8>);

impl Session {
    /// Runs one script command for `identity`.
    pub(crate) async fn script_command(&mut self, identity: Identity, command: Command) {
        let keyword = command.keyword();
        let service = self.server.service.clone();
        let result = service
            .blocking(move |s| Ok(run(s, &identity, command)))
            .await
            .unwrap_or_else(|e| Err(SieveError::Failed(e)));
        match result {
            // A bare `OK`: Cyrus's client library (sieveshell) takes no text after it.
            Ok(Done(data)) => {
                self.conn.out.extend_from_slice(&data);
                self.respond(Response::ok(""));
            }
            Err(e) => {
                let response = self.refusal(keyword, e);
                self.respond(response);
            }
        }
    }

    fn refusal(&self, keyword: &str, e: SieveError) -> Response {
        let text = e.to_string();
        let code = match e {
            SieveError::NoSuchScript => Some(RespCode::NonExistent),
            SieveError::AlreadyExists => Some(RespCode::AlreadyExists),
            SieveError::Active => Some(RespCode::Active),
            SieveError::TooManyScripts(_) => Some(RespCode::QuotaMaxScripts),
            SieveError::TooLarge(_) => Some(RespCode::QuotaMaxSize),
            SieveError::Invalid(_) | SieveError::BadName(_) | SieveError::PermissionDenied => None,
            // The user is being moved to another server (XFER): RFC 5804 §1.3 TRYLATER.
            SieveError::Failed(mailservice::ServiceError::Moving) => {
                return Response::no(&text).with_code(RespCode::TryLater);
            }
            SieveError::Failed(e) => {
                tracing::error!(
                    severity = "err",
                    "{}: ManageSieve {keyword}: {e}",
                    self.conn.info.peer
                );
                return Response::no("Internal error; try later").with_code(RespCode::TryLater);
            }
        };
        let response = Response::no(&text);
        match code {
            Some(code) => response.with_code(code),
            None => response,
        }
    }
}

/// One command against the service (on the blocking pool).
fn run(
    s: &mailservice::MailService,
    identity: &Identity,
    command: Command,
) -> Result<Done, SieveError> {
    match command {
        // §2.5
        Command::HaveSpace { name, size } => {
            s.have_sieve_space(identity, name.as_str(), size)?;
            Ok(Done(Vec::new()))
        }
        // §2.6
        Command::PutScript { name, script } => {
            s.put_sieve_script(identity, name.as_str(), &script)?;
            Ok(Done(Vec::new()))
        }
        // §2.12
        Command::CheckScript { script } => {
            s.check_sieve_script(&script)?;
            Ok(Done(Vec::new()))
        }
        // §2.7
        Command::ListScripts => {
            let mut data = Vec::new();
            for info in s.list_sieve_scripts(identity)? {
                let Ok(name) = ScriptName::try_from(info.name.as_str()) else {
                    continue;
                };
                let activity = match info.active {
                    true => Activity::Active,
                    false => Activity::Inactive,
                };
                data.extend_from_slice(&list_line(&name, activity));
            }
            Ok(Done(data))
        }
        // §2.8
        Command::SetActive { name } => {
            s.set_active_sieve_script(identity, name.as_ref().map(ScriptName::as_str))?;
            Ok(Done(Vec::new()))
        }
        // §2.9
        Command::GetScript { name } => {
            let text = s.get_sieve_script(identity, name.as_str())?;
            Ok(Done(script_data(&text)))
        }
        // §2.10
        Command::DeleteScript { name } => {
            s.delete_sieve_script(identity, name.as_str())?;
            Ok(Done(Vec::new()))
        }
        // §2.11
        Command::RenameScript { old, new } => {
            s.rename_sieve_script(identity, old.as_str(), new.as_str())?;
            Ok(Done(Vec::new()))
        }
        Command::Authenticate { .. }
        | Command::StartTls
        | Command::Logout
        | Command::Capability
        | Command::Noop { .. }
        | Command::Unauthenticate => Ok(Done(Vec::new())),
    }
}
