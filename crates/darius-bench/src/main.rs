//! `darius-bench`: a load generator for IMAP, POP3 and LMTP servers — Darius, Dovecot, Cyrus or
//! any other — with named workloads (`mixed`, `append`, `fetch`, `search`, `resync`, `list`,
//! `idle`, `lmtp`, `soak`, `login`, `pop3`, `pop3-idle`), state checking, latency percentiles and the server's CPU and memory from `/proc`.
//!
//! It depends on none of Darius's server crates: its IMAP, LMTP and POP3 clients are its own, so it measures
//! every server the same way. `compare` turns the JSON reports of a side-by-side run into
//! `docs/benchmarks.md`'s tables; `corpus` writes the generated messages as an mbox.

#![forbid(unsafe_code)]

mod client;
mod compare;
mod corpus;
mod directory;
mod goals;
mod procmon;
mod report;
mod stats;
mod webhook;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use client::imap::Literals;
use client::net::{Endpoint, TlsMode};
use report::{Report, RunInfo};
use workload::users::UserNames;
use workload::Settings;

#[derive(Parser)]
#[command(
    name = "darius-bench",
    version,
    about = "IMAP/POP3/LMTP load generator"
)]
struct Cli {
    #[command(flatten)]
    target: TargetArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct TargetArgs {
    /// IMAP (and default LMTP) host.
    #[arg(long, default_value = "127.0.0.1", global = true)]
    host: String,
    /// IMAP port.
    #[arg(long, default_value_t = 1143, global = true)]
    port: u16,
    /// POP3 port (the `pop3` workloads; same host and --tls).
    #[arg(long, default_value_t = 1110, global = true)]
    pop3_port: u16,
    /// TLS for IMAP and POP3: none, implicit (IMAPS, POP3S) or starttls (STARTTLS, STLS).
    /// Certificates are not verified.
    #[arg(long, value_enum, default_value = "none", global = true)]
    tls: TlsMode,
    /// User name pattern; `%d` is replaced by the user number (1-based).
    #[arg(long, default_value = "user%d", global = true)]
    user: String,
    #[arg(long, default_value = "pass", global = true)]
    password: String,
    /// Spread the users over this many virtual domains, `d1.example` … `dN.example`, in blocks
    /// of ceil(users / N): user i is `LOCAL@dK.example` (LOCAL from --user with its number in
    /// the domain), as login name and as LMTP recipient (--lmtp-domain is then ignored).
    /// 0: no domains.
    #[arg(long, default_value_t = 0, global = true)]
    domains: u32,
    /// Number of users (user1..userN) [default: 10; 1000 for `list`; --clients for `pop3`,
    /// --connections for `pop3-idle`].
    #[arg(long, global = true)]
    users: Option<u32>,
    /// Concurrent clients (connections) [default: 10; 50 for `pop3`].
    #[arg(long, global = true)]
    clients: Option<u32>,
    /// Run time in seconds (the measured phase, after any setup).
    #[arg(long, default_value_t = 10.0, global = true)]
    duration: f64,
    /// Stop after this many operations instead (whichever comes first).
    #[arg(long, global = true)]
    ops: Option<u64>,
    /// Corpus and workload seed.
    #[arg(long, default_value_t = 42, global = true)]
    seed: u64,
    /// Per-command timeout in seconds.
    #[arg(long, default_value_t = 120.0, global = true)]
    timeout: f64,
    /// The server's PID: its process tree's CPU and memory are measured from /proc.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Name of the server in reports (default: host:port).
    #[arg(long, global = true)]
    label: Option<String>,
    /// Also write the report as JSON to this file (`-` for stdout instead of the table).
    #[arg(long, global = true)]
    json: Option<PathBuf>,
    /// APPEND literals: auto (LITERAL+ when offered) or synchronizing (always wait for `+`).
    #[arg(long, value_enum, default_value = "auto", global = true)]
    literals: Literals,
    /// Distinct messages generated before the run for APPEND and LMTP (cycled through).
    #[arg(long, default_value_t = 1000, global = true)]
    pool: u64,
    /// Stop the run when the server's processes use more memory (PSS) than this (MiB; default half the
    /// machine's memory): a leaking server must not take a shared machine down.
    #[arg(long, global = true)]
    max_server_mb: Option<u64>,
    /// LMTP host (default: --host).
    #[arg(long, global = true)]
    lmtp_host: Option<String>,
    #[arg(long, default_value_t = 2424, global = true)]
    lmtp_port: u16,
    /// ManageSieve port (same host, no TLS), for `lmtp --sieve`.
    #[arg(long, default_value_t = 4190, global = true)]
    sieve_port: u16,
    /// Domain appended to LMTP recipients (`user1@DOMAIN`); empty for bare names.
    #[arg(long, default_value = "localhost", global = true)]
    lmtp_domain: String,
    /// Fill the large mailbox of `fetch`/`search` by writing Maildir files into this directory
    /// (the first user's Maildir++ root, as Dovecot keeps it) instead of APPENDing over IMAP:
    /// Maildir delivery is the format's own protocol, and filling 100,000 messages over IMAP
    /// takes hours on servers whose APPEND slows down as a Maildir grows.
    #[arg(long, global = true)]
    fill_maildir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// The Murder's directory at scale: fill etcd with a synthetic directory, time LIST on a
    /// server following it, measure the watch's lag (see src/directory.rs).
    Directory(directory::DirectoryArgs),
    /// Client mix with state checking (login, select, fetch, store, expunge, append, logout).
    Mixed {
        /// Rounds of fetch-new/fetch-body/store/(delete+expunge)/append per session.
        #[arg(long, default_value_t = 4)]
        rounds: u32,
        /// Mailbox size each client keeps around.
        #[arg(long, default_value_t = 50)]
        target_size: usize,
    },
    /// APPEND corpus messages as fast as possible; with --quota, into a quota root governing
    /// --governed more mailboxes per user.
    Append {
        #[arg(long, default_value = "bench-append")]
        mailbox: String,
        /// The quota case: before the timed phase, create --governed mailboxes per appending
        /// user and set a quota root (--quota-root) on the user's hierarchy as --admin.
        #[arg(long)]
        quota: bool,
        /// Mailboxes `bench-quota-1` … `bench-quota-N` created under each user's root.
        #[arg(long, default_value_t = 5000,
              value_parser = clap::value_parser!(u32).range(0..=i64::from(workload::append::MAX_GOVERNED)))]
        governed: u32,
        /// The quota root as the administrator names it; `%u` is the user (`user/%u` for a
        /// server with `unixhierarchysep`).
        #[arg(long, default_value = "user.%u")]
        quota_root: String,
        /// The administrator who sets the quota roots.
        #[command(flatten)]
        admin: Admin,
    },
    /// FETCH metadata windows and full bodies over a large mailbox.
    Fetch {
        #[arg(long, default_value_t = 10_000)]
        messages: u64,
        #[arg(long, default_value_t = 50)]
        batch: u32,
    },
    /// SEARCH by header, flag, BODY and TEXT over a large mailbox.
    Search {
        #[arg(long, default_value_t = 10_000)]
        messages: u64,
    },
    /// Many IDLE connections: memory per connection, LMTP-delivery-to-EXISTS latency.
    Idle {
        #[arg(long, default_value_t = 1000)]
        connections: u32,
        #[arg(long, default_value_t = 20)]
        deliveries: u32,
        /// Seconds to wait after all connections idle before measuring memory.
        #[arg(long, default_value_t = 3.0)]
        settle: f64,
        #[arg(long, default_value_t = 32)]
        parallel_setup: u32,
    },
    /// LMTP deliveries over --clients parallel connections; with --sieve, every user has that
    /// Sieve script active (installed over ManageSieve before, removed after).
    Lmtp {
        #[arg(long, default_value_t = 1)]
        rcpts: u32,
        /// A Sieve script to upload as "bench" and activate for every user before the run
        /// (over ManageSieve at --host:--sieve-port), deactivated and deleted after it.
        #[arg(long)]
        sieve: Option<PathBuf>,
        /// Manage the users' scripts as this administrator (PLAIN with the user as the
        /// authorization identity) instead of logging in as each user.
        #[arg(long, requires = "sieve")]
        sieve_admin: Option<String>,
        #[arg(long, default_value = "pass")]
        sieve_admin_password: String,
        /// Read the administrator's password from this file instead (first line).
        #[arg(long)]
        sieve_admin_password_file: Option<PathBuf>,
        /// Run a webhook receiver on this address (`127.0.0.1:8080`) for the server's new-mail
        /// notifications, and report delivery-to-notification latency, missing and duplicates.
        #[arg(long)]
        webhook_listen: Option<String>,
        /// Seconds to wait after the last delivery for notifications still owed.
        #[arg(long, default_value_t = 10.0, requires = "webhook_listen")]
        webhook_grace: f64,
    },
    /// A long LMTP run (--deliveries, 1,000,000 by default; --duration does not apply) with
    /// the server's memory sampled every second: does it level off? Needs --server-pid.
    Soak {
        #[arg(long, default_value_t = 1_000_000)]
        deliveries: u64,
        #[arg(long, default_value_t = 1)]
        rcpts: u32,
        /// Fraction of the deliveries counted as warm-up, before the line should be flat.
        #[arg(long, default_value_t = 0.2)]
        warmup: f64,
        /// Write every sample as CSV (seconds,deliveries,rss_kb,pss_kb) to this file.
        #[arg(long)]
        series: Option<PathBuf>,
    },
    /// QRESYNC resync vs a full `UID FETCH 1:* (FLAGS)` after 1% of a large mailbox changed
    /// (--iterations rounds; --duration does not apply).
    Resync {
        #[arg(long, default_value_t = 10_000)]
        messages: u64,
        #[arg(long, default_value_t = 20)]
        iterations: u32,
        /// Messages changed per iteration [default: 1% of --messages].
        #[arg(long)]
        changes: Option<u64>,
        /// Of those, how many are expunged (and as many appended) [default: a tenth].
        #[arg(long)]
        expunges: Option<u64>,
    },
    /// LIST "" "*" and LIST-STATUS for user 1 in an installation of --users users with
    /// --mailboxes personal mailboxes each and --shared shared mailboxes with mixed ACLs
    /// (--iterations of each; --duration does not apply).
    List {
        #[arg(long, default_value_t = 50)]
        mailboxes: u32,
        #[arg(long, default_value_t = 500)]
        shared: u32,
        #[arg(long, default_value_t = 200)]
        iterations: u32,
        /// The administrator who creates the shared mailboxes and sets their ACLs.
        #[command(flatten)]
        admin: Admin,
    },
    /// Logins per second: --clients loops of connect, AUTHENTICATE (SASL-IR), LOGOUT.
    Login {
        #[arg(long, value_enum, default_value = "plain")]
        mechanism: workload::login::LoginMechanism,
        /// Cycle through user1..userN (--users) instead of logging in as user 1 every time.
        #[arg(long)]
        distinct_users: bool,
        /// How the server's credential cache was set up for this run (`on`, `off`): recorded
        /// in the report, which cannot see it.
        #[arg(long)]
        cache: Option<String>,
    },
    /// POP3 sessions (USER/PASS, STAT, LIST, RETR+DELE of up to --per-session messages, QUIT)
    /// in --clients loops, one user each, while --feeders LMTP connections refill the
    /// maildrops at the rate they are drained.
    Pop3 {
        #[arg(long, default_value_t = 10)]
        per_session: u32,
        /// Messages in each maildrop when the run starts [default: 2 × --per-session].
        #[arg(long)]
        stock: Option<u32>,
        #[arg(long, default_value_t = 8)]
        feeders: u32,
    },
    /// POP3 connections logged in and idle (one user each): server memory per connection.
    Pop3Idle {
        #[arg(long, default_value_t = 100)]
        connections: u32,
        /// Messages in each maildrop.
        #[arg(long, default_value_t = 10)]
        messages: u32,
        /// Seconds to wait after all connections are up before measuring memory.
        #[arg(long, default_value_t = 3.0)]
        settle: f64,
        #[arg(long, default_value_t = 16)]
        parallel_setup: u32,
    },
    /// Write the generated corpus as an mbox.
    Corpus {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Markdown tables with ratios from JSON reports (to stdout).
    Compare {
        /// Label of the server the ratios are about.
        #[arg(long, default_value = "darius")]
        reference: String,
        /// What to print: the goals table, the per-workload tables, or both.
        #[arg(long, value_enum, default_value = "all")]
        part: Part,
        files: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Goals,
    Results,
    All,
}

fn settings(t: &TargetArgs, command: &Command) -> anyhow::Result<Settings> {
    let clients = t
        .clients
        .unwrap_or(if matches!(command, Command::Pop3 { .. }) {
            50
        } else {
            10
        })
        .max(1);
    let default_users = match command {
        Command::List { .. } => 1000,
        Command::Pop3 { .. } => clients,
        Command::Pop3Idle { connections, .. } => *connections,
        _ => 10,
    };
    let lmtp_host = t.lmtp_host.clone().unwrap_or_else(|| t.host.clone());
    let users = t.users.unwrap_or(default_users).max(1);
    Ok(Settings {
        imap: Endpoint::new(&t.host, t.port, t.tls)?,
        lmtp: Endpoint::new(&lmtp_host, t.lmtp_port, TlsMode::None)?,
        pop3: Endpoint::new(&t.host, t.pop3_port, t.tls)?,
        sieve: Endpoint::new(&t.host, t.sieve_port, TlsMode::None)?,
        fill_maildir: t.fill_maildir.clone(),
        names: UserNames::new(&t.user, users, t.domains, &t.lmtp_domain)
            .map_err(anyhow::Error::msg)?,
        password: t.password.clone(),
        users,
        clients,
        duration: Duration::from_secs_f64(t.duration.max(0.0)),
        ops: t.ops,
        seed: t.seed,
        timeout: Duration::from_secs_f64(t.timeout.max(0.1)),
        server_pid: t.server_pid,
        pool: std::sync::Arc::new(corpus::Pool::new(t.seed, t.pool)),
        literals: t.literals,
        max_server_pss_kb: t
            .max_server_mb
            .map_or(procmon::mem_total_kb() / 2, |mb| mb * 1024),
        abort: Default::default(),
        run_id: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Corpus { count, out } => {
            let file = std::fs::File::create(out).with_context(|| out.display().to_string())?;
            let mut w = std::io::BufWriter::new(file);
            corpus::write_mbox(cli.target.seed, *count, &mut w)?;
            std::io::Write::flush(&mut w)?;
            return Ok(());
        }
        Command::Compare {
            reference,
            part,
            files,
        } => {
            let mut reports = Vec::new();
            for f in files {
                let text = std::fs::read_to_string(f).with_context(|| f.display().to_string())?;
                let r: Report =
                    serde_json::from_str(&text).with_context(|| f.display().to_string())?;
                reports.push(r);
            }
            if *part != Part::Results {
                print!("{}", goals::markdown(&reports, reference));
            }
            if *part == Part::All {
                println!();
            }
            if *part != Part::Goals {
                print!("{}", compare::markdown(&reports, reference));
            }
            return Ok(());
        }
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Command::Directory(args) = &cli.command {
        let t = &cli.target;
        let imap = Endpoint::new(&t.host, t.port, t.tls)?;
        let timeout = std::time::Duration::from_secs_f64(t.timeout.max(0.1));
        return runtime.block_on(directory::run(args, &imap, &t.password, timeout));
    }
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let s = settings(&cli.target, &cli.command)?;
    let client_cpu = procmon::own_cpu_seconds();
    warn_on_fd_limit(&cli.command);
    let monitor = s.server_pid.map(|pid| {
        let guard = procmon::Guard {
            max_pss_kb: s.max_server_pss_kb,
            tripped: s.abort.clone(),
        };
        procmon::Monitor::start(pid, Duration::from_millis(500), guard)
    });
    let (name, outcome) = dispatch(&s, cli.command).await?;
    let server = monitor.map(procmon::Monitor::finish);
    let mut metrics = outcome.metrics;
    let mut recorder = outcome.recorder;
    if s.abort.load(std::sync::atomic::Ordering::Relaxed) {
        let limit = s.max_server_pss_kb / 1024;
        recorder.error(
            "run",
            "memory-limit",
            format!("server PSS above {limit} MiB: run stopped early"),
        );
    }
    // The load generator shares the machine with the server: say what it used.
    metrics.insert(
        "client_cpu_seconds".to_owned(),
        procmon::own_cpu_seconds() - client_cpu,
    );
    let target = if name == "lmtp" || name == "soak" {
        s.lmtp.addr()
    } else if name.starts_with("pop3") {
        s.pop3.addr()
    } else {
        s.imap.addr()
    };
    let mut params = outcome.params;
    let t = &cli.target;
    params
        .entry("tls".into())
        .or_insert_with(|| format!("{:?}", t.tls).to_lowercase());
    params.insert("duration_s".into(), t.duration.to_string());
    params.insert("seed".into(), t.seed.to_string());
    if let Some(ops) = t.ops {
        params.insert("ops".into(), ops.to_string());
    }
    if let Some(per_domain) = s.names.per_domain() {
        params.insert("domains".into(), t.domains.to_string());
        params.insert("users_per_domain".into(), per_domain.to_string());
    }
    let run = RunInfo {
        workload: name.to_owned(),
        label: t.label.clone().unwrap_or_else(|| target.clone()),
        target,
        params,
    };
    let report = Report::build(
        run,
        outcome.elapsed.as_secs_f64(),
        recorder,
        server,
        metrics,
    );
    emit(&report, cli.target.json.as_deref())
}

fn emit(report: &Report, json: Option<&std::path::Path>) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    match json {
        Some(p) if p.as_os_str() == "-" => println!("{text}"),
        Some(p) => {
            print!("{}", report.table());
            std::fs::write(p, text + "\n").with_context(|| p.display().to_string())?;
        }
        None => print!("{}", report.table()),
    }
    Ok(())
}

/// Runs the workload `command` names.
async fn dispatch(
    s: &Settings,
    command: Command,
) -> anyhow::Result<(&'static str, workload::Outcome)> {
    Ok(match command {
        Command::Mixed {
            rounds,
            target_size,
        } => {
            let args = workload::mixed::MixedArgs {
                rounds,
                target_size,
            };
            ("mixed", workload::mixed::run(s, args).await)
        }
        Command::Append {
            mailbox,
            quota,
            governed,
            quota_root,
            admin,
        } => {
            let quota = if quota {
                let (admin, admin_password) = admin.login()?;
                Some(workload::append::QuotaArgs {
                    governed,
                    root: quota_root,
                    admin,
                    admin_password,
                })
            } else {
                None
            };
            let args = workload::append::AppendArgs { mailbox, quota };
            ("append", workload::append::run(s, &args).await?)
        }
        Command::Fetch { messages, batch } => {
            let args = workload::fetch::FetchArgs { messages, batch };
            ("fetch", workload::fetch::run(s, &args).await?)
        }
        Command::Search { messages } => {
            let args = workload::search::SearchArgs { messages };
            ("search", workload::search::run(s, &args).await?)
        }
        Command::Idle {
            connections,
            deliveries,
            settle,
            parallel_setup,
        } => {
            let args = workload::idle::IdleArgs {
                connections,
                deliveries,
                settle: Duration::from_secs_f64(settle.max(0.0)),
                parallel_setup,
            };
            ("idle", workload::idle::run(s, &args).await)
        }
        Command::Lmtp {
            rcpts,
            sieve,
            sieve_admin,
            sieve_admin_password,
            sieve_admin_password_file,
            webhook_listen,
            webhook_grace,
        } => {
            let webhook = webhook_listen.map(|listen| workload::lmtp::WebhookArgs {
                listen,
                // `inf` means as long as it takes.
                grace: Duration::try_from_secs_f64(webhook_grace.max(0.0)).unwrap_or(Duration::MAX),
            });
            let sieve = match sieve {
                Some(path) => {
                    let script =
                        std::fs::read(&path).with_context(|| path.display().to_string())?;
                    let admin = match sieve_admin {
                        Some(name) => Some((
                            name,
                            password_or_file(sieve_admin_password, sieve_admin_password_file)?,
                        )),
                        None => None,
                    };
                    Some(workload::sieve::SieveArgs {
                        script: std::sync::Arc::new(script),
                        source: path
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                        admin,
                    })
                }
                None => None,
            };
            let args = workload::lmtp::LmtpArgs {
                rcpts,
                sieve,
                webhook,
            };
            ("lmtp", workload::lmtp::run(s, &args).await?)
        }
        Command::Soak {
            deliveries,
            rcpts,
            warmup,
            series,
        } => {
            let args = workload::soak::SoakArgs {
                deliveries,
                rcpts,
                warmup,
                series,
            };
            ("soak", workload::soak::run(s, &args).await?)
        }
        Command::Resync {
            messages,
            iterations,
            changes,
            expunges,
        } => {
            let args = workload::resync::ResyncArgs {
                messages,
                iterations,
                changes,
                expunges,
            };
            ("resync", workload::resync::run(s, &args).await?)
        }
        Command::List {
            mailboxes,
            shared,
            iterations,
            admin,
        } => {
            let (admin, admin_password) = admin.login()?;
            let args = workload::list::ListArgs {
                mailboxes,
                shared,
                iterations,
                admin,
                admin_password,
            };
            ("list", workload::list::run(s, &args).await?)
        }
        Command::Login {
            mechanism,
            distinct_users,
            cache,
        } => {
            let args = workload::login::LoginArgs {
                mechanism,
                distinct_users,
                cache,
            };
            ("login", workload::login::run(s, &args).await)
        }
        Command::Pop3 {
            per_session,
            stock,
            feeders,
        } => {
            let args = workload::pop3::Pop3Args {
                per_session,
                stock: stock.unwrap_or(per_session.saturating_mul(2)),
                feeders,
            };
            ("pop3", workload::pop3::run(s, args).await?)
        }
        Command::Pop3Idle {
            connections,
            messages,
            settle,
            parallel_setup,
        } => {
            let args = workload::pop3::Pop3IdleArgs {
                connections,
                messages,
                settle: Duration::from_secs_f64(settle.max(0.0)),
                parallel_setup,
            };
            ("pop3-idle", workload::pop3::run_idle(s, &args).await?)
        }
        Command::Corpus { .. } | Command::Compare { .. } | Command::Directory(_) => {
            anyhow::bail!("not a workload")
        }
    })
}

/// Each connection is a file descriptor: say so before `idle` runs into the limit.
fn warn_on_fd_limit(command: &Command) {
    let (Command::Idle { connections, .. } | Command::Pop3Idle { connections, .. }) = command
    else {
        return;
    };
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<u64>().ok()
        });
    if let Some(soft) = soft.filter(|&n| n < u64::from(*connections) + 64) {
        eprintln!("warning: open-file limit {soft} is below {connections} connections; raise it with `ulimit -n`");
    }
}

/// `password`, or the first line of `file` when given.
/// An administrator's login for the workloads that need one.
#[derive(Args)]
struct Admin {
    #[arg(long, default_value = "admin")]
    admin: String,
    #[arg(long, default_value = "pass")]
    admin_password: String,
    /// Read the administrator's password from this file instead (first line).
    #[arg(long)]
    admin_password_file: Option<PathBuf>,
}

impl Admin {
    /// The name and the password (from the file when one is given).
    fn login(self) -> anyhow::Result<(String, String)> {
        Ok((
            self.admin,
            password_or_file(self.admin_password, self.admin_password_file)?,
        ))
    }
}

fn password_or_file(password: String, file: Option<PathBuf>) -> anyhow::Result<String> {
    Ok(match file {
        Some(p) => std::fs::read_to_string(&p)
            .with_context(|| p.display().to_string())?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        None => password,
    })
}
