"""Python's poplib against the POP3 server: CAPA (RFC 2449) before and after STLS and on POP3S;
USER/PASS, STAT, LIST, UIDL, TOP, RETR, DELE, RSET, NOOP, QUIT (RFC 1939) on plain POP3, after
STLS (RFC 2595) and over POP3S (RFC 8314), with the server's self-signed certificate as the
trust anchor. RETR is compared byte for byte with IMAP's BODY.PEEK[] of the same message and
with what was delivered (MESSAGES_DIR holds the delivered messages, one file each, in delivery
order, including lines that start with "."); UIDL is UIDVALIDITY.UID; what QUIT expunged is
gone over IMAP, and what RETR read is \\Seen afterwards.

Environment: POP3_PORT, POP3S_PORT, IMAP_PORT, CERT, POP3_USER, POP3_PASSWORD, MESSAGES_DIR;
LOGIN_DELAY (seconds) when the server runs with popminpoll, which also makes a second login
within that time fail with [LOGIN-DELAY]; MODE=login-delay runs only that check."""
import imaplib
import os
import poplib
import re
import ssl

POP3_PORT = int(os.environ["POP3_PORT"])
POP3S_PORT = int(os.environ["POP3S_PORT"])
IMAP_PORT = int(os.environ["IMAP_PORT"])
CERT = os.environ["CERT"]
USER = os.environ["POP3_USER"]
PASSWORD = os.environ["POP3_PASSWORD"]
LOGIN_DELAY = os.environ.get("LOGIN_DELAY")


def delivered():
    d = os.environ["MESSAGES_DIR"]
    return [open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))]


def context():
    ctx = ssl.create_default_context(cafile=CERT)
    ctx.check_hostname = True
    return ctx


