"""Message commands through Python's imaplib: APPEND (flags, date, MULTIAPPEND, APPENDUID),
FETCH (every attribute, sections, partials, BINARY), \\Seen on non-PEEK fetch, STORE, COPY and
MOVE with COPYUID, EXPUNGE / UID EXPUNGE, CLOSE / UNSELECT, SEARCH (keys, CHARSET, ESEARCH,
SEARCHRES), IDLE woken by another session."""
import imaplib
import os
import re
import socket
import threading
import time

PORT = int(os.environ["IMAP_PORT"])

PLAIN = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Plain hello\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\nMessage-ID: <p1@example.org>\r\n\r\nThe quick brown fox.\r\n"
MULTI = (b"From: carol@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 3 Mar 2026 12:00:00 +0000\r\n"
         b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
         b"--BB\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
         b"Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n"
         b"--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
         b"AAECAwQFBgc=\r\n--BB--\r\n")


def ok(result, what):
    typ, data = result
    assert typ == "OK", f"{what}: {typ} {data}"
    return data


def login(user="alice", pw="pw-alice"):
    m = imaplib.IMAP4("127.0.0.1", PORT)
    ok(m.login(user, pw), "login")
    return m


def fresh(m, name):
    m.create(name)
    ok(m.select(name), "select")


def test_append_with_flags_and_date_returns_appenduid():
    m = login()
    fresh(m, "INBOX.Append")
    typ, data = m.append("INBOX.Append", "(\\Flagged $Work)", '"02-Mar-2026 10:00:00 +0100"', PLAIN)
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 1\]", data[0]), data
    ok(m.noop(), "noop")
    data = ok(m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE)"), "fetch")
    assert b"\\Flagged" in data[0] and b"$Work" in data[0], data
    assert b'INTERNALDATE " 2-Mar-2026 10:00:00 +0100"' in data[0], data
    assert b"RFC822.SIZE %d" % len(PLAIN) in data[0], data
    m.logout()


def test_multiappend_is_one_command():
    m = login()
    fresh(m, "INBOX.Multi")
    tag = m._new_tag()
    m.send(tag + b" APPEND INBOX.Multi (\\Seen) {%d+}\r\n" % len(PLAIN) + PLAIN
           + b" {%d+}\r\n" % len(MULTI) + MULTI + b"\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag):
            break
    assert re.match(rb"\S+ OK \[APPENDUID \d+ 1:2\]", line), line
    assert ok(m.select("INBOX.Multi"), "select") == [b"2"]
    m.logout()


def test_fetch_attributes_and_sections():
    m = login()
    fresh(m, "INBOX.Fetch")
    ok(m.append("INBOX.Fetch", None, None, MULTI), "append")
    ok(m.noop(), "noop")
    data = ok(m.fetch("1", "(ENVELOPE BODYSTRUCTURE UID)"), "fetch envelope")
    flat = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data)
    assert b'"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?="' in flat, flat
    assert b'("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE"' in flat.upper().replace(b'"UTF-8"', b'"utf-8"') or b"QUOTED-PRINTABLE" in flat.upper(), flat
    assert b'"MIXED" ("BOUNDARY" "BB")' in flat.upper(), flat
    data = ok(m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[HEADER.FIELDS (FROM)] BODY.PEEK[TEXT]<0.4>)"), "sections")
    flat = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data)
    # A part's body ends before the CRLF that precedes the next delimiter (RFC 2046 §5.1.1).
    assert b'BODY[1] "Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus K=C3=B6ln"' in flat, flat
    assert b"BODY[1.MIME] {88}Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" in flat, flat
    assert b'BODY[2] "AAECAwQFBgc="' in flat, flat
    assert b"From: carol@example.org\r\n\r\n" in flat, flat
    assert b'BODY[TEXT]<0> "--BB"' in flat, flat
    data = ok(m.fetch("1", "(BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2])"), "binary")
    flat = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data)
    assert "Schöne Grüße aus Köln".encode() in flat, flat
    assert b"BINARY.SIZE[2] 8" in flat, flat
    assert b"\x00\x01\x02\x03\x04\x05\x06\x07" in flat, flat
    data = ok(m.fetch("1", "(FLAGS)"), "flags after peeks")
    assert b"\\Seen" not in data[0], "PEEK must not set \\Seen"
    data = ok(m.fetch("1", "(BODY[TEXT])"), "non-peek")
    flat = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data)
    # \Recent as well: this session was the first to select the mailbox after the APPEND.
    assert b"FLAGS (\\Seen \\Recent)" in flat, f"non-PEEK fetch sets \\Seen and reports it: {flat}"
    data = ok(m.fetch("1", "(RFC822.HEADER)"), "rfc822.header")
    assert data[0][1].startswith(b"From: carol@example.org\r\n") and data[0][1].endswith(b"\r\n\r\n"), data
    data = ok(m.fetch("1", "RFC822"), "rfc822")
    assert data[0][1] == MULTI, data
    m.logout()


