//! `darius collectnews`, `darius rmnews` and `darius syncnews`: the netnews export's three
//! programs (crate `news`), run by the news server's user or the administrator.
//!
//! - `collectnews [FILE]`: feed lines (INN's `Wn`/`WR` feed file, or spool paths) from FILE or
//!   standard input; indexes those articles.
//! - `rmnews [BASE_DIRECTORY]`: what INN's `fastrm` reads on standard input (paths relative
//!   to BASE_DIRECTORY or the spool, or absolute, or storage tokens); drops the articles from
//!   the indexes and unlinks their files: a path is that link only, a token the article in
//!   every group it was filed in. Options `fastrm` takes (`-e`, `-u`, `-s`, `-d`, `-c`, `-v`,
//!   …) are accepted and ignored, so it can stand in as INN's RMPROC.
//! - `syncnews [-n] ACTIVE`: newsgroup mailboxes to match INN's `active` file.
//!
//! Through the running server's `newssocket` (mode 0660, group `newssocket_group`: the news
//! user needs no set-uid program and no access to the mail store), else its admin socket,
//! else on the files when no server runs. Input goes in pieces of at most [`PIECE`] octets,
//! each one request; the reports of the pieces are added up.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use news::{CollectReport, NewsConfig, RemoveReport};

use crate::admin::{self, Request, Response};
use crate::mail::Backend;

/// Octets of feed lines sent in one request (the admin protocol takes lines up to 64 KiB).
const PIECE: usize = 48 * 1024;

