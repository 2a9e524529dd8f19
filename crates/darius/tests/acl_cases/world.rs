//! The server the ACL cases run against, the sessions they run in, the fixture that gives each
//! case a fresh mailbox with exactly its ACL, and the reading of the server's answers.

use std::collections::BTreeMap;

use super::{expected, model_rights, Acl, Case, Op, Outcome, Path, Place, Rights, Who};
use super::{ADMIN, ALICE, BOB, CAROL, DAVE, LETTERS};
use crate::common::Server;
use crate::imap_support::{last, Client};

/// The names of one case, internal.
struct Names {
    n: u32,
    mailbox: String,
    /// Never created: what a hidden mailbox's answers are compared with.
    missing: String,
}

/// The server and the sessions the cases run in.
pub struct World {
    pub server: Server,
    _files: tempfile::TempDir,
    /// Makes `user.alice.*` mailboxes (alice always holds `l a` there).
    alice: Client,
    /// Makes the shared mailboxes.
    admin: Client,
    /// One session per identity, opened when first needed and again after a `* BYE`.
    sessions: BTreeMap<&'static str, Client>,
    serial: u32,
    tag: u32,
}

/// APPEND of a small message to `mailbox` with `flags` (`(\\Deleted) ` or nothing).
fn append(mailbox: &str, flags: &str) -> String {
    let message = "Subject: case\r\n\r\nbody\r\n";
    format!(
        "APPEND {mailbox} {flags}{{{}+}}\r\n{message}",
        message.len()
    )
}

impl World {
    /// A server with alice, bob, carol (`squad`), dave (`squad`, `crew`), the administrator
    /// `admin` and anonymous login; the open mailboxes; and the `gone` subscriptions.
    pub fn start() -> World {
        let files = tempfile::tempdir().unwrap();
        let groups = files.path().join("groups");
        std::fs::write(&groups, "squad: carol, dave\ncrew: dave\n").unwrap();
        let server = Server::start_with(&format!(
            "auth_groups_file: {}\nallowanonymouslogin: yes\n",
            groups.display()
        ));
        for who in [ALICE, BOB, CAROL, DAVE, ADMIN] {
            server.add_user(who.login, &format!("pw-{}", who.login));
        }
        let alice = Client::login(server.imap_port, "alice");
        let admin = Client::login(server.imap_port, "admin");
        let mut world = World {
            server,
            _files: files,
            alice,
            admin,
            sessions: BTreeMap::new(),
            serial: 0,
            tag: 0,
        };
        world.make_fixed_mailboxes();
        world
    }

    fn make_fixed_mailboxes(&mut self) {
        for place in [Place::Alice, Place::Shared] {
            for name in [place.open(), place.gone()] {
                self.setup(place, &format!("CREATE {}", self.setup_name(place, &name)));
                let acl = format!("SETACL {} anyone {LETTERS}", self.setup_name(place, &name));
                self.setup(place, &acl);
            }
            let source = self.setup_name(place, &format!("{}.src", place.root()));
            self.setup(place, &format!("CREATE {source}"));
            self.setup(place, &format!("SETACL {source} anyone {LETTERS}"));
        }
        for who in [ALICE, BOB, CAROL, DAVE, ADMIN] {
            for place in [Place::Alice, Place::Shared] {
                let gone = client_name(who, &place.gone());
                self.expect_ok(who, &format!("SUBSCRIBE {gone}"));
            }
        }
        for place in [Place::Alice, Place::Shared] {
            self.setup(
                place,
                &format!("DELETE {}", self.setup_name(place, &place.gone())),
            );
        }
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("t{}", self.tag)
    }

    /// The session that prepares mailboxes at `place`.
    fn setup_who(place: Place) -> Who {
        match place {
            Place::Alice => ALICE,
            Place::Shared => ADMIN,
        }
    }

    fn setup_name(&self, place: Place, internal: &str) -> String {
        client_name(World::setup_who(place), internal)
    }

    /// Runs a preparing command, which must succeed.
    fn setup(&mut self, place: Place, text: &str) -> Vec<String> {
        let tag = self.next_tag();
        let client = match place {
            Place::Alice => &mut self.alice,
            Place::Shared => &mut self.admin,
        };
        let lines = client.cmd(&tag, text);
        assert!(
            last(&lines).starts_with(&format!("{tag} OK")),
            "setting up: {text}\n{lines:?}"
        );
        lines
    }

