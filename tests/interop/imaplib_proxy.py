"""Python's imaplib through a Murder frontend (crates/imap-server/tests/proxy_imap.rs): the
user's mailboxes are on the backend, the client talks only to the frontend. LIST, SELECT,
APPEND with APPENDUID, FETCH of the exact bytes, STORE, SEARCH, COPY with COPYUID, EXPUNGE,
STATUS, ACLs and IDLE woken by a message another session appended at the backend."""
import imaplib
import os
import re
import threading
import time

FRONTEND = int(os.environ["FRONTEND_PORT"])
BACKEND = int(os.environ["BACKEND_PORT"])

MESSAGE = (b"From: Ann <ann@example.org>\r\nTo: team@example.org\r\nSubject: through the frontend\r\n"
           b"Date: Mon, 2 Mar 2026 10:00:00 +0100\r\nMessage-ID: <px@example.org>\r\n\r\n"
           b"Hello from behind the proxy.\r\n")


def ok(result, what):
    typ, data = result
    assert typ == "OK", f"{what}: {typ} {data}"
    return data


def login(port=FRONTEND, user="ann"):
    m = imaplib.IMAP4("127.0.0.1", port)
    ok(m.login(user, user + "-pw"), "login")
    return m


def test_list_select_append_fetch():
    m = login()
    names = b"".join(ok(m.list(), "list"))
    for name in (b"INBOX", b"INBOX.Work", b"shared.team"):
        assert name in names, names
    typ, data = m.append("INBOX", "(\\Flagged)", '"02-Mar-2026 10:00:00 +0100"', MESSAGE)
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 1\]", data[0]), data
    data = ok(m.select("INBOX"), "select")
    assert data == [b"1"], data
    data = ok(m.fetch("1", "(BODY.PEEK[] INTERNALDATE FLAGS)"), "fetch")
    assert data[0][1] == MESSAGE, data
    rest = data[0][0] + data[1]
    assert b'INTERNALDATE " 2-Mar-2026 10:00:00 +0100"' in rest, data
    assert b"\\Flagged" in rest, data
    ok(m.store("1", "+FLAGS", "(\\Seen)"), "store")
    assert ok(m.search(None, "SEEN"), "search") == [b"1"]
    typ, data = m.copy("1", "INBOX.Work")
    assert typ == "OK" and re.match(rb"\[COPYUID \d+ 1 1\]", data[0]), data
    ok(m.store("1", "+FLAGS", "(\\Deleted)"), "delete")
    data = ok(m.expunge(), "expunge")
    assert data == [b"1"], data
    status = ok(m.status("INBOX.Work", "(MESSAGES)"), "status")
    assert b"MESSAGES 1" in status[0], status
    m.logout()


def test_acl_commands():
    m = login()
    acl = ok(m.getacl("shared.team"), "getacl")
    assert b"ann lrswipkxtecda" in acl[0], acl
    ok(m.setacl("shared.team", "bob", "lr"), "setacl")
    bob = login(user="bob")
    ok(bob.select("shared.team", readonly=True), "bob examine")
    bob.logout()
    ok(m.deleteacl("shared.team", "bob"), "deleteacl")
    m.logout()


def test_idle_sees_a_message_appended_at_the_backend():
    m = login()
    ok(m.select("INBOX.Work"), "select")
    before = int(ok(m.status("INBOX.Work", "(MESSAGES)"), "status")[0].split()[-1].rstrip(b")"))
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+"), "no continuation"

    def deliver():
        time.sleep(0.3)
        other = login(port=BACKEND)
        ok(other.append("INBOX.Work", None, None, MESSAGE), "append at backend")
        other.logout()

    threading.Thread(target=deliver).start()
    line = m.readline()
    assert line == b"* %d EXISTS\r\n" % (before + 1), line
    m.send(b"DONE\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag):
            assert b" OK " in line, line
            break
    m.logout()


if __name__ == "__main__":
    for name, test in list(globals().items()):
        if name.startswith("test_"):
            test()
            print("ok", name)
