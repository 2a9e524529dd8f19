//! ManageSieve (RFC 5804) over TCP with a raw client: the greeting's capabilities, every
//! command and its response codes, limits (`sieve_maxscripts`, `sieve_maxscriptsize`, a huge
//! literal), STARTTLS then AUTHENTICATE, UNAUTHENTICATE, an administrator acting for a user,
//! bad input, a random session that must leave the server serving, and delivery running the
//! script ManageSieve activated.
#![allow(clippy::unwrap_used)]

mod common;
mod imap_support;
mod lmtp_support;
mod pop3_support;
mod sieve_support;

use common::Server;
use sieve_support::Client;

fn server(extra: &str) -> Server {
    let server = Server::start_with(extra);
    server.add_user("alice", "pw-alice");
    server.add_user("bob", "pw-bob");
    server.add_user("admin", "pw-admin");
    server
}

fn alice(server: &Server) -> Client {
    Client::login(server.sieve_port, "", "alice", "pw-alice")
}

const VACATION: &str = "require [\"fileinto\", \"vacation\"];\r\n\
    if header :contains \"subject\" \"urgent\" {\r\n    fileinto \"INBOX.urgent\";\r\n}\r\n\
    vacation :days 3 \"I am away\";\r\n";

#[test]
fn the_greeting_lists_the_capabilities() {
    let server = server("");
    let (_, greeting) = Client::connect(server.sieve_port);
    let caps = greeting.data.join("\n");
    for expected in [
        "\"IMPLEMENTATION\" \"Darius ",
        "\"SASL\" \"",
        "PLAIN",
        "\"STARTTLS\"",
        "\"MAXREDIRECTS\" \"5\"",
        "\"VERSION\" \"1.0\"",
        "\"NOTIFY\" \"mailto\"",
        "enotify",
        "fileinto",
        "vacation",
    ] {
        assert!(caps.contains(expected), "{expected} in {caps}");
    }
    assert!(caps.contains("\"SIEVE\" \""), "{caps}");
    assert!(
        !caps.contains("OWNER"),
        "no owner before authentication: {caps}"
    );
    assert!(!caps.contains("ANONYMOUS"), "{caps}");
}

#[test]
fn scripts_are_put_listed_activated_fetched_renamed_and_deleted() {
    let server = server("");
    let mut c = alice(&server);
    let caps = c.cmd("CAPABILITY");
    assert!(
        caps.data.iter().any(|l| l == "\"OWNER\" \"alice\""),
        "{caps:?}"
    );
    assert!(c
        .with_literal("PUTSCRIPT \"away\"", VACATION.as_bytes())
        .ok());
    assert!(c.with_literal("PUTSCRIPT \"plain\"", b"keep;\r\n").ok());
    let list = c.cmd("LISTSCRIPTS");
    assert!(list.ok());
    assert_eq!(list.data, ["\"away\"", "\"plain\""]);
    assert!(c.cmd("SETACTIVE \"away\"").ok());
    let list = c.cmd("LISTSCRIPTS");
    assert_eq!(list.data, ["\"away\" ACTIVE", "\"plain\""]);
    let got = c.cmd("GETSCRIPT \"away\"");
    assert!(got.ok(), "{got:?}");
    // The client's line reader drops the line end after the literal (the script's own last
    // CRLF with it); the literal's announced size is exact.
    let expected = format!("{{{}}}\r\n{VACATION}", VACATION.len());
    assert_eq!(got.data.join("\n"), expected.trim_end());
    let refused = c.cmd("DELETESCRIPT \"away\"");
    assert!(refused.status.starts_with("NO (ACTIVE)"), "{refused:?}");
    let missing = c.cmd("GETSCRIPT \"nothing\"");
    assert!(
        missing.status.starts_with("NO (NONEXISTENT)"),
        "{missing:?}"
    );
    let exists = c.cmd("RENAMESCRIPT \"plain\" \"away\"");
    assert!(
        exists.status.starts_with("NO (ALREADYEXISTS)"),
        "{exists:?}"
    );
    assert!(c.cmd("RENAMESCRIPT \"away\" \"vacation\"").ok());
    let list = c.cmd("LISTSCRIPTS");
    assert_eq!(
        list.data,
        ["\"plain\"", "\"vacation\" ACTIVE"],
        "the active one stays active"
    );
    assert!(c.cmd("SETACTIVE \"\"").ok());
    assert!(c.cmd("DELETESCRIPT \"vacation\"").ok());
    let missing = c.cmd("SETACTIVE \"vacation\"");
    assert!(
        missing.status.starts_with("NO (NONEXISTENT)"),
        "{missing:?}"
    );
    assert_eq!(c.cmd("LISTSCRIPTS").data, ["\"plain\""]);
    // Another user's scripts are apart.
    let mut bob = Client::login(server.sieve_port, "", "bob", "pw-bob");
    assert!(bob.cmd("LISTSCRIPTS").data.is_empty());
    assert!(c.cmd("LOGOUT").ok());
    assert!(c.closed());
}

