//! A private INN 2 (Debian `inn2`, with `inews` from `inn2-inews`) for the netnews tests: its
//! own `inn.conf`, `storage.conf` (tradspool for every group), `newsfeeds`, `readers.conf`,
//! `active` and history in a temp dir, and `innd` on a free loopback port, running as the
//! `news` user. Tests create groups and post, cancel and expire articles with INN's own
//! programs and read what INN did: the spool, `active`, `tradspool.map` and a file feed.
//!
//! INN is taken from the unpacked tree named by `DARIUS_INN_ROOT` (what `.ci/run` makes with
//! `apt-get download` and `dpkg-deb -x`: the package scripts want a host name with a domain, so
//! CI never installs the package) or from an installed `/usr/lib/news/bin/innd`. Without it
//! [`Inn::start`] answers `None` with a `SKIPPED` note, unless DARIUS_REQUIRE_INTEROP=1, where it
//! panics (docs/TESTING.md).
//!
//! What is compiled into INN and how the harness goes around it:
//! - `inn.conf` is read from `INNCONF` (the compiled-in default is `/etc/news/inn.conf`); every
//!   path in the private one points into the temp dir, except `pathbin` and `pathnews`, which
//!   point into the INN tree. Every INN program gets `INNCONF`.
//! - The programs have a RUNPATH of `/usr/lib/news` for `libinn`, `libinnstorage` and
//!   `libinnhist`: an unpacked tree needs `LD_LIBRARY_PATH` set to its `usr/lib/news`.
//! - `inews` connects to port 119 whatever `inn.conf` says: it gets `-p PORT`. It exits 0 even
//!   when it could not connect (it then spools the article and writes `~/dead.article`), so
//!   [`Inn::post`] waits for the article in the history instead of trusting its status.
//! - `innd` must run as `news` and checks it: it is started with `setpriv` as `news`. On a port
//!   above 1023 it binds the socket itself (no set-uid `innbind`).
//! - INN logs through syslog (`news.notice`, `news.err`); only what `innd` writes to its
//!   standard output and error lands in `pathlog/news` and `pathlog/errlog`, which failure
//!   messages quote.
//!
//! Tear-down: `ctlinnd shutdown` when the [`Inn`] is dropped (innd does not act on SIGTERM
//! until its main loop wakes, which may take minutes), then SIGKILL if it has not exited
//! within a few seconds; the temp dir is removed after.
#![allow(dead_code, clippy::unwrap_used)]

