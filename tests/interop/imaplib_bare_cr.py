"""A message with bare CRs through Python's imaplib: APPEND is accepted, the message is stored
as sent (RFC822.SIZE = octets sent) and FETCH gives it back byte-identical, as Cyrus and
Dovecot do.

imaplib's own IMAP4.append() rewrites every bare CR and bare LF to CRLF before sending (its
MapCRLF), so a message with bare CRs reaches a server only from clients that send literals as
they are (mbsync, imapsync, migration scripts); this script sends it that way, through imaplib's
literal machinery, and checks append() too."""
import imaplib
import os
import re

PORT = int(os.environ["IMAP_PORT"])

MESSAGE = (b"From: old@example.org\r\nSubject: a bare\rCR in the subject\r\n\r\n"
           b"text from an old mailer\rwith a bare CR\r\n\rline starting with CR\r\n"
           b"last line ends with CR\r")


def ok(result, what):
    typ, data = result
    assert typ == "OK", f"{what}: {typ} {data}"
    return data


def append_as_is(m, mailbox, message):
    """APPEND with the literal exactly as given (imaplib.append would rewrite bare CRs)."""
    m.literal = message
    return m._simple_command("APPEND", mailbox)


def fetched(data):
    """(RFC822.SIZE, BODY[] octets) from imaplib's FETCH data."""
    for item in data:
        if isinstance(item, tuple):
            size = re.search(rb"RFC822\.SIZE (\d+)", item[0])
            return int(size.group(1)), item[1]
    raise AssertionError(f"no literal in {data}")


def test_bare_cr_message_is_stored_and_fetched_byte_identical():
    m = imaplib.IMAP4("127.0.0.1", PORT)
    ok(m.login("alice", "pw-alice"), "login")
    typ, data = append_as_is(m, "INBOX", MESSAGE)
    assert typ == "OK" and b"APPENDUID" in data[0], (typ, data)
    ok(m.select("INBOX"), "select")
    size, body = fetched(ok(m.fetch("1", "(RFC822.SIZE BODY.PEEK[])"), "fetch"))
    assert size == len(MESSAGE), (size, len(MESSAGE))
    assert body == MESSAGE, body
    data = ok(m.search(None, "BODY", '"with a bare CR"'), "search")
    assert data == [b"1"], data
    m.logout()


def test_imaplib_append_sends_crlf_and_that_is_kept():
    m = imaplib.IMAP4("127.0.0.1", PORT)
    ok(m.login("alice", "pw-alice"), "login")
    m.create("INBOX.Lib")
    ok(m.append("INBOX.Lib", None, None, MESSAGE), "append")
    ok(m.select("INBOX.Lib"), "select")
    size, body = fetched(ok(m.fetch("1", "(RFC822.SIZE BODY.PEEK[])"), "fetch"))
    expected = imaplib.MapCRLF.sub(b"\r\n", MESSAGE)
    assert body == expected and size == len(expected), body
    m.logout()


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