    /// Runs a command in `who`'s session (logging in first if needed); the lines up to the
    /// tagged one, or up to the end when the server closed the connection.
    pub fn say(&mut self, who: Who, text: &str) -> Vec<String> {
        let tag = self.next_tag();
        let port = self.server.imap_port;
        let client = self
            .sessions
            .entry(who.login)
            .or_insert_with(|| login(port, who));
        client.send(format!("{tag} {text}\r\n").as_bytes());
        let mut lines = client.until_or_closed(&tag);
        match lines.last_mut() {
            Some(line) if line.starts_with(&format!("{tag} ")) => {
                *line = line[tag.len() + 1..].trim_end().to_string();
            }
            _ => {
                self.sessions.remove(who.login);
            }
        }
        for line in &mut lines {
            *line = line.trim_end().to_string();
        }
        lines
    }

    fn expect_ok(&mut self, who: Who, text: &str) -> Vec<String> {
        let lines = self.say(who, text);
        assert!(
            last(&lines).starts_with("OK"),
            "{}: {text}\n{lines:?}",
            who.login
        );
        lines
    }

    /// Makes the case's mailbox (with a message), what the operation needs around it, and
    /// finally its ACL; checks the ACL reads back as meant.
    fn prepare(&mut self, case: &Case) -> Names {
        self.serial += 1;
        let n = self.serial;
        let root = case.place.root();
        let names = Names {
            n,
            mailbox: format!("{root}.c{n}"),
            missing: format!("{root}.n{n}"),
        };
        let place = case.place;
        let mine = self.setup_name(place, &names.mailbox);
        self.setup(place, &format!("CREATE {mine}"));
        // Everyone may do everything until the case's ACL replaces this entry.
        self.setup(place, &format!("SETACL {mine} anyone {LETTERS}"));
        let flags = if matches!(case.op, Op::Expunge | Op::Close) {
            "(\\Deleted) "
        } else {
            ""
        };
        self.setup(place, &append(&mine, flags));
        match case.op {
            Op::CopyTo | Op::MoveTo => {
                let source = self.setup_name(place, &format!("{root}.src"));
                self.setup(place, &append(&source, ""));
            }
            Op::RenameTo => {
                let from = self.setup_name(place, &format!("{}.m{n}", place.open()));
                self.setup(place, &format!("CREATE {from}"));
            }
            Op::Lsub => {
                let theirs = client_name(case.who, &names.mailbox);
                self.expect_ok(case.who, &format!("SUBSCRIBE {theirs}"));
            }
            _ if case.op.on_selected() && case.path == Path::SelectFirst => {
                let theirs = client_name(case.who, &names.mailbox);
                self.expect_ok(case.who, &format!("SELECT {theirs}"));
            }
            _ => {}
        }
        self.set_acl(place, &mine, &case.acl);
        names
    }

    /// Makes `mailbox`'s ACL exactly `acl` (SETACL and DELETEACL by the preparing session).
    fn set_acl(&mut self, place: Place, mailbox: &str, acl: &Acl) {
        for identifier in self.get_acl(place, mailbox).keys() {
            if !acl.contains_key(identifier) {
                self.setup(place, &format!("DELETEACL {mailbox} {identifier}"));
            }
        }
        for (identifier, rights) in acl {
            self.setup(place, &format!("SETACL {mailbox} {identifier} {rights}"));
        }
        let stored = self.get_acl(place, mailbox);
        assert_eq!(&stored, acl, "the ACL of {mailbox} reads back as set");
    }