use std::cell::Cell;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The user INN runs as (Debian's `news`, uid 9).
pub const NEWS_USER: &str = "news";
/// The site name of the Darius file feed in `newsfeeds`.
pub const FEED_SITE: &str = "darius";
/// The `newsfeeds` flags of the Darius feed: a file feed (`Tf`) writing, per article, one line
/// with the storage token (`n`), the Message-ID (`m`) and the replication data (`R`, the Xref
/// header field body without the site name: every `group:number` the article was filed under),
/// separated by single spaces.
pub const FEED_FLAGS: &str = "Tf,WnmR";
/// The groups every fresh INN has (Debian's example `active`), all with posting status `n`.
pub const CONTROL_GROUPS: [&str; 6] = [
    "control",
    "control.cancel",
    "control.checkgroups",
    "control.newgroup",
    "control.rmgroup",
    "junk",
];
/// The `wireformat` setting of Debian's `/etc/news/inn.conf` (from `inn2-inews`).
pub const DEBIAN_WIREFORMAT: bool = true;
/// How long the harness waits for innd to answer, or for an article to be stored.
const PATIENCE: Duration = Duration::from_secs(30);
/// The INN programs the harness runs, all in `pathbin`.
const PROGRAMS: [&str; 8] = [
    "innd",
    "ctlinnd",
    "inews",
    "makedbz",
    "expire",
    "expireover",
    "fastrm",
    "grephistory",
];

/// A running private `innd`; see the module doc.
pub struct Inn {
    dir: tempfile::TempDir,
    /// The INN programs' directory (`pathbin`).
    bin: PathBuf,
    /// The directory of INN's shared libraries (`LD_LIBRARY_PATH` for an unpacked tree).
    lib: PathBuf,
    /// innd's NNTP port on 127.0.0.1.
    pub port: u16,
    wireformat: bool,
    /// `innd` itself (`setpriv` execs it), until dropped.
    child: Option<Child>,
    /// How many bytes of the feed file [`Inn::take_feed`] has returned so far.
    feed_read: Cell<u64>,
    /// How many lists [`Inn::expire_list`] has made (each gets its own file).
    lists: Cell<u32>,
}

/// Where INN's programs and libraries are: `$DARIUS_INN_ROOT/usr/lib/news` or `/usr/lib/news`;
/// `Err` says why neither can be used.
fn locate() -> Result<(PathBuf, PathBuf), String> {
    let news = match std::env::var_os("DARIUS_INN_ROOT") {
        Some(root) => PathBuf::from(root).join("usr/lib/news"),
        None => PathBuf::from("/usr/lib/news"),
    };
    let bin = news.join("bin");
    for program in PROGRAMS {
        if !bin.join(program).is_file() {
            return Err(format!(
                "{} is missing (unpack Debian's inn2 and inn2-inews and set DARIUS_INN_ROOT; see .ci/run)",
                bin.join(program).display()
            ));
        }
    }
    // A missing shared library (libcanlock3 is not in a minimal Debian) only shows when a
    // program is loaded: ask the dynamic loader now rather than fail in the middle of a test.
    for program in ["innd", "inews", "ctlinnd", "expire", "fastrm"] {
        let out = Command::new("ldd")
            .arg(bin.join(program))
            .env("LD_LIBRARY_PATH", &news)
            .output()
            .map_err(|e| format!("ldd: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find(|l| l.contains("not found")) {
            return Err(format!("{program} cannot load {}", line.trim()));
        }
    }
    // innd runs as news: the tree must be where news can reach it (a checkout under a
    // directory only root may enter is not).
    let reachable = Command::new("setpriv")
        .args([
            &format!("--reuid={NEWS_USER}"),
            &format!("--regid={NEWS_USER}"),
            "--init-groups",
            "test",
            "-x",
        ])
        .arg(bin.join("innd"))
        .status()
        .map_err(|e| format!("setpriv: {e}"))?;
    if !reachable.success() {
        return Err(format!(
            "the {NEWS_USER} user cannot reach {}: unpack INN where it can (.ci/run uses \
             /var/tmp/darius-inn2-root)",
            bin.display()
        ));
    }
    Ok((bin, news))
}

/// A copy of the `darius` binary the news user can run (the build directory may be where it
/// cannot reach), in `dir`, which must be reachable itself.
pub fn darius_for_news(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let copy = dir.join("darius");
    std::fs::copy(env!("CARGO_BIN_EXE_darius"), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy
}

impl Inn {
    /// [`Inn::start_with`] with Debian's `wireformat` ([`DEBIAN_WIREFORMAT`]).
    pub fn start() -> Option<Inn> {
        Inn::start_with(DEBIAN_WIREFORMAT)
    }

    /// A fresh INN with `wireformat` set as given and `innd` answering `ctlinnd mode`, or `None`
    /// (skipped, see the module doc) when INN is not there.
    pub fn start_with(wireformat: bool) -> Option<Inn> {
        let (bin, lib) = match locate() {
            Ok(found) => found,
            Err(reason) => {
                assert!(
                    std::env::var("DARIUS_REQUIRE_INTEROP").as_deref() != Ok("1"),
                    "INN is required (DARIUS_REQUIRE_INTEROP=1): {reason}"
                );
                let test = std::thread::current()
                    .name()
                    .unwrap_or("INN test")
                    .to_string();
                let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
                return None;
            }
        };
        let dir = tempfile::Builder::new()
            .prefix("darius-inn")
            .tempdir()
            .unwrap();
        let mut inn = Inn {
            dir,
            bin,
            lib,
            port: super::free_port(),
            wireformat,
            child: None,
            feed_read: Cell::new(0),
            lists: Cell::new(0),
        };
        inn.write_tree();
        inn.as_news("makedbz")
            .args(["-i", "-o"])
            .current_dir(inn.path("db"))
            .status_ok();
        inn.serve();
        Some(inn)
    }

    /// The private tree: directories, configuration, an `active` with [`CONTROL_GROUPS`], an
    /// empty history (`makedbz -i -o` then builds its index), all owned by `news`.
    fn write_tree(&self) {
        for sub in [
            "etc",
            "run",
            "db",
            "log",
            "tmp",
            "http",
            "filter",
            "spool/articles",
            "spool/overview",
            "spool/incoming/tmp",
            "spool/outgoing",
            "spool/archive",
        ] {
            std::fs::create_dir_all(self.path(sub)).unwrap();
        }
        let d = self.dir().display();
        let news = self.lib.display();
        let bin = self.bin.display();
        let port = self.port;
        let wireformat = self.wireformat;
        // Debian's values where they matter, paths in the temp dir, and no mail: INN mails
        // the news master about problems.
        let inn_conf = format!(
            "pathhost: darius-test.example\n\
             domain: example\n\
             organization: \"Darius tests\"\n\
             server: 127.0.0.1\n\
             bindaddress: 127.0.0.1\n\
             port: {port}\n\
             nnrpdpostport: {port}\n\
             mta: \"/bin/true %s\"\n\
             mailcmd: /bin/true\n\
             ovmethod: tradindexed\n\
             hismethod: hisv6\n\
             enableoverview: true\n\
             groupbaseexpiry: true\n\
             storeonxref: true\n\
             wireformat: {wireformat}\n\
             artcutoff: 0\n\
             pathnews: {news}\n\
             pathbin: {bin}\n\
             pathcontrol: {bin}/control\n\
             pathfilter: {d}/filter\n\
             pathetc: {d}/etc\n\
             pathrun: {d}/run\n\
             pathlog: {d}/log\n\
             pathdb: {d}/db\n\
             pathhttp: {d}/http\n\
             pathtmp: {d}/tmp\n\
             pathspool: {d}/spool\n\
             patharticles: {d}/spool/articles\n\
             pathoverview: {d}/spool/overview\n\
             pathincoming: {d}/spool/incoming\n\
             pathoutgoing: {d}/spool/outgoing\n\
             patharchive: {d}/spool/archive\n"
        );
        self.write("etc/inn.conf", &inn_conf);
        self.write(
            "etc/storage.conf",
            "method tradspool {\n    newsgroups: *\n    class: 0\n}\n",
        );
        self.write(
            "etc/newsfeeds",
            &format!(
                "ME:*::\n{FEED_SITE}:*:{FEED_FLAGS}:{}\n",
                self.feed_file().display()
            ),
        );
        // No peers: every connection goes to nnrpd, which lets localhost read and post.
        self.write("etc/incoming.conf", "");
        self.write(
            "etc/readers.conf",
            "auth \"local\" {\n    hosts: \"127.0.0.1, localhost, stdin\"\n    default: \"<local>\"\n}\n\
             access \"local\" {\n    users: \"<local>\"\n    newsgroups: \"*\"\n    access: RPA\n}\n",
        );
        self.write("etc/expire.ctl", &expire_ctl(None));
        let active: String = CONTROL_GROUPS
            .iter()
            .map(|group| format!("{group} 0000000000 0000000001 n\n"))
            .collect();
        self.write("db/active", &active);
        self.write("db/active.times", "");
        self.write("db/newsgroups", "");
        self.write("db/history", "");
        let status = Command::new("chown")
            .args(["-R", &format!("{NEWS_USER}:{NEWS_USER}")])
            .arg(self.dir())
            .status()
            .unwrap();
        assert!(status.success(), "chown of {} failed", self.dir().display());
    }

    /// Starts `innd` in the foreground (`-f`: it keeps its process, which the harness holds)
    /// with filters off (`-N`: no Perl or Python filter is configured), and waits until
    /// `ctlinnd mode` answers.
    fn serve(&mut self) {
        let child = self
            .as_news("innd")
            .args(["-f", "-N"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let out = self
                .as_news("ctlinnd")
                .args(["-t", "5", "mode"])
                .output()
                .unwrap();
            if out.status.success() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("innd exited ({status}) at start:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "innd never answered ctlinnd mode: {}\n{}",
                text(&out),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The temp dir holding the whole private INN.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `patharticles`: the tradspool root, where group `a.b.c`'s article N is `a/b/c/N`.
    pub fn spool(&self) -> PathBuf {
        self.path("spool/articles")
    }

    /// `pathdb/active`.
    pub fn active(&self) -> PathBuf {
        self.path("db/active")
    }

    /// `pathspool/tradspool.map`: tradspool's table of newsgroup numbers (see the tests).
    pub fn tradspool_map(&self) -> PathBuf {
        self.path("spool/tradspool.map")
    }

    /// The Darius file feed (`pathoutgoing/darius`); [`Inn::take_feed`] reads it.
    pub fn feed_file(&self) -> PathBuf {
        self.path("spool/outgoing").join(FEED_SITE)
    }

    /// The `wireformat` this INN was started with.
    pub fn wireformat(&self) -> bool {
        self.wireformat
    }

    /// `pathbin`, for tests that run another INN program ([`Inn::command`]).
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The argument list of INN's own RMPROC, as `expirerm` runs it: `fastrm -e patharticles`
    /// (in the `patharticles` directory, the sorted list on its standard input).
    pub fn fastrm(&self) -> Vec<String> {
        vec![
            self.bin.join("fastrm").display().to_string(),
            "-e".to_string(),
            self.spool().display().to_string(),
        ]
    }

    /// `ctlinnd newgroup NAME y`: a new unmoderated group.
    pub fn newgroup(&self, name: &str) {
        self.ctlinnd(&["newgroup", name, "y"]);
    }

    /// `ctlinnd rmgroup NAME`.
    pub fn rmgroup(&self, name: &str) {
        self.ctlinnd(&["rmgroup", name]);
    }

    /// `ctlinnd cancel MESSAGE-ID`: innd removes the article from the spool at once.
    pub fn cancel(&self, message_id: &str) {
        self.ctlinnd(&["cancel", message_id]);
    }

    /// Posts `article` (headers with at least From, Newsgroups, Subject and Message-ID, a blank
    /// line, a body; LF line ends) with `inews -h`, and returns its storage token once innd
    /// has stored it (the token is in the history). Panics with inews's output otherwise.
    pub fn post(&self, article: &str) -> String {
        let message_id = article
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("Message-ID")
                    .then(|| value.trim().to_string())
            })
            .expect("the article needs a Message-ID header field");
        let out = super::output_with_input(
            self.command("inews")
                .args(["-h", "-S", "-p", &self.port.to_string()])
                .current_dir(self.dir())
                .env("HOME", self.dir()),
            article,
        );
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "inews failed ({}): {}",
            out.status,
            text(&out)
        );
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = self
                .as_news("grephistory")
                .arg(&message_id)
                .output()
                .unwrap();
            let token = String::from_utf8_lossy(&found.stdout).trim().to_string();
            if found.status.success() && token.starts_with('@') {
                return token;
            }
            assert!(
                Instant::now() < deadline,
                "{message_id} never reached the history (inews said: {}):\n{}",
                text(&out),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The lines the Darius feed got since the last call: `ctlinnd flush` first, so innd has
    /// written everything it holds.
    pub fn take_feed(&self) -> Vec<String> {
        self.ctlinnd(&["flush", FEED_SITE]);
        let Ok(all) = std::fs::read(self.feed_file()) else {
            return Vec::new();
        };
        let start = usize::try_from(self.feed_read.get())
            .unwrap()
            .min(all.len());
        // Only whole lines: innd writes a line in one go, but a read may still see part of one.
        let end = all[start..]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(start, |i| start + i + 1);
        self.feed_read.set(end as u64);
        String::from_utf8_lossy(&all[start..end])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Makes every article in the groups matching `group_pattern` (a uwildmat) expire now and
    /// lists them without removing them, as `news.daily delayrm` does: `expire.ctl` gets
    /// `PATTERN:A:0:0:0` after a `*:A:never:never:never` default (and `/remember/:11`, so the
    /// history keeps the Message-IDs and the articles cannot come back), then, as news,
    /// `expireover -w 1 -z FILE` (with `groupbaseexpiry`, Debian's default, expireover is what
    /// expires articles; `-w 1` runs it a day in the future so articles that arrived this
    /// second qualify; it appends the path, relative to `patharticles`, of every link of each
    /// expired article) and `expire -z` (with `groupbaseexpiry` it only cleans the history
    /// and lists nothing; with it off it would list storage tokens). FILE, a new file in the
    /// temp dir, holds both lists; it is returned. `expire.ctl` is put back afterwards.
    pub fn expire_list(&self, group_pattern: &str) -> PathBuf {
        let n = self.lists.get() + 1;
        self.lists.set(n);
        let list = self.dir().join(format!("expire.list.{n}"));
        self.write("etc/expire.ctl", &expire_ctl(Some(group_pattern)));
        self.as_news("expireover")
            .args(["-q", "-w", "1", "-z"])
            .arg(&list)
            .status_ok();
        // expire truncates its -z file (expireover appends): news.daily runs RMPROC on the list
        // between the two. Here expire gets its own file, added to the list after.
        let history_list = self.dir().join(format!("expire.list.{n}.history"));
        self.as_news("expire")
            .arg("-z")
            .arg(&history_list)
            .status_ok();
        let more = std::fs::read(&history_list).unwrap_or_default();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&list)
            .unwrap()
            .write_all(&more)
            .unwrap();
        self.write("etc/expire.ctl", &expire_ctl(None));
        list
    }

    /// Runs `rmproc` (program and arguments, e.g. [`Inn::fastrm`] or `darius rmnews …`) on
    /// `list` the way INN's `expirerm` runs RMPROC: the list sorted with duplicates removed
    /// (news.daily's `sort -u`), on standard input, in the `patharticles` directory, with
    /// INN's environment. It runs as the test's user, not as news (a Darius command must
    /// reach its own files). Panics if it fails; returns its output.
    pub fn run_rmproc(&self, list: &Path, rmproc: &[&str]) -> Output {
        let mut lines: Vec<String> = std::fs::read_to_string(list)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines.dedup();
        let sorted: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(list, &sorted).unwrap();
        let (program, args) = rmproc.split_first().expect("RMPROC needs a program");
        let out = self
            .env(Command::new(program))
            .args(args)
            .current_dir(self.spool())
            .stdin(std::fs::File::open(list).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rmproc:?} failed ({}): {}",
            out.status,
            text(&out)
        );
        out
    }

    /// An INN program from `pathbin` with INN's environment, run as the test's user.
    pub fn command(&self, program: &str) -> Command {
        self.env(Command::new(self.bin.join(program)))
    }

    /// An INN program from `pathbin` with INN's environment, run as `news` (through
    /// `setpriv`).
    pub fn as_news(&self, program: &str) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            &format!("--reuid={NEWS_USER}"),
            &format!("--regid={NEWS_USER}"),
            "--init-groups",
        ])
        .arg(self.bin.join(program));
        self.env(cmd)
    }

    /// `ctlinnd ARGS` as news, which must answer `Ok`.
    pub fn ctlinnd(&self, args: &[&str]) -> String {
        let out = self.as_news("ctlinnd").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ctlinnd {args:?} failed: {}\n{}",
            text(&out),
            self.logs()
        );
        text(&out)
    }

    /// `cmd` with `INNCONF` and the library path set.
    fn env(&self, mut cmd: Command) -> Command {
        cmd.env("INNCONF", self.path("etc/inn.conf"));
        let mut libs = OsString::from(&self.lib);
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
            libs.push(":");
            libs.push(old);
        }
        cmd.env("LD_LIBRARY_PATH", libs);
        cmd
    }

    /// A path in the temp dir.
    fn path(&self, relative: &str) -> PathBuf {
        self.dir().join(relative)
    }

    /// Writes a file in the temp dir, owned by news once the tree has been handed over.
    fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::write(&path, contents).unwrap();
        let (uid, gid) = news_ids();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    }

    /// What innd wrote to its logs (`pathlog/errlog` and `pathlog/news`), for failure messages.
    pub fn logs(&self) -> String {
        ["errlog", "news"]
            .iter()
            .map(|name| {
                let body = std::fs::read_to_string(self.path("log").join(name)).unwrap_or_default();
                format!("--- {name}:\n{body}")
            })
            .collect()
    }
}

