"""IMAPS (implicit TLS, RFC 8314) and STARTTLS (RFC 9051 §6.2.1) through imaplib and ssl, with
the server's self-signed certificate as the trust anchor; the capability list changes after
STARTTLS and after login; plaintext pipelined behind STARTTLS is not executed."""
import imaplib
import os
import socket
import ssl

PORT = int(os.environ["IMAP_PORT"])
IMAPS_PORT = int(os.environ["IMAPS_PORT"])
CERT = os.environ["CERT"]


def context():
    ctx = ssl.create_default_context(cafile=CERT)
    ctx.check_hostname = True
    return ctx


def test_imaps_login_and_fetch():
    m = imaplib.IMAP4_SSL("localhost", IMAPS_PORT, ssl_context=context())
    assert "STARTTLS" not in m.capabilities, m.capabilities
    assert m.login("alice", "pw-alice")[0] == "OK"
    assert m.append("INBOX", None, None, b"Subject: over tls\r\n\r\nsecret body\r\n")[0] == "OK"
    typ, data = m.select("INBOX")
    assert typ == "OK"
    typ, data = m.fetch(data[0], "(BODY.PEEK[TEXT])")
    assert data[0][1] == b"secret body\r\n", data
    m.logout()


def test_starttls_changes_capabilities():
    m = imaplib.IMAP4("localhost", PORT)
    assert "STARTTLS" in m.capabilities
    typ, _ = m.starttls(ssl_context=context())
    assert typ == "OK"
    caps = m.capability()[1][0].split()
    assert b"STARTTLS" not in caps, caps
    assert b"AUTH=PLAIN" in caps, caps
    assert m.login("alice", "pw-alice")[0] == "OK"
    m.logout()


def test_plaintext_pipelined_after_starttls_is_discarded():
    s = socket.create_connection(("localhost", PORT))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a1 STARTTLS\r\na2 LOGIN alice pw-alice\r\n")
    line = f.readline()
    assert line.startswith(b"a1 OK"), line
    tls = context().wrap_socket(s, server_hostname="localhost")
    tf = tls.makefile("rb")
    tls.sendall(b"a3 NOOP\r\n")
    reply = tf.readline()
    assert reply.startswith(b"a3 OK"), f"a2 must not have run before the handshake: {reply}"
    tls.sendall(b"a4 LOGOUT\r\n")


def test_tls_garbage_handshake_is_closed_cleanly():
    s = socket.create_connection(("localhost", IMAPS_PORT))
    s.settimeout(10)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" * 10)
    try:
        data = s.recv(100)
    except (ConnectionResetError, socket.timeout):
        data = b""
    assert not data.startswith(b"* OK"), data
    # The server still serves others.
    m = imaplib.IMAP4_SSL("localhost", IMAPS_PORT, ssl_context=context())
    m.logout()


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
