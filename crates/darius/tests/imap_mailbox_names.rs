//! A mailbox name that is not valid modified UTF-7 (RFC 3501 §5.1.3) is a well-formed astring
//! naming a mailbox that cannot exist (issue 10, defect 8): every command that takes one
//! answers `NO [CANNOT]`, as Cyrus and Dovecot answer `NO`, never `BAD`, so a client (mbsync)
//! reports that mailbox instead of taking the session for broken. Such answers are not bad
//! commands: the session goes on, however many there are.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;

use imap_support::{last, Client};

/// Unterminated shift; a shift that encodes printable ASCII; adjacent shifts.
const INVALID: [&str; 3] = ["INBOX.&Jjo", "&AGE-", "INBOX.&AOQ-&AOQ-"];

fn refused(c: &mut Client, tag: &str, command: &str) {
    let r = c.cmd(tag, command);
    assert!(
        last(&r).starts_with(&format!("{tag} NO [CANNOT]")),
        "{command}: {r:?}"
    );
}

#[test]
fn every_command_naming_an_undecodable_mailbox_answers_no() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    imap_support::fill_inbox(&mut c, 1, 1);
    let r = c.cmd("c0", "CREATE INBOX.ok");
    assert!(last(&r).starts_with("c0 OK"), "{r:?}");
    let mut n = 0;
    for name in INVALID {
        for command in [
            format!("SELECT \"{name}\""),
            format!("EXAMINE {name}"),
            format!("STATUS {name} (MESSAGES)"),
            format!("CREATE {name}"),
            format!("DELETE {name}"),
            format!("RENAME INBOX.ok {name}"),
            format!("RENAME {name} INBOX.other"),
            format!("SUBSCRIBE {name}"),
            format!("UNSUBSCRIBE {name}"),
            format!("LIST \"\" {name}"),
            format!("LIST \"{name}\" %"),
            format!("LSUB \"\" {name}"),
        ] {
            n += 1;
            refused(&mut c, &format!("t{n}"), &command);
        }
    }
    assert!(n > 30, "more than the bad-command limit in a row");
    let r = c.cmd("s", "SELECT INBOX");
    assert!(last(&r).starts_with("s OK"), "{r:?}");
    for name in INVALID {
        refused(&mut c, "cp", &format!("COPY 1 {name}"));
        refused(&mut c, "mv", &format!("UID MOVE 1 {name}"));
    }
    let r = c.cmd("f", "FETCH 1 (UID)");
    assert!(
        last(&r).starts_with("f OK"),
        "the message did not move: {r:?}"
    );
}

/// APPEND is refused before its message: a synchronising literal is not invited (the client
/// never sends it), a non-synchronising one is read and dropped; the session goes on.
#[test]
fn an_append_to_an_undecodable_mailbox_is_refused_before_its_data() {
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let mut c = Client::login(server.imap_port, "alice");
    let body = "Subject: x\r\n\r\nbody\r\n";
    c.send(format!("a1 APPEND INBOX.&Jjo {{{}}}\r\n", body.len()).as_bytes());
    let answer = c.line();
    assert!(
        answer.starts_with("a1 NO [CANNOT]"),
        "no '+' first: {answer}"
    );
    let r = c.cmd(
        "a2",
        &format!("APPEND &AGE- (\\Seen) {{{}+}}\r\n{body}", body.len()),
    );
    assert!(last(&r).starts_with("a2 NO [CANNOT]"), "{r:?}");
    let r = c.cmd("a3", "STATUS INBOX (MESSAGES)");
    assert!(r[0].contains("MESSAGES 0"), "nothing was stored: {r:?}");
    assert!(last(&r).starts_with("a3 OK"), "{r:?}");
}

/// mbsync 1.4 sends a Maildir folder's name as it is; `Foo&Bar` is not modified UTF-7. With
/// `BAD` it dropped the server side and synchronised nothing after that folder; with `NO` it
/// reports that one folder and goes on with the next.
#[test]
fn mbsync_reports_an_undecodable_folder_and_syncs_the_others() {
    if !common::have("mbsync") {
        return;
    }
    let server = common::Server::start();
    server.add_user("alice", "pw-alice");
    let dir = tempfile::tempdir().unwrap();
    let near = dir.path().join("near");
    for folder in ["INBOX", "Foo&Bar", "Good"] {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(near.join(folder).join(sub)).unwrap();
        }
        let message = format!("Subject: {folder}\r\n\r\nbody\r\n");
        std::fs::write(near.join(folder).join("cur/1.host:2,S"), message).unwrap();
    }
    let rc = dir.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount darius\nHost 127.0.0.1\nPort {}\nUser alice\nPass pw-alice\n\
             SSLType None\nAuthMechs LOGIN\n\nIMAPStore far\nAccount darius\n\n\
             MaildirStore near\nPath {n}/\nInbox {n}/INBOX\nSubFolders Verbatim\n\n\
             Channel darius\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nSync All\n\
             SyncState *\n",
            server.imap_port,
            n = near.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new("mbsync")
        .arg("-c")
        .arg(&rc)
        .arg("-a")
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CREATE \"INBOX.Foo&Bar\"' returned an error: NO [CANNOT]"),
        "{stderr}"
    );
    let mut c = Client::login(server.imap_port, "alice");
    let r = c.cmd("s", "STATUS INBOX.Good (MESSAGES)");
    assert!(
        r[0].contains("MESSAGES 1"),
        "the next folder was synchronised: {r:?}\n{stderr}"
    );
}