#[test]
fn an_invalid_script_is_refused_with_its_line_and_column() {
    let server = server("");
    let mut c = alice(&server);
    let script = b"require \"fileinto\";\r\nkeep;\r\nfrobnicate \"x\";\r\n";
    let checked = c.with_literal("CHECKSCRIPT", script);
    assert!(checked.status.starts_with("NO "), "{checked:?}");
    assert!(checked.status.contains("line 3"), "{checked:?}");
    let put = c.with_literal("PUTSCRIPT \"broken\"", script);
    assert!(put.status.contains("line 3"), "{put:?}");
    assert!(c.cmd("LISTSCRIPTS").data.is_empty(), "nothing stored");
    let unknown = c.with_literal("CHECKSCRIPT", b"require \"nosuchext\";\r\n");
    assert!(unknown.status.starts_with("NO "), "{unknown:?}");
    assert!(c.with_literal("CHECKSCRIPT", VACATION.as_bytes()).ok());
}

#[test]
fn limits_answer_quota_codes_and_a_huge_literal_is_refused_unread() {
    let server = server("sieve_maxscripts: 2\nsieve_maxscriptsize: 1\n");
    let mut c = alice(&server);
    let big = c.cmd("HAVESPACE \"x\" 5000");
    assert!(big.status.starts_with("NO (QUOTA/MAXSIZE)"), "{big:?}");
    assert!(c.cmd("HAVESPACE \"x\" 500").ok());
    let script = format!("# {}\r\nkeep;\r\n", "x".repeat(1100));
    let put = c.with_literal("PUTSCRIPT \"big\"", script.as_bytes());
    assert!(put.status.starts_with("NO (QUOTA/MAXSIZE)"), "{put:?}");
    assert!(c.with_literal("PUTSCRIPT \"a\"", b"keep;").ok());
    assert!(c.with_literal("PUTSCRIPT \"b\"", b"keep;").ok());
    let third = c.with_literal("PUTSCRIPT \"c\"", b"keep;");
    assert!(
        third.status.starts_with("NO (QUOTA/MAXSCRIPTS)"),
        "{third:?}"
    );
    let space = c.cmd("HAVESPACE \"c\" 10");
    assert!(
        space.status.starts_with("NO (QUOTA/MAXSCRIPTS)"),
        "{space:?}"
    );
    assert!(
        c.cmd("HAVESPACE \"a\" 10").ok(),
        "replacing is no new script"
    );
    assert!(c.with_literal("PUTSCRIPT \"a\"", b"discard;").ok());
    // 4 MB announced: refused at the header, its octets skipped, the session in step.
    let huge = vec![b'#'; 4 << 20];
    let reply = c.with_literal("PUTSCRIPT \"huge\"", &huge);
    assert!(reply.status.starts_with("NO (QUOTA/MAXSIZE)"), "{reply:?}");
    let noop = c.cmd("NOOP");
    assert!(noop.ok(), "{noop:?}");
    assert_eq!(c.cmd("LISTSCRIPTS").data, ["\"a\"", "\"b\""]);
}

#[test]
fn starttls_sends_the_capabilities_again_then_authenticate_works() {
    let server = server("");
    let (c, _) = Client::connect(server.sieve_port);
    let (mut c, caps) = c.starttls(&server.cert_path());
    assert!(caps.ok(), "{caps:?}");
    let listing = caps.data.join("\n");
    assert!(listing.contains("\"IMPLEMENTATION\""), "{listing}");
    assert!(
        !listing.contains("STARTTLS"),
        "not offered twice: {listing}"
    );
    assert!(listing.contains("PLAIN"), "{listing}");
    let again = c.cmd("STARTTLS");
    assert!(again.status.starts_with("NO"), "{again:?}");
    assert!(c.plain("", "alice", "pw-alice").ok());
    assert!(c.with_literal("PUTSCRIPT \"tls\"", b"keep;").ok());
    assert_eq!(c.cmd("LISTSCRIPTS").data, ["\"tls\""]);
}