#[derive(Args)]
pub struct CollectArgs {
    /// Read the feed from FILE instead of standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Args)]
pub struct RmnewsArgs {
    /// `[fastrm options] [BASE_DIRECTORY]`: the directory relative paths are relative to (as
    /// `fastrm`'s; INN's `expirerm` passes `patharticles`; without it, `partition-news`).
    /// `fastrm`'s options (`-e`, `-d`, `-uN`, `-sN`, `-cN`, …) are taken and ignored, so
    /// `rmnews` can be INN's RMPROC.
    #[arg(
        value_name = "ARGS",
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
    args: Vec<String>,
}

#[derive(Args)]
pub struct SyncArgs {
    /// Dry run: say what would be created and removed, change nothing.
    #[arg(short = 'n', long = "dry-run")]
    dry_run: bool,
    /// INN's active file.
    #[arg(value_name = "ACTIVE")]
    active: PathBuf,
}

/// The news settings of a configuration.
pub fn news_config(config: &config::Config) -> Result<NewsConfig> {
    let acl = types::Acl::try_from(config.str("newsacl")).map_err(|e| anyhow!("newsacl: {e}"))?;
    let tradspool_map = match config.path("newstradspoolmap") {
        Some(path) => path.to_path_buf(),
        None => config
            .partitions()
            .get(mailstore::RESERVED_NEWS_PARTITION)
            .and_then(|spool| spool.parent())
            .unwrap_or(Path::new("/var/spool/news"))
            .join("tradspool.map"),
    };
    Ok(NewsConfig {
        acl: acl.to_stored(),
        tradspool_map,
    })
}

/// `newsprefix` as the store takes it: `None` when empty; a valid top-level name otherwise.
pub fn news_prefix(config: &config::Config) -> Result<Option<String>> {
    match config.str("newsprefix") {
        "" => Ok(None),
        given => {
            let name = types::MailboxName::try_from(given)
                .map_err(|e| anyhow!("newsprefix: {given:?}: {e}"))?;
            if name.as_str() == "user" || name.as_str().starts_with("user.") {
                bail!("newsprefix: {given:?} lies in the users' hierarchy");
            }
            Ok(Some(name.to_string()))
        }
    }
}

/// Carries out a news request on the store (server side, or a tool on the files).
pub fn execute(ctx: &Backend, request: Request) -> Response {
    let store = ctx.service.store();
    let result = match request {
        Request::NewsCollect { lines } => {
            news::Collector::new(store, ctx.news.clone()).and_then(|mut c| {
                for line in &lines {
                    c.line(line)?;
                }
                c.finish().map(|report| Response::Collected { report })
            })
        }
        Request::NewsRemove { lines } => {
            news::Remover::new(store, ctx.news.clone()).and_then(|mut r| {
                for line in &lines {
                    r.line(line)?;
                }
                r.finish().map(|report| Response::Removed { report })
            })
        }
        Request::NewsSync { active, dry_run } => {
            news::sync_active(store, &ctx.news, Path::new(&active), dry_run)
                .map(|report| Response::Synced { report })
        }
        other => Err(news::NewsError::Input(format!(
            "not a news request: {other:?}"
        ))),
    };
    result.unwrap_or_else(|e| {
        let refused = match &e {
            news::NewsError::Store(s) => s.is_refusal(),
            news::NewsError::Io { .. } => false,
            news::NewsError::Input(_) | news::NewsError::NoSpool => true,
        };
        if refused {
            Response::Refused {
                reason: e.to_string(),
            }
        } else {
            tracing::error!(severity = "err", "news request failed: {e}");
            Response::Failed {
                reason: e.to_string(),
            }
        }
    })
}

/// Binds `newssocket` when `partition-news` is set: mode 0660 with group `newssocket_group`
/// (0600 when that is empty or unknown here). Returns its path, to remove at shutdown.
pub fn listen(
    config: &config::Config,
    ctx: &std::sync::Arc<Backend>,
    shutdown: &net::Shutdown,
) -> Result<Option<PathBuf>> {
    let news_partition = mailstore::RESERVED_NEWS_PARTITION;
    if !config.partitions().contains_key(news_partition) {
        return Ok(None);
    }
    let Some(path) = config.path("newssocket") else {
        return Ok(None);
    };
    let group = match config.str("newssocket_group") {
        "" => None,
        name => match net::group_id(name) {
            Ok(gid) => Some(gid),
            Err(e) => {
                tracing::warn!(
                    severity = "warning",
                    "newssocket_group: {name}: {e}; the news socket is for the server's own \
                     user and root only"
                );
                None
            }
        },
    };
    let access = match group {
        Some(gid) => net::SocketAccess {
            mode: 0o660,
            group: Some(gid),
        },
        None => net::SocketAccess::owner_only(),
    };
    let listener = net::bind_unix(path, access)
        .with_context(|| format!("newssocket: binding {}", path.display()))?;
    let owner = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path)
            .map(|m| m.uid())
            .with_context(|| format!("{}", path.display()))?
    };
    tokio::spawn(admin::serve_scoped(
        listener,
        owner,
        std::sync::Arc::clone(ctx),
        shutdown.signal(),
        admin::Scope::News { group },
    ));
    tracing::info!("news socket listening on {}", path.display());
    Ok(Some(path.to_path_buf()))
}

/// Whether a request is one the news socket takes.
pub fn is_news_request(request: &Request) -> bool {
    matches!(
        request,
        Request::NewsCollect { .. } | Request::NewsRemove { .. } | Request::NewsSync { .. }
    )
}

/// Where news requests go: the running server's news or admin socket, or the files.
enum Target {
    Socket(PathBuf),
    Direct(Box<Backend>),
}

impl Target {
    fn open(config: &config::Config) -> Result<Target> {
        let sockets = [config.path("newssocket"), config.path("adminsocket")];
        for socket in sockets.into_iter().flatten() {
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Ok(Target::Socket(socket.to_path_buf()));
            }
        }
        Ok(Target::Direct(Box::new(Backend::open(config)?)))
    }

    fn call(&self, request: Request) -> Result<Response> {
        match self {
            Target::Socket(path) => admin::call(path, &request)?
                .ok_or_else(|| anyhow!("the server stopped answering at {}", path.display())),
            Target::Direct(backend) => Ok(execute(backend, request)),
        }
    }
}

