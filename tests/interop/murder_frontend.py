"""A Murder through its frontend with Python's real clients: smtplib.LMTP delivers to users of
two backends in one transaction, imaplib reads, writes, copies and shares mail held on either
backend, poplib retrieves a backend's maildrop; then the backends are read directly to check
that everything landed where the directory says."""
import imaplib
import os
import poplib
import smtplib

FRONT_IMAP = int(os.environ["FRONT_IMAP"])
FRONT_LMTP = int(os.environ["FRONT_LMTP"])
FRONT_POP3 = int(os.environ["FRONT_POP3"])
B1_IMAP = int(os.environ["B1_IMAP"])
B2_IMAP = int(os.environ["B2_IMAP"])

MESSAGE = (
    b"From: carol@example.org\r\nTo: ann@example.org, bob@example.org\r\n"
    b"Subject: through the frontend\r\nMessage-ID: <front-1@example.org>\r\n\r\n"
    b"One delivery, two backends.\r\n"
)


def ok(result, what):
    typ, data = result
    assert typ == "OK", f"{what}: {typ} {data}"
    return data


def login(port, user):
    c = imaplib.IMAP4("127.0.0.1", port)
    ok(c.login(user, f"pw-{user}"), f"login {user}")
    return c


# LMTP: one transaction, recipients on both backends and one nobody has.
lmtp = smtplib.LMTP("127.0.0.1", FRONT_LMTP)
lmtp.ehlo("mta.example.org")
# smtplib reports the refused recipients (and reads one of LMTP's per-recipient replies
# after DATA; the messages' arrival is checked on the backends below).
refused = lmtp.sendmail("carol@example.org", ["ann", "bob", "nobody"], MESSAGE)
lmtp.quit()
assert "ann" not in refused and "bob" not in refused, refused
assert refused["nobody"][0] == 550, refused

# IMAP through the frontend, as ann (INBOX on b1; shared.team on b2).
ann = login(FRONT_IMAP, "ann")
names = [line.decode() for line in ok(ann.list(), "LIST")]
assert any(n.endswith(" INBOX") for n in names), names
assert any(n.endswith(" shared.team") for n in names), names
count = int(ok(ann.select("INBOX"), "SELECT")[0])
assert count == 1, count
body = ok(ann.uid("FETCH", "1", "(BODY.PEEK[])"), "FETCH")[0][1]
assert body.endswith(b"One delivery, two backends.\r\n"), body
assert b"Subject: through the frontend" in body, body
ok(ann.append("INBOX", "(\\Flagged)", None, b"Subject: appended\r\n\r\nvia the frontend\r\n"), "APPEND")
ok(ann.noop(), "NOOP")
flagged = ok(ann.uid("SEARCH", "FLAGGED"), "SEARCH")[0].split()
assert len(flagged) == 1, flagged
ok(ann.create("INBOX.Work"), "CREATE INBOX.Work")
copied = ok(ann.uid("COPY", "1:*", "INBOX.Work"), "COPY")
typ, code = ann.response("COPYUID")
assert code and code[0], f"COPYUID missing: {copied}"
ok(ann.uid("STORE", flagged[0], "+FLAGS", "(\\Deleted)"), "STORE")
ok(ann.expunge(), "EXPUNGE")
# Another backend's shared mailbox, in the same session.
ok(ann.select("shared.team"), "SELECT shared.team")
ok(ann.append("shared.team", None, None, b"Subject: to the team\r\n\r\nhello b2\r\n"), "APPEND shared")
status = ok(ann.status("INBOX.Work", "(MESSAGES)"), "STATUS")[0].decode()
assert "MESSAGES 2" in status, status
ann.logout()

# POP3 through the frontend, as bob (INBOX on b2).
pop = poplib.POP3("127.0.0.1", FRONT_POP3)
pop.user("bob")
pop.pass_("pw-bob")
messages, _ = pop.stat()
assert messages == 1, messages
lines = pop.retr(1)[1]
assert b"Subject: through the frontend" in lines, lines
pop.quit()

# The backends themselves, as the owners (and the administrator granting itself a read of the
# shared mailbox).
b1 = login(B1_IMAP, "ann")
assert int(ok(b1.select("INBOX"), "b1 SELECT")[0]) == 1
assert int(ok(b1.select("INBOX.Work"), "b1 SELECT Work")[0]) == 2
b1.logout()
b2 = login(B2_IMAP, "bob")
assert int(ok(b2.select("INBOX"), "b2 SELECT")[0]) == 1
b2.logout()
b2 = login(B2_IMAP, "admin")
ok(b2.setacl("shared.team", "admin", "lr"), "b2 SETACL")
assert int(ok(b2.select("shared.team"), "b2 SELECT shared")[0]) == 1
b2.logout()
print("murder frontend: ok")
