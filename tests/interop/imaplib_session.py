"""Session-level commands through Python's imaplib: CAPABILITY, NOOP, ID, ENABLE, NAMESPACE,
LOGIN and AUTHENTICATE PLAIN, CREATE/DELETE/RENAME, SUBSCRIBE/LSUB, LIST (LIST-EXTENDED,
LIST-STATUS, SPECIAL-USE, CHILDREN), STATUS, SELECT/EXAMINE, closed access to other users."""
import imaplib
import os
import re

PORT = int(os.environ["IMAP_PORT"])


def connect():
    return imaplib.IMAP4("127.0.0.1", PORT)


def ok(result, what):
    typ, data = result
    assert typ == "OK", f"{what}: {typ} {data}"
    return data


def no(call, what, code=None):
    try:
        typ, data = call()
    except imaplib.IMAP4.error as e:
        text = str(e)
        assert code is None or code in text, f"{what}: expected [{code}], got {text}"
        return text
    text = " ".join(d.decode() if isinstance(d, bytes) else str(d) for d in data)
    assert typ == "NO", f"{what}: expected NO, got {typ} {data}"
    assert code is None or code in text, f"{what}: expected [{code}], got {text}"
    return text


def test_capabilities_change_with_login():
    m = connect()
    pre = set(m.capabilities)
    assert {"IMAP4REV1", "IMAP4REV2", "STARTTLS", "AUTH=PLAIN", "LITERAL+"} <= pre, pre
    assert "IDLE" not in pre, "extensions appear only after login"
    data = ok(m.login("alice", "pw-alice"), "login")
    assert b"[CAPABILITY" in data[0] and b"IDLE" in data[0], data
    caps = ok(m.capability(), "capability")[0].split()
    for c in [b"IDLE", b"NAMESPACE", b"UIDPLUS", b"MOVE", b"ESEARCH", b"LIST-EXTENDED",
              b"SPECIAL-USE", b"CHILDREN", b"UNSELECT", b"MULTIAPPEND", b"SEARCHRES"]:
        assert c in caps, (c, caps)
    assert b"STARTTLS" not in caps and b"AUTH=PLAIN" not in caps
    ok(m.noop(), "noop")
    m.logout()


def test_wrong_password_is_refused_with_a_code():
    m = connect()
    text = no(lambda: m.login("alice", "wrong"), "bad login", "AUTHENTICATIONFAILED")
    assert "AUTHENTICATIONFAILED" in text
    text = no(lambda: m.login("nobody", "wrong"), "unknown user", "AUTHENTICATIONFAILED")
    ok(m.login("alice", "pw-alice"), "login after failures")
    m.logout()


def test_authenticate_plain_with_and_without_initial_response():
    m = connect()
    ok(m.authenticate("PLAIN", lambda _: b"\0alice\0pw-alice"), "authenticate")
    ok(m.select("INBOX"), "select after authenticate")
    m.logout()
    # SASL-IR (RFC 4959): the response on the command line.
    m = connect()
    import base64
    ir = base64.b64encode(b"\0bob\0pw-bob").decode()
    tag = m._new_tag().decode()
    m.send(f"{tag} AUTHENTICATE PLAIN {ir}\r\n".encode())
    while True:
        line = m.readline()
        if line.startswith(tag.encode()):
            break
    assert line.split()[1] == b"OK", line
    m.logout()


def raw(m, command):
    """Sends a command imaplib has no method for; returns (untagged lines, tagged line)."""
    tag = m._new_tag()
    m.send(tag + b" " + command + b"\r\n")
    untagged = []
    while True:
        line = m.readline()
        if line.startswith(tag + b" "):
            return untagged, line
        untagged.append(line)


def test_id_enable_namespace():
    m = connect()
    untagged, done = raw(m, b'ID ("name" "darius-test")')
    assert done.split()[1] == b"OK", done
    assert any(b'"name" "Darius"' in l for l in untagged), untagged
    ok(m.login("alice", "pw-alice"), "login")
    untagged, done = raw(m, b"ENABLE IMAP4rev2")
    assert done.split()[1] == b"OK" and untagged == [b"* ENABLED IMAP4REV2\r\n"], (untagged, done)
    untagged, done = raw(m, b"ENABLE IMAP4rev2")
    assert untagged == [b"* ENABLED\r\n"], "enabling twice reports nothing new"
    data = ok(m.namespace(), "namespace")
    assert data[0] == b'(("INBOX." ".")) (("user." ".")) (("" "."))', data
    m.logout()