impl Drop for Inn {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = self
            .as_news("ctlinnd")
            .args(["-t", "5", "shutdown", "test over"])
            .output();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The `expire.ctl` of the harness: nothing expires, except the groups matching `expiring`,
/// whose articles expire as soon as they arrived.
fn expire_ctl(expiring: Option<&str>) -> String {
    let mut ctl = String::from("/remember/:11\n*:A:never:never:never\n");
    if let Some(pattern) = expiring {
        ctl.push_str(&format!("{pattern}:A:0:0:0\n"));
    }
    ctl
}

/// The uid and gid of the news user (9 and 9 on Debian), looked up once.
fn news_ids() -> (u32, u32) {
    static IDS: OnceLock<(u32, u32)> = OnceLock::new();
    *IDS.get_or_init(|| {
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, NEWS_USER]).output().unwrap();
            assert!(out.status.success(), "no {NEWS_USER} user: {}", text(&out));
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        (id("-u"), id("-g"))
    })
}

/// A program's standard output and error, for messages.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a command that must exit 0.
trait StatusOk {
    /// Runs it; panics with its output unless it exits 0.
    fn status_ok(&mut self);
}

impl StatusOk for Command {
    fn status_ok(&mut self) {
        let out = self.output().unwrap();
        assert!(
            out.status.success(),
            "{self:?} failed ({}): {}",
            out.status,
            text(&out)
        );
    }
}
