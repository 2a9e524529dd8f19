"""Python's poplib logging in on a Murder frontend whose user ann has her INBOX on backend b1
(run by murder_proxy.rs). One mode per run (the first argument):

- session: USER/PASS as ann; the login answer is b1's; STAT, LIST, UIDL, RETR of every message
  (byte for byte against MESSAGES_DIR, leading dots included), DELE 2, NOOP, QUIT.
- in-use: a second session of ann while the first holds the maildrop hears b1's [IN-USE] and
  may still QUIT; the first then ends normally.
- backend-down: b1 is stopped: the login answers -ERR [SYS/TEMP] and the frontend closes.

Environment: POP3_PORT (the frontend's), MESSAGES_DIR for `session`."""
import os
import poplib
import sys

POP3_PORT = int(os.environ["POP3_PORT"])


def connect():
    return poplib.POP3("127.0.0.1", POP3_PORT, timeout=30)


def session():
    directory = os.environ["MESSAGES_DIR"]
    sent = [open(os.path.join(directory, name), "rb").read() for name in sorted(os.listdir(directory))]
    p = connect()
    assert p.user("ann").startswith(b"+OK"), "USER on the frontend"
    welcome = p.pass_("pw-ann")
    assert welcome.startswith(b"+OK Mailbox locked and ready: 3 messages"), welcome
    count, size = p.stat()
    assert count == len(sent) and size == sum(len(m) for m in sent), (count, size)
    resp, listing, _ = p.list()
    assert resp.startswith(b"+OK"), resp
    assert [int(line.split()[1]) for line in listing] == [len(m) for m in sent], listing
    resp, uids, _ = p.uidl()
    assert len(uids) == len(sent) and len({u.split()[1] for u in uids}) == len(sent), uids
    for i, message in enumerate(sent, start=1):
        resp, lines, octets = p.retr(i)
        assert resp.startswith(b"+OK"), resp
        assert b"\r\n".join(lines) + b"\r\n" == message, (i, lines)
    assert p.dele(2).startswith(b"+OK")
    assert p.noop().startswith(b"+OK")
    assert p.stat()[0] == len(sent) - 1, "a marked message is not counted"
    bye = p.quit()
    assert bye.startswith(b"+OK"), bye


def in_use():
    first = connect()
    first.user("ann")
    assert first.pass_("pw-ann").startswith(b"+OK")
    second = connect()
    second.user("ann")
    try:
        second.pass_("pw-ann")
        raise AssertionError("a second session got the maildrop")
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR [IN-USE]"), e
    assert second.quit().startswith(b"+OK"), "still in AUTHORIZATION, QUIT is answered"
    assert first.stat()[0] == 1
    assert first.quit().startswith(b"+OK")


def backend_down():
    p = connect()
    p.user("ann")
    try:
        p.pass_("pw-ann")
        raise AssertionError("logged in with the backend down")
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR [SYS/TEMP]"), e
    try:
        p.noop()
        raise AssertionError("the connection stayed open")
    except poplib.error_proto as e:
        # poplib's own words for a connection the server closed (a server's -ERR reads b'…').
        assert str(e) == "-ERR EOF", e
    except OSError:
        pass


if __name__ == "__main__":
    {"session": session, "in-use": in_use, "backend-down": backend_down}[sys.argv[1]]()
    print("ok", sys.argv[1])