def test_create_list_rename_delete():
    m = connect()
    ok(m.login("alice", "pw-alice"), "login")
    ok(m.create("INBOX.Projects"), "create")
    ok(m.create("INBOX.Projects.2026"), "create child")
    no(lambda: m.create("INBOX.Projects"), "duplicate create", "ALREADYEXISTS")
    no(lambda: m.create("INBOX"), "create INBOX")
    names = ok(m.list("\"\"", "*"), "list *")
    assert b'(\\HasChildren) "." INBOX' in names, names
    assert b'(\\HasChildren) "." INBOX.Projects' in names, names
    assert b'(\\HasNoChildren) "." INBOX.Projects.2026' in names, names
    top = ok(m.list("\"\"", "%"), "list %")
    assert top == [b'(\\HasChildren) "." INBOX'], top
    level = ok(m.list("INBOX.", "%"), "list INBOX.%")
    assert level == [b'(\\HasChildren) "." INBOX.Projects'], level
    delim = ok(m.list("\"\"", "\"\""), "list delimiter")
    assert delim == [b'(\\Noselect) "." ""'], delim
    ok(m.rename("INBOX.Projects", "INBOX.Work"), "rename with child")
    names = ok(m.list("\"\"", "INBOX.Work*"), "list after rename")
    assert names == [b'(\\HasChildren) "." INBOX.Work', b'(\\HasNoChildren) "." INBOX.Work.2026'], names
    no(lambda: m.select("INBOX.Projects"), "old name gone", "NONEXISTENT")
    ok(m.delete("INBOX.Work.2026"), "delete child")
    ok(m.delete("INBOX.Work"), "delete")
    no(lambda: m.delete("INBOX.Work"), "delete twice", "NONEXISTENT")
    no(lambda: m.delete("INBOX"), "delete INBOX")
    m.logout()


def test_rename_inbox_moves_its_messages():
    m = connect()
    ok(m.login("bob", "pw-bob"), "login")
    for i in range(3):
        ok(m.append("INBOX", None, None, f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode()), "append")
    ok(m.rename("INBOX", "INBOX.Old"), "rename INBOX")
    assert ok(m.select("INBOX"), "select INBOX") == [b"0"], "INBOX is left empty"
    assert ok(m.select("INBOX.Old"), "select INBOX.Old") == [b"3"]
    m.logout()


def test_subscriptions_and_lsub():
    m = connect()
    ok(m.login("alice", "pw-alice"), "login")
    ok(m.create("INBOX.Lists"), "create")
    ok(m.subscribe("INBOX.Lists"), "subscribe")
    ok(m.subscribe("INBOX"), "subscribe INBOX")
    lsub = ok(m.lsub("\"\"", "*"), "lsub")
    assert b'() "." INBOX' in lsub and b'() "." INBOX.Lists' in lsub, lsub
    ext = ok(m._simple_command("LIST", "(SUBSCRIBED)", '""', '"*"'), "list subscribed")
    typ, data = m._untagged_response("OK", ext, "LIST")
    assert any(b"\\Subscribed" in d and b"INBOX.Lists" in d for d in data), data
    ok(m.unsubscribe("INBOX.Lists"), "unsubscribe")
    lsub = ok(m.lsub("\"\"", "*"), "lsub after")
    assert b'() "." INBOX.Lists' not in lsub, lsub
    no(lambda: m.subscribe("user.bob"), "subscribe to another user's mailbox", "NONEXISTENT")
    m.logout()