    /// The number of messages in the internal `mailbox`, as the preparing session sees it.
    fn messages(&mut self, place: Place, mailbox: &str) -> u32 {
        let name = self.setup_name(place, mailbox);
        let lines = self.setup(place, &format!("STATUS {name} (MESSAGES)"));
        let status = lines.iter().find(|l| l.starts_with("* STATUS "));
        status
            .and_then(|l| l.split("(MESSAGES ").nth(1))
            .and_then(|rest| rest.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no message count: {lines:?}"))
    }

    fn get_acl(&mut self, place: Place, mailbox: &str) -> Acl {
        let lines = self.setup(place, &format!("GETACL {mailbox}"));
        let line = lines
            .iter()
            .find(|l| l.starts_with("* ACL "))
            .unwrap_or_else(|| panic!("no ACL line: {lines:?}"));
        let words: Vec<&str> = line.split_whitespace().skip(3).collect();
        words
            .chunks(2)
            .map(|pair| {
                let rights = Rights::parse_shown(pair[1]);
                let rights = rights.unwrap_or_else(|| panic!("ACL rights {:?}: {line}", pair[1]));
                (pair[0].to_string(), rights)
            })
            .collect()
    }

    /// Runs the case and compares the answer with the model's; `Err` describes the difference.
    pub fn check(&mut self, case: &Case) -> Result<(), String> {
        if case.who.is_anonymous() && case.op == Op::Lsub {
            return Err("anonymous has no subscriptions: not a case".to_string());
        }
        let names = self.prepare(case);
        let rights = model_rights(&case.acl, case.who, case.place);
        let want = expected(case.op, rights, case.who, case.path);
        // A refusal to one who cannot see the mailbox, for want of a right on it (or on it as
        // a parent), must tell nothing of its existence. (A refusal for another reason, such
        // as anonymous holding `x` on a RENAME's source but refused the new name, comes to
        // one who holds a right here: the mailbox is theirs to know of, as SELECT with `r`
        // and without `l` shows.)
        let hidden = !rights.has('l')
            && match want {
                Outcome::Missing => true,
                Outcome::NoPerm => matches!(case.op, Op::CreateChild | Op::RenameTo),
                _ => false,
            };
        let run = self.perform(case, &names, hidden);
        let report = |problem: &str| {
            format!(
                "{case}\n{problem}\nrights by the model: {rights}; expected {want:?}, got {:?}\n\
                 answer: {:#?}",
                run.outcome, run.answer
            )
        };
        if run.outcome != want {
            return Err(report("the answer does not match the rights"));
        }
        if let Some(shown) = run.my_rights {
            if shown != rights {
                return Err(report(&format!("MYRIGHTS shows {shown}")));
            }
        }
        if let Some((reference, attempt)) = run.reference {
            if reference != attempt {
                return Err(report(&format!(
                    "a hidden mailbox answers unlike a missing one:\n  hidden  {attempt:?}\n  \
                     missing {reference:?}"
                )));
            }
        }
        Ok(())
    }

    /// Runs the operation; with `hidden`, runs its deciding command again on a missing name.
    fn perform(&mut self, case: &Case, names: &Names, hidden: bool) -> Run {
        let who = case.who;
        let mine = client_name(who, &names.mailbox);
        let open = client_name(who, &case.place.open());
        let fill = |template: &str, mailbox: &str| {
            template
                .replace("{box}", mailbox)
                .replace("{open}", &open)
                .replace("{n}", &names.n.to_string())
        };
        let missing = match case.op {
            Op::Lsub => client_name(who, &case.place.gone()),
            _ => client_name(who, &names.missing),
        };
        if matches!(case.op, Op::CopyTo | Op::MoveTo) {
            let source = client_name(who, &format!("{}.src", case.place.root()));
            self.expect_ok(who, &format!("SELECT {source}"));
        }
        let copies = matches!(case.op, Op::CopyFrom | Op::MoveFrom);
        let before = copies.then(|| self.messages(case.place, &case.place.open()));
        // With the ACL in place first, SELECT decides whether an operation on the selected
        // mailbox gets to run at all.
        let select_first = case.op.on_selected() && case.path == Path::AclFirst;
        let (deciding, as_op) = match select_first {
            true => ("SELECT {box}", Op::Select),
            false => (case.op.command(), case.op),
        };
        let answer = self.say(who, &fill(deciding, &mine));
        let mut run = Run {
            outcome: classify(as_op, &answer),
            answer,
            my_rights: None,
            reference: None,
        };
        // A mailbox selected before its ACL changed, and CREATE of an existing name (which on
        // a missing one would succeed), have no missing counterpart to compare with.
        let comparable = case.op != Op::CreateExisting
            && !(case.op.on_selected() && case.path == Path::SelectFirst);
        if hidden && comparable {
            let reference = self.say(who, &fill(deciding, &missing));
            let attempt = run
                .answer
                .iter()
                .map(|l| l.replace(&mine, &missing))
                .collect();
            run.reference = Some((reference, attempt));
        }
        if select_first && run.outcome == Outcome::Done {
            run.answer = self.say(who, &fill(case.op.command(), &mine));
            run.outcome = classify(case.op, &run.answer);
        }
        if case.op == Op::Close && run.outcome == Outcome::Done {
            // CLOSE says nothing of what it expunged: STATUS tells (the identity holds `r`).
            let status = self.say(who, &format!("STATUS {mine} (MESSAGES)"));
            run.answer.extend(status.iter().cloned());
            if status.iter().any(|l| l.contains("(MESSAGES 1)")) {
                run.outcome = Outcome::Filtered;
            } else if !status.iter().any(|l| l.contains("(MESSAGES 0)")) {
                run.outcome = Outcome::Unexpected;
            }
        }
        if let Some(before) = before {
            // The answer alone could hide a copy made before a `* BYE`: count the target.
            let after = self.messages(case.place, &case.place.open());
            let done = run.outcome == Outcome::Done;
            if after != before + u32::from(done) {
                run.answer.push(format!(
                    "(the target went from {before} to {after} messages)"
                ));
                run.outcome = Outcome::Unexpected;
            }
        }
        if case.op == Op::MyRights && run.outcome == Outcome::Done {
            run.my_rights = my_rights(&run.answer);
        }
        let selects = matches!(case.op, Op::Select | Op::Examine | Op::CopyTo | Op::MoveTo);
        let still_selected = selects || (case.op.on_selected() && case.op != Op::Close);
        if still_selected && self.sessions.contains_key(who.login) {
            // Leave the session with nothing selected (after a failed SELECT nothing is, and
            // UNSELECT answers BAD: RFC 9051 §6.3.2).
            let _ = self.say(who, "UNSELECT");
        }
        run
    }
}

/// What one case's run showed.
struct Run {
    outcome: Outcome,
    answer: Vec<String>,
    my_rights: Option<Rights>,
    /// For a hidden mailbox: (the missing name's answer, the hidden one's with its name replaced).
    reference: Option<(Vec<String>, Vec<String>)>,
}

/// The name `who` gives the internal `name`: alice sees her hierarchy under INBOX.
fn client_name(who: Who, name: &str) -> String {
    match name.strip_prefix("user.alice.") {
        Some(rest) if who == ALICE => format!("INBOX.{rest}"),
        _ => name.to_string(),
    }
}

fn login(port: u16, who: Who) -> Client {
    let mut c = Client::connect(port);
    let password = match who.is_anonymous() {
        true => "guest".to_string(),
        false => format!("pw-{}", who.login),
    };
    let r = c.cmd("l0", &format!("LOGIN {} {password}", who.login));
    assert!(last(&r).starts_with("l0 OK"), "{}: {r:?}", who.login);
    c
}

/// What an answer (tag removed) amounts to for `op`.
fn classify(op: Op, answer: &[String]) -> Outcome {
    let tagged = last(answer);
    if tagged.starts_with("* BYE") {
        // Closed before the command ran: nothing of what it would have done was done or said.
        return match answer.len() == 1 && tagged.starts_with("* BYE [NOPERM]") {
            true => Outcome::Closed,
            false => Outcome::Unexpected,
        };
    }
    let code = |c: &str| tagged.starts_with(&format!("NO [{c}]"));
    if code("NOPERM") {
        return Outcome::NoPerm;
    }
    if code("NONEXISTENT") || code("TRYCREATE") {
        return Outcome::Missing;
    }
    if code("READ-ONLY") {
        return Outcome::ReadOnly;
    }
    if code("ALREADYEXISTS") {
        return Outcome::AlreadyExists;
    }
    if !tagged.starts_with("OK") {
        return Outcome::Unexpected;
    }
    let has = |prefix: &str| answer.iter().any(|l| l.starts_with(prefix));
    match (op, op.store_flag()) {
        (Op::List, _) if has("* LIST ") => Outcome::Done,
        (Op::List, _) if answer.len() == 1 => Outcome::Missing,
        (Op::Lsub, _) if has("* LSUB () ") => Outcome::Done,
        (Op::Lsub, _) if has("* LSUB (\\Noselect) ") => Outcome::Missing,
        (Op::Fetch, _) if has("* 1 FETCH ") => Outcome::Done,
        (Op::Search, _) if has("* SEARCH 1") => Outcome::Done,
        (Op::Expunge | Op::MoveFrom, _) if has("* 1 EXPUNGE") => Outcome::Done,
        (Op::MyRights, _) if my_rights(answer).is_some() => Outcome::Done,
        (_, Some((flag, _))) => match answer.iter().find(|l| l.starts_with("* 1 FETCH ")) {
            Some(l) if l.contains(flag) => Outcome::Done,
            Some(_) => Outcome::Filtered,
            None => Outcome::Unexpected,
        },
        (
            Op::List
            | Op::Lsub
            | Op::Fetch
            | Op::Search
            | Op::Expunge
            | Op::MoveFrom
            | Op::MyRights,
            None,
        ) => Outcome::Unexpected,
        _ => Outcome::Done,
    }
}

/// The rights of a `* MYRIGHTS mailbox rights` line.
fn my_rights(answer: &[String]) -> Option<Rights> {
    let line = answer.iter().find(|l| l.starts_with("* MYRIGHTS "))?;
    Rights::parse_shown(line.split_whitespace().nth(3)?)
}