def imap_inbox():
    """(UIDVALIDITY, [(uid, size, flags, body)]) of the INBOX in sequence order, read-only."""
    m = imaplib.IMAP4("localhost", IMAP_PORT)
    m.login(USER, PASSWORD)
    typ, _ = m.select("INBOX", readonly=True)
    assert typ == "OK"
    validity = int(m.response("UIDVALIDITY")[1][0])
    typ, data = m.fetch("1:*", "(UID FLAGS)")
    assert typ == "OK", data
    flags = {}
    for line in data:
        if line is None:
            continue
        line = line.decode()
        flags[int(re.search(r"UID (\d+)", line).group(1))] = \
            re.search(r"FLAGS \(([^)]*)\)", line).group(1).split()
    typ, data = m.fetch("1:*", "(UID RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        size = int(re.search(r"RFC822\.SIZE (\d+)", meta).group(1))
        out.append((uid, size, flags[uid], item[1]))
    m.logout()
    return validity, out


def check_capa(caps, tls_offered):
    for name in ["TOP", "UIDL", "USER", "SASL", "RESP-CODES", "AUTH-RESP-CODE",
                 "PIPELINING", "EXPIRE", "IMPLEMENTATION"]:
        assert name in caps, (name, caps)
    assert "PLAIN" in caps["SASL"], caps
    assert caps["EXPIRE"] == ["NEVER"], caps
    if LOGIN_DELAY is not None:
        assert caps.get("LOGIN-DELAY") == [LOGIN_DELAY], caps
    assert ("STLS" in caps) == tls_offered, caps


def retr_bytes(lines):
    return b"".join(line + b"\r\n" for line in lines)


def check_maildrop(p, expect):
    """The whole maildrop against IMAP's view `expect` (list of (uid, size, flags, body))."""
    validity = expect[0]
    msgs = expect[1]
    count, octets = p.stat()
    assert count == len(msgs), (count, len(msgs))
    assert octets == sum(s for (_, s, _, _) in msgs), (octets, msgs)
    resp, listing, _ = p.list()
    assert resp.startswith(b"+OK"), resp
    assert listing == [b"%d %d" % (i + 1, s) for i, (_, s, _, _) in enumerate(msgs)], listing
    resp, uidls, _ = p.uidl()
    assert uidls == [b"%d %d.%d" % (i + 1, validity, u) for i, (u, _, _, _) in enumerate(msgs)], uidls
    for i, (uid, size, _, body) in enumerate(msgs):
        n = i + 1
        assert p.uidl(n) == b"+OK %d %d.%d" % (n, validity, uid), p.uidl(n)
        assert p.list(n).split()[:3] == [b"+OK", b"%d" % n, b"%d" % size], p.list(n)
        resp, lines, octets = p.retr(n)
        assert resp.startswith(b"+OK"), resp
        got = retr_bytes(lines)
        assert got == body, (n, got[:200], body[:200])
        header, _, text = body.partition(b"\r\n\r\n")
        resp, lines, _ = p.top(n, 0)
        assert retr_bytes(lines) == header + b"\r\n\r\n", (n, lines)
        resp, lines, _ = p.top(n, 3)
        first3 = b"".join(l + b"\r\n" for l in text.split(b"\r\n")[:3])
        assert retr_bytes(lines) == header + b"\r\n\r\n" + first3, (n, lines)


def test_capa_plain_then_stls():
    p = poplib.POP3("localhost", POP3_PORT)
    check_capa(p.capa(), tls_offered=True)
    assert p.stls(context()).startswith(b"+OK")
    check_capa(p.capa(), tls_offered=False)
    p.user(USER)
    p.pass_(PASSWORD)
    p.quit()


def test_pop3s_capa_has_no_stls():
    p = poplib.POP3_SSL("localhost", POP3S_PORT, context=context())
    check_capa(p.capa(), tls_offered=False)
    p.quit()


def test_wrong_password_is_refused_with_auth_code():
    p = poplib.POP3("localhost", POP3_PORT)
    p.user(USER)
    try:
        p.pass_("not the password")
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR [AUTH]"), e
    else:
        raise AssertionError("a wrong password was accepted")
    p.quit()


def test_every_command_on_plain_pop3():
    sent = delivered()
    validity, msgs = imap_inbox()
    assert len(msgs) == len(sent), (len(msgs), len(sent))
    for (_, _, _, body), original in zip(msgs, sent):
        assert body.endswith(original), (body[:300], original[:300])
    p = poplib.POP3("localhost", POP3_PORT)
    p.user(USER)
    p.pass_(PASSWORD)
    check_maildrop(p, (validity, msgs))
    assert p.noop().startswith(b"+OK")
    # DELE marks; marked messages vanish from the listing and can no longer be read; RSET
    # unmarks them; the message numbers never change within the session.
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(2).startswith(b"+OK")
    assert p.stat() == (len(msgs) - 2, sum(s for (_, s, _, _) in msgs[2:]))
    resp, listing, _ = p.list()
    assert [l.split()[0] for l in listing] == [b"%d" % n for n in range(3, len(msgs) + 1)], listing
    for bad in (lambda: p.retr(1), lambda: p.dele(2), lambda: p.top(1, 0), lambda: p.uidl(2)):
        try:
            bad()
        except poplib.error_proto as e:
            assert str(e).startswith("b'-ERR"), e
        else:
            raise AssertionError("a marked message answered")
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == len(msgs)
    resp, lines, _ = p.retr(len(msgs))
    assert retr_bytes(lines) == msgs[-1][3]
    assert p.dele(1).startswith(b"+OK")
    assert p.dele(3).startswith(b"+OK")
    assert p.quit().startswith(b"+OK")
    # QUIT expunged exactly the two marked messages; every message RETR read is \Seen.
    validity2, after = imap_inbox()
    assert validity2 == validity
    assert [u for (u, _, _, _) in after] == [u for (u, _, _, _) in msgs if u not in (msgs[0][0], msgs[2][0])], after
    for (uid, _, flags, _) in after:
        assert "\\Seen" in flags, (uid, flags)


def test_stls_session():
    validity, msgs = imap_inbox()
    p = poplib.POP3("localhost", POP3_PORT)
    p.stls(context())
    p.user(USER)
    p.pass_(PASSWORD)
    check_maildrop(p, (validity, msgs))
    p.quit()


def expect_in_use(p):
    p.user(USER)
    try:
        p.pass_(PASSWORD)
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR [IN-USE]"), e
    else:
        raise AssertionError("a second POP3 session of the same user was let in")
    p.quit()


def test_one_session_per_user_across_pop3_and_pop3s():
    held = poplib.POP3("localhost", POP3_PORT)
    held.user(USER)
    held.pass_(PASSWORD)
    expect_in_use(poplib.POP3_SSL("localhost", POP3S_PORT, context=context()))
    held.quit()
    held = poplib.POP3_SSL("localhost", POP3S_PORT, context=context())
    held.user(USER)
    held.pass_(PASSWORD)
    second = poplib.POP3("localhost", POP3_PORT)
    second.stls(context=context())
    expect_in_use(second)
    held.quit()


def test_pop3s_session():
    validity, msgs = imap_inbox()
    p = poplib.POP3_SSL("localhost", POP3S_PORT, context=context())
    p.user(USER)
    p.pass_(PASSWORD)
    check_maildrop(p, (validity, msgs))
    # A dropped connection expunges nothing, even with marked messages.
    p.dele(1)
    p.sock.close()
    assert [u for (u, _, _, _) in imap_inbox()[1]] == [u for (u, _, _, _) in msgs]


def login_delay_only():
    p = poplib.POP3("localhost", POP3_PORT)
    check_capa(p.capa(), tls_offered=True)
    p.user(USER)
    p.pass_(PASSWORD)
    p.quit()
    p = poplib.POP3("localhost", POP3_PORT)
    p.user(USER)
    try:
        p.pass_(PASSWORD)
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR [LOGIN-DELAY]"), e
    else:
        raise AssertionError("a second login within LOGIN-DELAY was accepted")


if __name__ == "__main__":
    if os.environ.get("MODE") == "login-delay":
        login_delay_only()
        print("ok login_delay_only")
    else:
        # In this order: the session tests rely on the maildrop the previous one left.
        for fn in [test_capa_plain_then_stls, test_pop3s_capa_has_no_stls,
                   test_wrong_password_is_refused_with_auth_code,
                   test_every_command_on_plain_pop3, test_stls_session,
                   test_one_session_per_user_across_pop3_and_pop3s, test_pop3s_session]:
            fn()
            print("ok", fn.__name__)
