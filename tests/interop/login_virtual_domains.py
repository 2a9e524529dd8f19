"""Logins with virtual domains (virtdomains: userid, defaultdomain: example.org) from Python's
imaplib and poplib: IMAP LOGIN and AUTHENTICATE PLAIN accept the users `alice` (of the default
domain) and `bob@one.example` under every spelling of their canonical names, and refuse the
names of nobody (`bob` is not `bob@one.example`, `bob@two.example` does not exist, a malformed
domain is no domain); the global admin `admin` may act as bob through PLAIN's authorization
identity; POP3 USER/PASS opens bob's maildrop and refuses `bob`.

MODE=on (the server runs with virtdomains: on and servername: mail.example.org): a login
typed without a domain takes the domain of the name the system's resolver gives the server's
address 127.0.0.1, whatever that name is here; a typed domain wins.

Environment: IMAP_PORT, POP3_PORT, MODE. Each attempt uses a fresh connection, so a
session's failure limit never decides an answer."""
import imaplib
import os
import poplib
import socket

IMAP_PORT = int(os.environ["IMAP_PORT"])
POP3_PORT = int(os.environ["POP3_PORT"])

ACCEPTED = [
    ("alice", "pw-alice"),
    ("alice@EXAMPLE.org", "pw-alice"),
    ("alice@example.org", "pw-alice"),
    ("bob@one.example", "pw-bob"),
    ("bob@One.Example", "pw-bob"),
]
REFUSED = [
    ("bob", "pw-bob"),
    ("bob@two.example", "pw-bob"),
    ("bob@one_example", "pw-bob"),
    ("alice@one.example", "pw-alice"),
    ("bob@one.example", "pw-alice"),
]


def imap_login(user, password):
    """Whether IMAP LOGIN succeeds."""
    c = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    try:
        c.login(user, password)
    except imaplib.IMAP4.error:
        return False
    finally:
        c.shutdown()
    return True


def imap_plain(user, password, authzid=""):
    """Whether AUTHENTICATE PLAIN succeeds (RFC 4616: authzid NUL authcid NUL password)."""
    c = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    message = ("%s\0%s\0%s" % (authzid, user, password)).encode()
    try:
        c.authenticate("PLAIN", lambda _challenge: message)
    except imaplib.IMAP4.error:
        return False
    finally:
        c.shutdown()
    return True


def pop3_login(user, password):
    """Whether POP3 USER/PASS succeeds (and STAT works after it)."""
    p = poplib.POP3("127.0.0.1", POP3_PORT)
    try:
        p.user(user)
        p.pass_(password)
        p.stat()
    except poplib.error_proto:
        return False
    finally:
        p.quit()
    return True


def server_address_domain():
    """The domain the server gives 127.0.0.1's logins without one: that of its name (the name
    without its first label), unless that is the default domain or has no dot."""
    try:
        name = socket.gethostbyaddr("127.0.0.1")[0].rstrip(".").lower()
    except OSError:
        return None
    if "." not in name:
        return None
    domain = name.split(".", 1)[1]
    return None if domain in ("example.org", "mail.example.org") else domain


def mode_on():
    domain = server_address_domain()
    print("127.0.0.1's logins are in", domain or "the default domain")
    for login in (imap_login, imap_plain):
        assert login("alice@example.org", "pw-alice"), "%s alice@example.org" % login.__name__
        assert login("bob@One.Example", "pw-bob"), "%s bob@One.Example" % login.__name__
        # alice is a user of the default domain: found bare only if the address has no domain.
        assert login("alice", "pw-alice") == (domain is None), "%s alice" % login.__name__
        assert login("bob", "pw-bob") == (domain == "one.example"), "%s bob" % login.__name__
    assert pop3_login("bob@one.example", "pw-bob"), "POP3 bob@one.example refused"
    assert pop3_login("alice", "pw-alice") == (domain is None), "POP3 alice"


def main():
    if os.environ.get("MODE") == "on":
        mode_on()
        print("ok")
        return
    for user, password in ACCEPTED:
        assert imap_login(user, password), "LOGIN %s refused" % user
        assert imap_plain(user, password), "AUTHENTICATE PLAIN %s refused" % user
    for user, password in REFUSED:
        assert not imap_login(user, password), "LOGIN %s accepted" % user
        assert not imap_plain(user, password), "AUTHENTICATE PLAIN %s accepted" % user
    assert imap_plain("admin", "pw-admin", authzid="bob@One.Example"), "admin as bob refused"
    assert not imap_plain("alice", "pw-alice", authzid="bob@one.example"), "alice as bob"
    assert pop3_login("bob@one.example", "pw-bob"), "POP3 bob@one.example refused"
    assert pop3_login("bob@ONE.example", "pw-bob"), "POP3 bob@ONE.example refused"
    assert not pop3_login("bob", "pw-bob"), "POP3 bob accepted"
    assert not pop3_login("bob@two.example", "pw-bob"), "POP3 bob@two.example accepted"
    print("ok")


if __name__ == "__main__":
    main()