#[test]
fn unauthenticate_returns_to_the_start() {
    let server = server("");
    let mut c = alice(&server);
    assert!(c.cmd("UNAUTHENTICATE").ok());
    let refused = c.cmd("LISTSCRIPTS");
    assert!(refused.status.starts_with("NO"), "{refused:?}");
    assert!(!c.cmd("CAPABILITY").data.join("\n").contains("OWNER"));
    assert!(c.plain("", "bob", "pw-bob").ok());
    let caps = c.cmd("CAPABILITY");
    assert!(
        caps.data.iter().any(|l| l == "\"OWNER\" \"bob\""),
        "{caps:?}"
    );
}

#[test]
fn wrong_passwords_and_unknown_mechanisms_are_refused() {
    let server = server("");
    let (mut c, _) = Client::connect(server.sieve_port);
    assert!(c.plain("", "alice", "wrong").status.starts_with("NO"));
    let mech = c.cmd("AUTHENTICATE \"NOSUCH\"");
    assert!(mech.status.starts_with("NO"), "{mech:?}");
    // A cancelled exchange: LOGIN asks for the user name, the client answers "*".
    assert!(c.send(b"AUTHENTICATE \"LOGIN\"\r\n\"*\"\r\n"));
    let cancelled = c.reply().unwrap();
    assert_eq!(cancelled.data.len(), 1, "one challenge: {cancelled:?}");
    assert!(cancelled.status.starts_with("NO"), "{cancelled:?}");
    assert!(c.plain("", "alice", "pw-alice").ok());
}

#[test]
fn an_admin_manages_a_users_scripts_through_the_authorization_identity() {
    let server = server("");
    let mut admin = Client::login(server.sieve_port, "alice", "admin", "pw-admin");
    let caps = admin.cmd("CAPABILITY");
    assert!(
        caps.data.iter().any(|l| l == "\"OWNER\" \"alice\""),
        "{caps:?}"
    );
    assert!(admin.with_literal("PUTSCRIPT \"by-admin\"", b"keep;").ok());
    assert!(admin.cmd("SETACTIVE \"by-admin\"").ok());
    let mut c = alice(&server);
    assert_eq!(c.cmd("LISTSCRIPTS").data, ["\"by-admin\" ACTIVE"]);
    // A user is no administrator.
    let (mut bob, _) = Client::connect(server.sieve_port);
    let refused = bob.plain("alice", "bob", "pw-bob");
    assert!(refused.status.starts_with("NO"), "{refused:?}");
}

#[test]
fn bad_input_gets_no_and_the_session_goes_on() {
    let server = server("");
    let (mut c, _) = Client::connect(server.sieve_port);
    for bad in [
        "FROB",
        "LISTSCRIPTS",
        "PUTSCRIPT",
        "GETSCRIPT \"unterminated",
        "HAVESPACE \"x\" notanumber",
        "NOOP \"a\" \"b\"",
    ] {
        let reply = c.cmd(bad);
        assert!(reply.status.starts_with("NO"), "{bad}: {reply:?}");
    }
    let tagged = c.cmd("NOOP \"t1\"");
    assert!(tagged.status == "OK (TAG \"t1\")", "{tagged:?}");
    let long = format!("NOOP \"{}\"", "x".repeat(20_000));
    assert!(c.cmd(&long).status.starts_with("NO"));
    assert!(c.cmd("NOOP").ok());
    let mut c = alice(&server);
    let bad_name = c.with_literal("PUTSCRIPT \"a\u{1}b\"", b"keep;");
    assert!(bad_name.status.starts_with("NO"), "{bad_name:?}");
    // Names that look like paths stay names.
    for name in ["../../etc/passwd", ".active", "a/b", "active"] {
        let put = c.with_literal(&format!("PUTSCRIPT \"{name}\""), b"keep;");
        assert!(put.ok(), "{name}: {put:?}");
        assert!(c.cmd(&format!("GETSCRIPT \"{name}\"")).ok());
        assert!(c.cmd(&format!("DELETESCRIPT \"{name}\"")).ok());
    }
    assert!(!server.dir.path().join("etc").exists());
}

