//! `darius user import-sasldb FILE [--realm R] [--replace] [--dry-run]`: a Cyrus site's users,
//! with their passwords, from its Cyrus SASL database (`/etc/sasldb2`), so that nobody has to
//! choose a new password when the site moves to Darius.
//!
//! Each user with a clear-text `userPassword` is added through the same admin request as
//! `darius user add` (argon2id hash, INBOX created), through the running server's admin socket
//! when one answers, otherwise on the files directly. Users the database already has are kept
//! unless `--replace` is given, which sets their password as `darius user passwd` does.
//!
//! User ids follow Cyrus: an entry of the default realm (`--realm`, else `servername`, else the
//! host name — what `saslpasswd2` uses without `-u`, and what Cyrus's `defaultdomain` strips)
//! becomes `user`; an entry of another realm becomes `user@realm`, the id a Cyrus server with
//! `virtdomains` gives that user. Entries with only a SCRAM secret (`authPassword`, written by
//! Cyrus SASL under `scram_secret_generate` with `saslpasswd2 -n`) or other mechanism secrets
//! carry no password this database can store, so they are listed as skipped.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::admin::{self, Request, Response};
use crate::embedded;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The Cyrus SASL database (Berkeley DB hash, as Debian's sasl2-bin writes, or LMDB).
    file: PathBuf,
    /// The realm whose users become plain `user` ids (default: servername, else the host name).
    #[arg(long, value_name = "REALM")]
    realm: Option<String>,
    /// Set the password of users that exist already (otherwise they are kept as they are).
    #[arg(long)]
    replace: bool,
    /// Say what would be done, change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// What becomes of one sasldb user.
enum Plan {
    Import { userid: String, password: String },
    Skip { reason: String },
}

/// One sasldb user (`user@realm`) and what it becomes.
struct Planned {
    source: String,
    plan: Plan,
}

#[derive(Default)]
struct Counts {
    added: usize,
    replaced: usize,
    kept: usize,
    skipped: usize,
    failed: usize,
}

pub fn run(config_path: Option<&Path>, args: ImportArgs) -> Result<()> {
    let db = auth::sasldb::read(&args.file)
        .with_context(|| format!("{} is not a readable sasldb", args.file.display()))?;
    let loaded = embedded::load_config(config_path)?;
    let config = &loaded.config;
    let dir = config.configdirectory();
    if !crate::serve::is_initialised(dir) {
        bail!("{}", crate::users::no_store(&loaded));
    }
    crate::logging::init(config);
    let realm = args
        .realm
        .clone()
        .unwrap_or_else(|| crate::imap::servername(config));
    // With virtual domains an id is compared (and stored) in its canonical form: a realm in
    // another case is the same domain, the default domain's users are bare.
    let domains = crate::mail::domains(config)?;
    let planned: Vec<Planned> = plan(&db.entries, &realm)
        .into_iter()
        .map(|p| p.canonical(&domains))
        .collect();
    let mut target = Target::open(config)?;
    let existing: HashSet<String> = match target.call(Request::UserList)? {
        Response::Users { names } => names.into_iter().collect(),
        Response::Refused { reason } | Response::Failed { reason } => bail!("{reason}"),
        other => bail!("unexpected answer to a user list: {other:?}"),
    };
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    let mut counts = Counts::default();
    for planned in planned {
        carry_out(&mut target, &args, &existing, planned, &mut counts)?;
    }
    counts.skipped += db.unreadable_keys;
    if db.unreadable_keys > 0 {
        println!(
            "skipped {} entries whose key is not user, realm and property in UTF-8",
            db.unreadable_keys
        );
    }
    println!(
        "{verb} {} ({}; default realm {realm}) into {}: {} added, {} replaced, {} kept \
         (already there; --replace sets their passwords), {} skipped, {} failed",
        args.file.display(),
        db.format,
        dir.display(),
        counts.added,
        counts.replaced,
        counts.kept,
        counts.skipped,
        counts.failed
    );
    if counts.failed > 0 {
        bail!("{} users could not be imported", counts.failed);
    }
    Ok(())
}

/// One sasldb user's properties: the clear-text password, and the names of the others.
#[derive(Default)]
struct Found<'a> {
    password: Option<&'a [u8]>,
    others: Vec<&'a str>,
}

