"""SASL EXTERNAL over IMAPS (implicit TLS) with a client certificate, through imaplib and ssl:
the certificate's identity is logged in; asking to act as someone else is refused; a
certificate from a CA the server does not trust is refused at the handshake."""
import imaplib
import os
import ssl

IMAPS_PORT = int(os.environ["IMAPS_PORT"])


def context(cert):
    # The server's certificate is self-signed; this test is about the client's.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert)
    return ctx


def test_external_logs_in_as_the_certificate_names():
    m = imaplib.IMAP4_SSL("127.0.0.1", IMAPS_PORT, ssl_context=context(os.environ["CLIENT_CERT"]))
    assert "AUTH=EXTERNAL" in m.capabilities, m.capabilities
    typ, _ = m.authenticate("EXTERNAL", lambda _: b"")
    assert typ == "OK"
    typ, data = m.getacl("INBOX")
    assert typ == "OK" and os.environ["EXPECT_USER"].encode() in data[0], data
    m.logout()


def test_external_refuses_another_authorization_identity():
    m = imaplib.IMAP4_SSL("127.0.0.1", IMAPS_PORT, ssl_context=context(os.environ["CLIENT_CERT"]))
    try:
        m.authenticate("EXTERNAL", lambda _: b"bob")
        raise AssertionError("acting as bob was allowed")
    except imaplib.IMAP4.error as e:
        assert "AUTHORIZATIONFAILED" in str(e), e
    m.logout()


def test_a_stranger_certificate_is_refused():
    try:
        m = imaplib.IMAP4_SSL(
            "127.0.0.1", IMAPS_PORT, ssl_context=context(os.environ["STRANGER_CERT"])
        )
        m.noop()
        raise AssertionError("a certificate from an unknown CA was accepted")
    except (ssl.SSLError, OSError, imaplib.IMAP4.abort, EOFError):
        pass


if __name__ == "__main__":
    test_external_logs_in_as_the_certificate_names()
    test_external_refuses_another_authorization_identity()
    test_a_stranger_certificate_is_refused()
    print("ok")
