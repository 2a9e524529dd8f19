//! Status lines as a client reads them (`Response::parse`): what the servers send, codes known
//! and unknown, and every line `Response::encode` writes reading back as the same response.

use pop3_proto::{RespCode, Response};
use proptest::prelude::*;

fn parsed(line: &str) -> Response {
    Response::parse(line.as_bytes()).unwrap_or_else(|| panic!("{line:?} did not parse"))
}

#[test]
fn greetings_and_answers_of_real_servers_parse() {
    let r = parsed("+OK Dovecot ready.");
    assert!(r.ok && r.code.is_none());
    assert_eq!(r.text, "Dovecot ready.");
    assert_eq!(parsed("+OK"), Response::ok(""));
    assert_eq!(parsed("+OK 2 320"), Response::ok("2 320"));
    assert_eq!(
        parsed("-ERR [IN-USE] Mailbox locked by another session"),
        Response::err("Mailbox locked by another session").with_code(RespCode::InUse)
    );
    assert_eq!(
        parsed("-ERR [sys/temp] try later"),
        Response::err("try later").with_code(RespCode::SysTemp),
        "codes are read whatever their case"
    );
    assert_eq!(
        parsed("-ERR [AUTH]"),
        Response::err("").with_code(RespCode::Auth)
    );
    // A code this crate does not know, or a bracket that is no code, stays text.
    assert_eq!(parsed("-ERR [XYZ] no"), Response::err("[XYZ] no"));
    assert_eq!(parsed("-ERR [IN-USE no"), Response::err("[IN-USE no"));
    assert_eq!(parsed("+OK  two spaces"), Response::ok(" two spaces"));
}

#[test]
fn other_lines_are_no_status_lines() {
    for line in [
        "",
        "+O",
        "OK fine",
        "+OKAY",
        "-ERROR x",
        "* OK imap",
        "1 200",
    ] {
        assert_eq!(Response::parse(line.as_bytes()), None, "{line:?}");
    }
}

fn code() -> impl Strategy<Value = Option<RespCode>> {
    prop_oneof![
        Just(None),
        Just(Some(RespCode::InUse)),
        Just(Some(RespCode::LoginDelay)),
        Just(Some(RespCode::SysTemp)),
        Just(Some(RespCode::SysPerm)),
        Just(Some(RespCode::Auth)),
    ]
}

proptest! {
    #[test]
    fn what_encode_writes_parses_back(
        ok in any::<bool>(),
        code in code(),
        // Printable text short enough not to be cut, not starting with a bracket a reader
        // would take for a code.
        text in "([^\\[\\p{Cc}][^\\p{Cc}]{0,100})?",
    ) {
        let r = Response { ok, code, text };
        let bytes = r.to_bytes();
        let line = bytes.strip_suffix(b"\r\n").expect("a line end");
        prop_assert_eq!(Response::parse(line), Some(r));
    }

    #[test]
    fn any_bytes_parse_or_not_without_panicking(line in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Some(r) = Response::parse(&line) {
            prop_assert_eq!(r.ok, line.starts_with(b"+OK"));
        }
    }
}