impl Planned {
    /// The same plan with its userid in `domains`' canonical form (unchanged with domains off;
    /// an id the rules refuse is skipped, saying why).
    fn canonical(self, domains: &types::Domains) -> Planned {
        let Planned { source, plan } = self;
        let plan = match plan {
            Plan::Import { userid, password } => match domains.canonical_userid(&userid) {
                Some(userid) => Plan::Import { userid, password },
                None => Plan::Skip {
                    reason: format!("{userid:?}: the realm is not a domain name"),
                },
            },
            skip @ Plan::Skip { .. } => skip,
        };
        Planned { source, plan }
    }
}

/// Groups the entries by user and realm, in the file's user order.
fn plan(entries: &[auth::sasldb::SasldbEntry], default_realm: &str) -> Vec<Planned> {
    let mut users: BTreeMap<(&str, &str), Found<'_>> = BTreeMap::new();
    for entry in entries {
        let found = users.entry((&entry.user, &entry.realm)).or_default();
        if entry.property == "userPassword" {
            found.password = Some(entry.value.expose());
        } else {
            found.others.push(&entry.property);
        }
    }
    let mut seen = HashSet::new();
    users
        .into_iter()
        .map(|((user, realm), Found { password, others })| {
            let userid = userid(user, realm, default_realm);
            let source = format!("{user}@{realm}");
            let plan = match (password, auth::validate_username(&userid)) {
                (_, Err(e)) => Plan::Skip {
                    reason: format!("`{userid}` is not a Darius user name: {e}"),
                },
                (None, Ok(())) => Plan::Skip {
                    reason: format!(
                        "no clear-text userPassword, only {}: those secrets cannot be carried \
                         over; set a password with `darius user add`",
                        others.join(", ")
                    ),
                },
                (Some(password), Ok(())) => match std::str::from_utf8(password) {
                    Ok("") => Plan::Skip {
                        reason: "the userPassword is empty".into(),
                    },
                    Ok(password) if seen.insert(userid.clone()) => Plan::Import {
                        userid,
                        password: password.to_string(),
                    },
                    Ok(_) => Plan::Skip {
                        reason: format!("another entry already gives the user id `{userid}`"),
                    },
                    Err(_) => Plan::Skip {
                        reason: "the userPassword is not UTF-8".into(),
                    },
                },
            };
            Planned { source, plan }
        })
        .collect()
}

/// `user` for the default realm (or none), `user@realm` for any other.
fn userid(user: &str, realm: &str, default_realm: &str) -> String {
    if realm.is_empty() || realm.eq_ignore_ascii_case(default_realm) {
        user.to_string()
    } else {
        format!("{user}@{realm}")
    }
}

fn carry_out(
    target: &mut Target,
    args: &ImportArgs,
    existing: &HashSet<String>,
    planned: Planned,
    counts: &mut Counts,
) -> Result<()> {
    let Planned { source, plan } = planned;
    let (userid, password) = match plan {
        Plan::Skip { reason } => {
            counts.skipped += 1;
            println!("skipped {source}: {reason}");
            return Ok(());
        }
        Plan::Import { userid, password } => (userid, password),
    };
    let exists = existing.contains(&userid);
    let (request, done, count) = match (exists, args.replace) {
        (true, false) => {
            counts.kept += 1;
            println!("kept {userid} ({source}): already a user");
            return Ok(());
        }
        (true, true) => (
            Request::UserPasswd {
                name: userid.clone(),
                password,
            },
            "replaced the password of",
            &mut counts.replaced,
        ),
        (false, _) => (
            Request::UserAdd {
                name: userid.clone(),
                password,
            },
            "added",
            &mut counts.added,
        ),
    };
    if args.dry_run {
        *count += 1;
        println!("would have {done} {userid} ({source})");
        return Ok(());
    }
    match target.call(request)? {
        Response::Done { .. } => {
            *count += 1;
            println!("{done} {userid} ({source})");
        }
        Response::Refused { reason } | Response::Failed { reason } => {
            counts.failed += 1;
            println!("failed {userid} ({source}): {reason}");
        }
        other => bail!("unexpected answer for {userid}: {other:?}"),
    }
    Ok(())
}

/// Where the requests go: the running server's admin socket, or the files when none answers.
enum Target {
    Socket(PathBuf),
    Direct(Box<crate::mail::Backend>),
}

