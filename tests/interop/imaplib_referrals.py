"""Python's imaplib with a Murder frontend's MAILBOX-REFERRALS (RFC 2193) and subscriptions
(crates/imap-server/tests/proxy_frontend.rs): a client that sent RLIST gets a referral for a
mailbox on a backend and follows its IMAP URL (RFC 5092) to the backend; a client that did not
is proxied. Subscriptions made through one frontend are seen through the other and at the
backend."""
import imaplib
import os
import re

FRONTEND = int(os.environ["FRONTEND_PORT"])
SECOND_FRONTEND = int(os.environ["SECOND_FRONTEND_PORT"])
BACKEND = int(os.environ["BACKEND_PORT"])

# imaplib knows no RFC 2193 commands: both are valid where LIST is.
imaplib.Commands["RLIST"] = ("AUTH", "SELECTED")
imaplib.Commands["RLSUB"] = ("AUTH", "SELECTED")

URL = re.compile(rb"\[REFERRAL imap://([^;@/]+);AUTH=\*@([^:/]+):(\d+)/([^\]]+)\]")


def ok(result, what):
    typ, data = result
    assert typ == "OK", f"{what}: {typ} {data}"
    return data


def login(port=FRONTEND, user="ann"):
    m = imaplib.IMAP4("127.0.0.1", port)
    ok(m.login(user, user + "-pw"), "login")
    return m


def test_referral_followed_to_the_backend():
    m = login()
    # Offered after login (imaplib keeps the list it read before).
    assert "MAILBOX-REFERRALS" not in m.capabilities, m.capabilities
    caps = ok(m.capability(), "capability")[0].split()
    assert b"MAILBOX-REFERRALS" in caps, caps
    # Before RLIST the client is proxied.
    ok(m.select("INBOX.Work"), "select through the frontend")
    ok(m.close(), "close")
    typ, data = m._simple_command("RLIST", '""', '"*"')
    assert typ == "OK", data
    typ, listed = m._untagged_response(typ, data, "LIST")
    names = b"\n".join(x for x in listed if x)
    for name in (b"INBOX", b"INBOX.Work", b"shared.team", b"shared.other"):
        assert name in names, names
    typ, data = m.select("INBOX.Work")
    assert typ == "NO", (typ, data)
    found = URL.search(data[0])
    assert found, data
    user, host, port, mailbox = found.groups()
    assert (user, host, int(port), mailbox) == (b"ann", b"127.0.0.1", BACKEND, b"INBOX.Work"), found.groups()
    m.logout()

    # The URL leads to the mailbox.
    there = imaplib.IMAP4(host.decode(), int(port))
    ok(there.login(user.decode(), "ann-pw"), "login at the referred server")
    ok(there.select(mailbox.decode()), "select at the referred server")
    there.logout()

    # A client that never asked is proxied.
    plain = login()
    ok(plain.select("INBOX.Work"), "select without referrals")
    plain.logout()


def test_subscriptions_through_both_frontends():
    first = login()
    ok(first.subscribe("INBOX.Work"), "subscribe")
    second = login(SECOND_FRONTEND)
    subscribed = b"\n".join(ok(second.lsub(), "lsub through the other frontend"))
    assert b"INBOX.Work" in subscribed, subscribed
    backend = login(BACKEND)
    subscribed = b"\n".join(ok(backend.lsub(), "lsub at the backend"))
    assert b"INBOX.Work" in subscribed, subscribed
    ok(second.unsubscribe("INBOX.Work"), "unsubscribe through the other frontend")
    subscribed = b"\n".join(x for x in ok(first.lsub(), "lsub again") if x)
    assert b"INBOX.Work" not in subscribed, subscribed
    for m in (first, second, backend):
        m.logout()


if __name__ == "__main__":
    test_referral_followed_to_the_backend()
    test_subscriptions_through_both_frontends()
    print("ok")