def test_store_variants_and_silent():
    m = login()
    fresh(m, "INBOX.Store")
    for _ in range(3):
        ok(m.append("INBOX.Store", None, None, PLAIN), "append")
    # The NOOP reports the three appends to this session first: they are \Recent here.
    ok(m.noop(), "noop")
    data = ok(m.store("1:2", "+FLAGS", "(\\Flagged $Label1)"), "+flags")
    assert len(data) == 2 and all(b"\\Flagged" in d for d in data), data
    data = ok(m.store("1", "-FLAGS", "($Label1)"), "-flags")
    assert data == [b"1 (FLAGS (\\Flagged \\Recent))"], data
    data = ok(m.store("3", "FLAGS", "(\\Answered)"), "replace")
    assert data == [b"3 (FLAGS (\\Answered \\Recent))"], data
    data = ok(m.store("2", "+FLAGS.SILENT", "(\\Seen)"), "silent")
    assert data == [None], data
    data = ok(m.uid("STORE", "2", "+FLAGS", "(\\Draft)"), "uid store")
    assert b"UID 2" in data[0], data
    typ, data = m.store("9", "+FLAGS", "(\\Seen)") if False else ("OK", None)
    try:
        m.store("9", "+FLAGS", "(\\Seen)")
        raise AssertionError("a sequence number past EXISTS is BAD")
    except imaplib.IMAP4.error as e:
        assert "Invalid" in str(e), e
    m.logout()


def test_copy_move_expunge():
    m = login()
    fresh(m, "INBOX.Src")
    m.create("INBOX.Dst")
    for _ in range(4):
        ok(m.append("INBOX.Src", None, None, PLAIN), "append")
    ok(m.noop(), "noop")
    typ, data = m.copy("1:2", "INBOX.Dst")
    assert typ == "OK" and re.match(rb"\[COPYUID \d+ 1:2 1:2\]", data[0]), data
    typ, data = m.copy("1", "INBOX.Nowhere")
    assert typ == "NO" and b"TRYCREATE" in data[0], data
    typ, data = m._simple_command("MOVE", "3", "INBOX.Dst")
    assert typ == "OK", data
    assert m.untagged_responses.get("EXPUNGE") == [b"3"], m.untagged_responses
    m.untagged_responses.clear()
    ok(m.store("1", "+FLAGS", "\\Deleted"), "delete 1")
    ok(m.store("2", "+FLAGS", "\\Deleted"), "delete 2")
    typ, data = m.uid("EXPUNGE", "2")
    assert typ == "OK", data
    assert m.untagged_responses.get("EXPUNGE") == [b"2"], m.untagged_responses
    m.untagged_responses.clear()
    data = ok(m.expunge(), "expunge")
    assert data == [b"1"], data
    assert ok(m.select("INBOX.Src"), "reselect") == [b"1"]
    assert ok(m.select("INBOX.Dst"), "dst") == [b"3"]
    m.logout()


def test_close_expunges_and_unselect_does_not():
    m = login()
    fresh(m, "INBOX.Close")
    for _ in range(2):
        ok(m.append("INBOX.Close", "(\\Deleted)", None, PLAIN), "append")
    ok(m.select("INBOX.Close"), "select")
    ok(m._simple_command("UNSELECT"), "unselect")
    assert ok(m.select("INBOX.Close"), "select") == [b"2"]
    ok(m.close(), "close")
    assert ok(m.select("INBOX.Close"), "select") == [b"0"]
    m.logout()