impl Target {
    fn open(config: &config::Config) -> Result<Target> {
        if let Some(socket) = config.path("adminsocket") {
            if admin::call(socket, &Request::UserList)?.is_some() {
                return Ok(Target::Socket(socket.to_path_buf()));
            }
        }
        Ok(Target::Direct(Box::new(crate::mail::Backend::open(
            config,
        )?)))
    }

    fn call(&mut self, request: Request) -> Result<Response> {
        match self {
            Target::Socket(path) => admin::call(path, &request)?.with_context(|| {
                format!("the server at {} stopped during the import", path.display())
            }),
            Target::Direct(backend) => Ok(admin::execute(backend, request, "command-line")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth::sasldb::SasldbEntry;
    use types::Secret;

    fn entry(user: &str, realm: &str, property: &str, value: &[u8]) -> SasldbEntry {
        SasldbEntry {
            user: user.into(),
            realm: realm.into(),
            property: property.into(),
            value: Secret::new(value.to_vec()),
        }
    }

    fn outcome(planned: &Planned) -> String {
        match &planned.plan {
            Plan::Import { userid, password } => {
                format!("{} -> {userid}:{password}", planned.source)
            }
            Plan::Skip { reason } => format!("{} skipped: {reason}", planned.source),
        }
    }

    #[test]
    fn with_virtual_domains_ids_are_planned_in_canonical_form() {
        let domains = types::Domains {
            mode: types::DomainMode::Userid,
            default_domain: Some("example.org".into()),
            local_names: Vec::new(),
        };
        let entries = [
            entry("bob", "ONE.Example", "userPassword", b"a"),
            entry("carol", "EXAMPLE.ORG", "userPassword", b"b"),
            entry("dan", "bad_realm", "userPassword", b"c"),
        ];
        let ids: Vec<String> = plan(&entries, "mail.example.org")
            .into_iter()
            .map(|p| match p.canonical(&domains).plan {
                Plan::Import { userid, .. } => userid,
                Plan::Skip { reason } => format!("skip: {reason}"),
            })
            .collect();
        assert_eq!(ids[0], "bob@one.example");
        assert_eq!(ids[1], "carol");
        assert!(ids[2].starts_with("skip: "), "{ids:?}");
        // Domains off: ids as planned.
        let off = plan(&entries[..1], "mail.example.org").remove(0);
        assert!(matches!(off.canonical(&types::Domains::off()).plan,
            Plan::Import { ref userid, .. } if userid == "bob@ONE.Example"));
    }

    #[test]
    fn default_realm_users_lose_their_realm_others_keep_it() {
        let entries = [
            entry("alice", "Mail.Example.ORG", "userPassword", b"a"),
            entry("bob", "other.net", "userPassword", b"b"),
            entry("carol", "", "userPassword", b"c"),
        ];
        let all: Vec<_> = plan(&entries, "mail.example.org")
            .iter()
            .map(outcome)
            .collect();
        assert_eq!(
            all,
            [
                "alice@Mail.Example.ORG -> alice:a",
                "bob@other.net -> bob@other.net:b",
                "carol@ -> carol:c"
            ]
        );
    }

    #[test]
    fn scram_only_users_bad_names_and_clashes_are_skipped_with_a_reason() {
        let entries = [
            entry("erin", "r", "authPassword", b"SCRAM-SHA-1$4096:..."),
            entry("fred", "r", "userPassword", b"f1"),
            entry("fred", "", "userPassword", b"f2"),
            entry("anyone", "r", "userPassword", b"x"),
            entry("gina", "r", "userPassword", b"\xff"),
        ];
        let all: Vec<_> = plan(&entries, "r").iter().map(outcome).collect();
        assert!(
            all[0].starts_with("anyone@r skipped: `anyone` is not a Darius user name"),
            "{all:?}"
        );
        assert!(
            all[1].starts_with("erin@r skipped: no clear-text userPassword, only authPassword"),
            "{all:?}"
        );
        assert_eq!(all[2], "fred@ -> fred:f2");
        assert_eq!(
            all[3],
            "fred@r skipped: another entry already gives the user id `fred`"
        );
        assert_eq!(all[4], "gina@r skipped: the userPassword is not UTF-8");
    }
}