#[test]
fn a_random_session_leaves_the_server_serving() {
    let server = server("");
    let seed = common::seed();
    let mut rng = common::Rng::new(seed);
    let pieces: &[&[u8]] = &[
        b"AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHB3LWFsaWNl\"\r\n",
        b"PUTSCRIPT \"s\" {5+}\r\nkeep;\r\n",
        b"CHECKSCRIPT {3}\r\nif \r\n",
        b"SETACTIVE \"s\"\r\n",
        b"LISTSCRIPTS\r\n",
        b"GETSCRIPT \"s\"\r\n",
        b"DELETESCRIPT \"s\"\r\n",
        b"RENAMESCRIPT \"s\" \"t\"\r\n",
        b"HAVESPACE \"s\" 4294967296\r\n",
        b"UNAUTHENTICATE\r\n",
        b"NOOP {2+}\r\nab\r\n",
        b"\"\\\r\n",
        b"{5}\r\n",
        b"\r\n",
        b"\xff\xfe\x00\r\n",
    ];
    for _ in 0..20 {
        let (mut c, _) = Client::connect(server.sieve_port);
        let mut burst = Vec::new();
        for _ in 0..rng.below(30) {
            let piece: &[u8] = pieces[rng.below(pieces.len())];
            burst.extend_from_slice(piece);
            if rng.one_in(5) {
                let junk = (0..rng.below(40)).map(|_| rng.below(256) as u8);
                burst.extend(junk);
            }
        }
        // Room for a literal header the burst ends with to take, then the end.
        burst.extend_from_slice(b"\r\n\r\n\r\n\r\n\r\nLOGOUT\r\n");
        c.send(&burst);
        while c.reply().is_some() {}
    }
    let mut c = alice(&server);
    assert!(c.cmd("NOOP").ok(), "seed {seed}");
}

#[test]
fn delivery_runs_the_script_managesieve_activated() {
    let server = server("");
    let mut c = alice(&server);
    let script = b"if header :contains \"subject\" \"junk\" { discard; stop; }\r\nkeep;\r\n";
    assert!(c.with_literal("PUTSCRIPT \"junk\"", script).ok());
    let message = |subject: &str| {
        format!(
            "From: b@example.org\r\nTo: alice@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n"
        )
        .into_bytes()
    };
    // Stored but not active: everything is kept.
    pop3_support::deliver(&server, "alice", &[message("junk one")]);
    assert!(c.cmd("SETACTIVE \"junk\"").ok());
    pop3_support::deliver(&server, "alice", &[message("junk two"), message("hello")]);
    assert!(c.cmd("SETACTIVE \"\"").ok());
    pop3_support::deliver(&server, "alice", &[message("junk three")]);
    let (_, inbox) = pop3_support::imap_inbox(server.imap_port, "alice", "pw-alice");
    assert_eq!(inbox.len(), 3, "{inbox:?}");
    let mut imap = imap_support::Client::connect(server.imap_port);
    imap.cmd("a", "LOGIN alice pw-alice");
    imap.cmd("b", "EXAMINE INBOX");
    let found = |imap: &mut imap_support::Client, subject: &str| {
        let r = imap.cmd("s", &format!("SEARCH SUBJECT \"{subject}\""));
        r.iter()
            .any(|l| l.starts_with("* SEARCH ") && l.trim() != "* SEARCH")
    };
    for kept in ["junk one", "hello", "junk three"] {
        assert!(found(&mut imap, kept), "{kept} kept");
    }
    assert!(
        !found(&mut imap, "junk two"),
        "discarded by the active script"
    );
}

/// The machine's own address on its way to the documentation network, when it has one that
/// is not loopback (a client there is no loopback client).
fn outside_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback()).then_some(ip)
}

/// PLAIN only where IMAP would allow LOGIN: not in the clear off loopback (`NO
/// (ENCRYPT-NEEDED)`), and after STARTTLS it is offered and works.
#[test]
fn plain_needs_tls_off_loopback() {
    let Some(ip) = outside_address() else {
        eprintln!("SKIPPED: this machine has no address but loopback");
        return;
    };
    let server = server("listen_sieve: 0.0.0.0:0\n");
    let (mut c, greeting) = Client::connect_to(ip, server.sieve_port);
    let sasl = greeting
        .data
        .iter()
        .find(|l| l.starts_with("\"SASL\""))
        .cloned()
        .unwrap_or_default();
    assert!(
        !sasl.contains("PLAIN") && sasl.contains("SCRAM-SHA-256"),
        "{greeting:?}"
    );
    let refused = c.plain("", "alice", "pw-alice");
    assert!(
        refused.status.starts_with("NO (ENCRYPT-NEEDED)"),
        "{refused:?}"
    );
    let (mut c, caps) = c.starttls(&server.cert_path());
    assert!(caps.data.join(" ").contains("PLAIN"), "{caps:?}");
    assert!(c.plain("", "alice", "pw-alice").ok());
}