def test_list_extended_status_and_special_use():
    m = connect()
    ok(m.login("alice", "pw-alice"), "login")
    typ, data = m._simple_command("CREATE", "INBOX.Sent", "(USE (\\Sent))")
    assert typ == "OK", data
    ok(m.append("INBOX.Sent", "(\\Seen)", None, b"Subject: x\r\n\r\ny\r\n"), "append")
    typ, data = m._simple_command("LIST", '""', '"INBOX.S*"', "RETURN", "(SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))")
    assert typ == "OK", data
    lists = m.untagged_responses.pop("LIST", [])
    statuses = m.untagged_responses.pop("STATUS", [])
    assert any(b"\\Sent" in l and b"INBOX.Sent" in l for l in lists), lists
    assert any(re.search(rb"MESSAGES 1 UNSEEN 0 SIZE \d+", s) for s in statuses), statuses
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', '"*"')
    assert typ == "OK", data
    lists = m.untagged_responses.pop("LIST", [])
    assert len(lists) == 1 and b"INBOX.Sent" in lists[0], lists
    m.logout()


def test_status_select_examine():
    m = connect()
    ok(m.login("alice", "pw-alice"), "login")
    ok(m.create("INBOX.Stat"), "create")
    for flags in ["(\\Seen)", None, "(\\Deleted)"]:
        ok(m.append("INBOX.Stat", flags, None, b"Subject: s\r\n\r\nbody\r\n"), "append")
    data = ok(m.status("INBOX.Stat", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)"), "status")
    assert re.search(rb"MESSAGES 3 UIDNEXT 4 UIDVALIDITY \d+ UNSEEN 2 DELETED 1 SIZE 60", data[0]), data
    data = ok(m.select("INBOX.Stat", readonly=True), "examine")
    assert data == [b"3"]
    assert m.untagged_responses.get("READ-ONLY") is not None or b"READ-ONLY" in str(m.untagged_responses).encode()
    no(lambda: m.store("1", "+FLAGS", "\\Flagged"), "store in examined mailbox", "READ-ONLY")
    data = ok(m.select("INBOX.Stat"), "select")
    assert data == [b"3"]
    flags = m.untagged_responses.get("FLAGS")
    assert flags and b"\\Seen" in flags[0], flags
    m.logout()


def test_other_users_mailboxes_are_invisible():
    m = connect()
    ok(m.login("alice", "pw-alice"), "login")
    no(lambda: m.select("user.bob"), "select another user's INBOX", "NONEXISTENT")
    no(lambda: m.status("user.bob", "(MESSAGES)"), "status of another's", "NONEXISTENT")
    no(lambda: m.create("user.bob.Evil"), "create under another user", "NOPERM")
    no(lambda: m.append("user.bob", None, None, b"Subject: x\r\n\r\ny\r\n"), "append to another's", "TRYCREATE")
    names = ok(m.list("\"\"", "*"), "list")
    assert not any(b"user." in n for n in names), names
    m.logout()


def test_admin_sees_every_mailbox():
    pw = os.environ["ADMIN_PW"]
    m = connect()
    ok(m.login("admin", pw), "admin login")
    names = ok(m.list("\"\"", "user.%"), "list users")
    assert b'(\\HasChildren) "." user.alice' in names or b'(\\HasNoChildren) "." user.alice' in names, names
    # Cyrus's semantics: an administrator sees every mailbox (implicit `l a`) but reads one
    # only where its ACL grants `r`.
    no(lambda: m.select("user.bob"), "admin selects bob's INBOX without r", "NOPERM")
    m.logout()


def test_commands_in_the_wrong_state_are_bad():
    import socket
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(10)
    f = s.makefile("rb")
    f.readline()

    def cmd(line):
        tag = line.split()[0]
        s.sendall(line + b"\r\n")
        while True:
            reply = f.readline()
            if reply.startswith(tag + b" "):
                return reply

    assert b"BAD" in cmd(b"a1 SELECT INBOX") and b"not valid in this state" in cmd(b"a2 LIST \"\" *")
    assert cmd(b"a3 LOGIN alice pw-alice").startswith(b"a3 OK")
    assert b"not valid in this state" in cmd(b"a4 FETCH 1 FLAGS")
    assert b"not valid in this state" in cmd(b"a5 LOGIN alice pw-alice")
    assert b"BAD" in cmd(b"a6 FROBNICATE")
    assert cmd(b"a7 LOGOUT").startswith(b"a7 OK")


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
