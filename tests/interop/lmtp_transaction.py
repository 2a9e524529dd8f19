"""One LMTP transaction through Python's smtplib.LMTP whose recipients each get their own
answer (RFC 2033 §4.2): delivered, unknown user (550 5.1.1), over quota (452 4.2.2), a shared
mailbox without the p right (550 5.7.1), `+detail` with and without p, and a shared mailbox
through `postuser`; then a BDAT (RFC 3030) transaction sent raw through smtplib's socket, and
AUTH PLAIN after STARTTLS deciding the `+detail` folder. Every delivered copy is read back
over IMAP with imaplib, byte for byte after the trace fields.

Environment: IMAP_PORT, LMTP_PORT, CERT; users admin, alice, bob, dana (password pw-USER);
the server runs with `postuser: bb` and `lmtp_auth: 1`."""
import base64
import imaplib
import os
import smtplib
import ssl

IMAP_PORT = int(os.environ["IMAP_PORT"])
LMTP_PORT = int(os.environ["LMTP_PORT"])
CERT = os.environ["CERT"]


def imap(user):
    m = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    assert m.login(user, f"pw-{user}")[0] == "OK"
    return m


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def message(subject, body="Hello.\r\n"):
    return (
        f"From: Sender <sender@example.org>\r\nTo: list@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@example.org>\r\n"
        f"\r\n{body}"
    ).encode()


def without_trace(raw):
    """The message as sent: what follows Return-Path and Received (with its continuations)."""
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"Return-Path: <"), raw[:200]
    assert lines[1].startswith(b"Received: from "), raw[:200]
    i = 2
    while lines[i].startswith((b"\t", b" ")):
        i += 1
    return b"\r\n".join(lines[i:])


def bodies(user, mailbox):
    """Every message in `mailbox` as `user` sees it, trace fields removed, in UID order."""
    m = imap(user)
    ok(m.select(f'"{mailbox}"', readonly=True))
    nums = ok(m.search(None, "ALL"))[0].split()
    out = []
    for n in nums:
        data = ok(m.fetch(n, "(BODY.PEEK[])"))
        out.append(without_trace(data[0][1]))
    m.logout()
    return out


def setup():
    admin = imap("admin")
    for cmd in ("shared", "shared.board", "shared.quiet"):
        ok(admin.create(cmd))
    ok(admin.setacl("shared.board", "anyone", "+p"))
    ok(admin.setquota("user.dana", "(STORAGE 1)"))
    admin.logout()
    bob = imap("bob")
    ok(bob.create("INBOX.lists"))
    ok(bob.setacl("INBOX.lists", "anyone", "+p"))
    ok(bob.create("INBOX.private"))
    bob.logout()
    # Takes dana past her 1 KiB (Cyrus's rule lets one message through); she is over now.
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        assert s.sendmail("s@example.org", ["dana"], message("fill", "x" * 2048 + "\r\n")) == {}


def test_one_transaction_answers_each_recipient():
    rcpts = {
        "alice@example.org": (250, b"2.1.5"),
        "nobody@example.org": (550, b"5.1.1"),
        "dana@example.org": (452, b"4.2.2"),
        "bb+shared.quiet@example.org": (550, b"5.7.1"),
        "bob+lists@example.org": (250, b"2.1.5"),
        "bob+private@example.org": (250, b"2.1.5"),
        "bb+shared.board@example.org": (250, b"2.1.5"),
    }
    sent = message("mixed transaction", "One transaction.\r\n.leading dot\r\n")
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo("client.example.org")
        assert s.mail("s@example.org")[0] == 250
        accepted = []
        for rcpt, (code, enhanced) in rcpts.items():
            got = s.rcpt(rcpt)
            assert got[0] == code and got[1].startswith(enhanced), (rcpt, got)
            if code == 250:
                accepted.append(rcpt)
        # One reply per accepted recipient after the data: smtplib reads the first.
        replies = [s.data(sent)] + [s.getreply() for _ in accepted[1:]]
        assert [r[0] for r in replies] == [250] * len(accepted), replies
        assert all(r[1].startswith(b"2.1.5") for r in replies), replies
    assert bodies("alice", "INBOX") == [sent]
    assert bodies("bob", "INBOX.lists") == [sent], "p for anyone: the folder"
    assert bodies("bob", "INBOX") == [sent], "no p on INBOX.private: the INBOX"
    assert bodies("bob", "INBOX.private") == []
    assert bodies("admin", "shared.board") == [sent]
    assert bodies("admin", "shared.quiet") == []
    assert len(bodies("dana", "INBOX")) == 1, "only the message that filled the quota"


def read_reply(s):
    code, text = s.getreply()
    return code, text


def test_bdat_through_the_smtplib_socket():
    chunks = [b"Subject: bdat\r\nMessage-ID: <bdat@example.org>\r\n\r\n", b".first\r\n", b"last\r\n"]
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo("client.example.org")
        assert s.has_extn("chunking") and s.has_extn("binarymime"), s.esmtp_features
        assert s.mail("s@example.org", ["BODY=8BITMIME"])[0] == 250
        assert s.rcpt("alice")[0] == 250
        assert s.rcpt("bob+lists")[0] == 250
        # smtplib has no BDAT: the chunks go through its socket, pipelined in one send.
        wire = b""
        for i, chunk in enumerate(chunks):
            last = " LAST" if i == len(chunks) - 1 else ""
            wire += f"BDAT {len(chunk)}{last}\r\n".encode() + chunk
        s.send(wire)
        for chunk in chunks[:-1]:
            code, text = read_reply(s)
            assert code == 250 and text.startswith(b"2.0.0"), (code, text)
        for rcpt in ("alice", "bob+lists"):
            code, text = read_reply(s)
            assert code == 250 and text.startswith(b"2.1.5"), (rcpt, code, text)
    whole = b"".join(chunks)
    assert bodies("alice", "INBOX")[-1] == whole
    assert bodies("bob", "INBOX.lists")[-1] == whole


def test_auth_after_starttls_delivers_as_the_user():
    ctx = ssl.create_default_context(cafile=CERT)
    with smtplib.LMTP("localhost", LMTP_PORT) as s:
        s.ehlo()
        assert not s.has_extn("auth"), "no AUTH on plain TCP"
        assert s.starttls(context=ctx)[0] == 220
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"].split(), s.esmtp_features
        code, text = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0bob\0wrong").decode())
        assert code == 535 and text.startswith(b"5.7.8"), (code, text)
        s.user, s.password = "bob", "pw-bob"
        code, text = s.auth("PLAIN", s.auth_plain)
        assert code == 235 and text.startswith(b"2.7.0"), (code, text)
        sent = message("authenticated")
        assert s.sendmail("s@example.org", ["bob+private"], sent) == {}
    assert bodies("bob", "INBOX.private") == [sent], "bob holds p on his own folder"


if __name__ == "__main__":
    setup()
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