/// Lines of FILE or standard input, sent in pieces; `each` makes the request of a piece.
fn send_lines(
    target: &Target,
    file: Option<&Path>,
    line_of: impl Fn(String) -> String,
    each: impl Fn(Vec<String>) -> Request,
    mut answer: impl FnMut(Response) -> Result<()>,
) -> Result<()> {
    let input: Box<dyn Read> = match file {
        Some(path) => Box::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        ),
        None => Box::new(std::io::stdin()),
    };
    let mut reader = std::io::BufReader::new(input);
    let mut piece = Vec::new();
    let mut piece_len = 0;
    let mut raw = Vec::new();
    loop {
        raw.clear();
        let n = (&mut reader)
            .take(news::feed::MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut raw)
            .context("reading the input")?;
        if n == 0 {
            break;
        }
        if raw.last() != Some(&b'\n') && n > news::feed::MAX_LINE {
            // One over-long line: reported, its rest skipped.
            eprintln!(
                "skipping a line longer than {} octets",
                news::feed::MAX_LINE
            );
            let mut rest = Vec::new();
            reader.read_until(b'\n', &mut rest)?;
            continue;
        }
        let line = String::from_utf8_lossy(&raw).trim().to_string();
        if line.is_empty() {
            continue;
        }
        let line = line_of(line);
        if piece_len + line.len() > PIECE {
            answer(target.call(each(std::mem::take(&mut piece)))?)?;
            piece_len = 0;
        }
        piece_len += line.len() + 4;
        piece.push(line);
    }
    if !piece.is_empty() {
        answer(target.call(each(piece))?)?;
    }
    Ok(())
}

/// Prints a report; a reader that went away (`| head`) is no error.
fn say(report: &dyn std::fmt::Display) {
    use std::io::Write;
    let _ = write!(std::io::stdout().lock(), "{report}");
}

fn refused(response: Response) -> anyhow::Error {
    match response {
        Response::Refused { reason } | Response::Failed { reason } => anyhow!("{reason}"),
        other => anyhow!("unexpected answer: {other:?}"),
    }
}

/// `darius collectnews`.
pub fn run_collect(config_path: Option<&Path>, args: CollectArgs) -> Result<()> {
    let config = crate::reconstruct::load(config_path)?;
    let target = Target::open(&config)?;
    let mut total = CollectReport::default();
    send_lines(
        &target,
        args.file.as_deref(),
        |line| line,
        |lines| Request::NewsCollect { lines },
        |response| match response {
            Response::Collected { report } => {
                total.merge(report);
                Ok(())
            }
            other => Err(refused(other)),
        },
    )?;
    say(&total);
    Ok(())
}

/// `darius rmnews`.
pub fn run_rmnews(config_path: Option<&Path>, args: RmnewsArgs) -> Result<()> {
    let config = crate::reconstruct::load(config_path)?;
    let target = Target::open(&config)?;
    let mut total = RemoveReport::default();
    let base_arg = args.args.iter().find(|a| !a.starts_with('-'));
    let base = match base_arg {
        Some(dir) => Some(std::path::absolute(dir).with_context(|| dir.clone())?),
        None => None,
    };
    // A path relative to the base directory is sent absolute (the server knows the spool, not
    // where this was run from).
    let line_of = |line: String| match &base {
        Some(dir) if !line.starts_with(['@', '/']) && !line.contains(':') => {
            dir.join(&line).display().to_string()
        }
        _ => line,
    };
    send_lines(
        &target,
        None,
        line_of,
        |lines| Request::NewsRemove { lines },
        |response| match response {
            Response::Removed { report } => {
                total.merge(report);
                Ok(())
            }
            other => Err(refused(other)),
        },
    )?;
    say(&total);
    Ok(())
}

/// `darius syncnews`.
pub fn run_sync(config_path: Option<&Path>, args: SyncArgs) -> Result<()> {
    let config = crate::reconstruct::load(config_path)?;
    let active =
        std::path::absolute(&args.active).with_context(|| format!("{}", args.active.display()))?;
    let target = Target::open(&config)?;
    let request = Request::NewsSync {
        active: active.to_string_lossy().into_owned(),
        dry_run: args.dry_run,
    };
    match target.call(request)? {
        Response::Synced { report } => {
            say(&report);
            Ok(())
        }
        other => Err(refused(other)),
    }
}