def test_search_keys_charset_esearch_and_searchres():
    m = login()
    fresh(m, "INBOX.Search")
    ok(m.append("INBOX.Search", "(\\Seen)", '"02-Mar-2026 10:00:00 +0100"', PLAIN), "append")
    ok(m.append("INBOX.Search", "(\\Flagged)", '"03-Mar-2026 12:00:00 +0000"', MULTI), "append")
    ok(m.noop(), "noop")
    cases = [
        ("ALL", b"1 2"), ("SEEN", b"1"), ("UNSEEN", b"2"), ("FLAGGED", b"2"),
        ("SUBJECT hello", b"1"), ('FROM "carol"', b"2"), ("TO bob@example.org", b"1"),
        ("BODY fox", b"1"), ("TEXT Alice", b"1"), ("BODY Köln".encode("utf-8"), b""),
        ("SENTBEFORE 3-Mar-2026", b"1"), ("SENTON 3-Mar-2026", b"2"), ("SINCE 3-Mar-2026", b"2"),
        ("BEFORE 3-Mar-2026", b"1"), ("LARGER 200", b"2"), ("SMALLER 200", b"1"),
        ("OR SEEN FLAGGED", b"1 2"), ("NOT SEEN", b"2"), ("HEADER Message-ID p1@", b"1"),
        ("UID 2", b"2"), ("1:* UNDELETED", b"1 2"), ("KEYWORD $x", b""), ("UNKEYWORD $x", b"1 2"),
    ]
    for criteria, expected in cases:
        if isinstance(criteria, bytes):
            continue
        data = ok(m.search(None, criteria), criteria)
        assert data == [expected], (criteria, data)
    data = ok(m.search("UTF-8", "BODY", '"Köln"'.encode("utf-8")), "utf-8 body")
    assert data == [b"2"], data
    data = ok(m.search("ISO-8859-1", "SUBJECT", '"Grüße"'.encode("latin-1")), "latin-1 subject")
    assert data == [b"2"], data
    typ, data = m.search("X-NO-SUCH-CHARSET", "BODY", "x")
    assert typ == "NO" and b"BADCHARSET" in data[0], data
    typ, data = m._simple_command("UID", "SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "ALL")
    assert typ == "OK", data
    es = m.untagged_responses.pop("ESEARCH", [])
    assert es and re.search(rb"UID MIN 1 MAX 2 (ALL 1:2 COUNT 2|COUNT 2 ALL 1:2)", es[0]), es
    typ, data = m._simple_command("SEARCH", "RETURN", "(SAVE)", "FLAGGED")
    assert typ == "OK" and not m.untagged_responses.pop("ESEARCH", []), "SAVE alone returns nothing"
    data = ok(m.fetch("$", "(UID)"), "fetch $")
    assert data == [b"2 (UID 2)"], data
    m.logout()


def test_idle_reports_another_sessions_append_and_expunge():
    watcher = login()
    fresh(watcher, "INBOX.Idle")
    ok(watcher.append("INBOX.Idle", None, None, PLAIN), "append")
    ok(watcher.noop(), "noop")
    tag = watcher._new_tag()
    watcher.send(tag + b" IDLE\r\n")
    assert watcher.readline().startswith(b"+"), "continuation"

    def other():
        time.sleep(0.3)
        o = login()
        ok(o.append("INBOX.Idle", None, None, PLAIN), "append from another session")
        ok(o.select("INBOX.Idle"), "select")
        ok(o.store("1", "+FLAGS", "\\Deleted"), "delete")
        ok(o.expunge(), "expunge")
        o.logout()

    t = threading.Thread(target=other)
    t.start()
    watcher.sock.settimeout(10)
    seen = []
    while not any(b"EXPUNGE" in l for l in seen):
        seen.append(watcher.readline())
    t.join()
    watcher.send(b"DONE\r\n")
    while True:
        line = watcher.readline()
        if line.startswith(tag):
            break
    assert b"OK" in line, line
    assert b"* 2 EXISTS\r\n" in seen, seen
    assert b"* 1 EXPUNGE\r\n" in seen, seen
    assert ok(watcher.noop(), "noop") is not None
    watcher.logout()


def test_pipelined_commands_answer_in_order():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(10)
    s.recv(4096)
    s.sendall(b"a1 LOGIN alice pw-alice\r\na2 SELECT INBOX\r\na3 NOOP\r\na4 LOGOUT\r\n")
    data = b""
    while b"a4 OK" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    tags = [l.split()[0] for l in data.split(b"\r\n") if l[:1] == b"a"]
    assert tags == [b"a1", b"a2", b"a3", b"a4"], data


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
