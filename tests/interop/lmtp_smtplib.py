"""LMTP (RFC 2033) through Python's smtplib.LMTP over TCP, the UNIX socket and STARTTLS; every
delivered message is then read back over IMAP with imaplib, byte for byte after the trace
fields the server adds (Return-Path, Received)."""
import imaplib
import os
import smtplib
import ssl

LMTP_PORT = int(os.environ["LMTP_PORT"])
LMTP_SOCKET = os.environ["LMTP_SOCKET"]
IMAP_PORT = int(os.environ["IMAP_PORT"])
CERT = os.environ["CERT"]


def message(subject, body="Hello.\r\n"):
    return (
        f"From: Sender <sender@example.org>\r\nTo: alice@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@example.org>\r\n"
        f"\r\n{body}"
    ).encode()


def inbox(user, password):
    m = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    assert m.login(user, password)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    return m


def fetch_by_subject(m, subject):
    typ, data = m.search(None, "SUBJECT", f'"{subject}"')
    assert typ == "OK", data
    nums = data[0].split()
    assert len(nums) == 1, (subject, nums)
    typ, data = m.fetch(nums[0], "(BODY.PEEK[])")
    assert typ == "OK", data
    return data[0][1]


def split_trace(raw):
    """The trace fields the server put in front, and the message as sent."""
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"Return-Path: <"), raw[:200]
    assert lines[1].startswith(b"Received: from "), raw[:200]
    i = 2
    while lines[i].startswith(b"\t"):
        i += 1
    return b"\r\n".join(lines[:i]), b"\r\n".join(lines[i:])


def test_lhlo_lists_the_extensions():
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        code, _ = s.ehlo("client.example.org")  # smtplib.LMTP sends LHLO
        assert code == 250
        for ext in ("pipelining", "enhancedstatuscodes", "8bitmime", "size", "starttls"):
            assert s.has_extn(ext), (ext, s.esmtp_features)
        assert int(s.esmtp_features["size"]) == 10 * 1024 * 1024


def test_delivery_over_tcp_reaches_the_inbox_intact():
    body = "Line one.\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"
    sent = message("tcp delivery", body)
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        refused = s.sendmail("bounce@example.org", ["alice@example.org"], sent)
        assert refused == {}, refused
    m = inbox("alice", "pw-alice")
    raw = fetch_by_subject(m, "tcp delivery")
    trace, rest = split_trace(raw)
    assert rest == sent, (rest, sent)
    assert trace.startswith(b"Return-Path: <bounce@example.org>\r\n"), trace
    assert b"with LMTP id " in trace and b"for <alice@example.org>" in trace, trace
    m.logout()


def test_recipient_case_and_plus_detail_go_to_the_inbox():
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        assert s.sendmail("", ["Bob+Lists@example.org"], message("detail mail")) == {}
    m = inbox("bob", "pw-bob")
    trace, _ = split_trace(fetch_by_subject(m, "detail mail"))
    assert trace.startswith(b"Return-Path: <>\r\n"), trace
    m.logout()


def test_unknown_recipients_are_refused_at_rcpt():
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        try:
            s.sendmail("a@example.org", ["nobody@example.org"], message("lost"))
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients["nobody@example.org"]
            assert code == 550 and text.startswith(b"5.1.1"), (code, text)
        else:
            raise AssertionError("an unknown recipient was accepted")


def refusal(rcpt):
    """The (code, text) the server refuses `rcpt` with at RCPT."""
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        try:
            s.sendmail("a@example.org", [rcpt], message("refused"))
        except smtplib.SMTPRecipientsRefused as e:
            return e.recipients[rcpt]
    raise AssertionError(f"{rcpt} was accepted")


def test_a_dotted_recipient_never_reaches_a_users_folder():
    m = inbox("bob", "pw-bob")
    assert m.create("INBOX.secret")[0] == "OK"
    m.logout()
    unknown = refusal("nobody@example.org")
    assert unknown[0] == 550 and unknown[1].startswith(b"5.1.1"), unknown
    # Refused in the same words whether the folder exists or not.
    assert refusal("bob.secret@example.org") == unknown
    assert refusal("bob.nosuch@example.org") == unknown
    m = inbox("bob", "pw-bob")
    typ, data = m.status("INBOX.secret", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES 0" in data[0], data
    m.logout()


def test_one_copy_per_mailbox_in_one_transaction():
    rcpts = ["alice", "ALICE@example.org", "alice+lists@example.org"]
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo()
        assert s.mail("a@example.org")[0] == 250
        for r in rcpts:
            assert s.rcpt(r)[0] == 250, r
        # smtplib reads the first of LMTP's per-recipient replies after DATA; the rest follow.
        replies = [s.data(message("once per transaction"))] + [s.getreply() for _ in rcpts[1:]]
        assert all(code == 250 for code, _ in replies), replies
    m = inbox("alice", "pw-alice")
    fetch_by_subject(m, "once per transaction")  # exactly one copy
    m.logout()


def test_size_limit_at_mail_and_in_data():
    big = message("too big", "x" * 100 + "\r\n") + b"y" * (10 * 1024 * 1024) + b"\r\n"
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo()
        code, text = s.mail("a@example.org", [f"SIZE={len(big)}"])
        assert code == 552 and text.startswith(b"5.3.4"), (code, text)
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        # No SIZE parameter this time: the limit is enforced on the data itself.
        s.ehlo()
        assert s.mail("a@example.org")[0] == 250
        assert s.rcpt("alice")[0] == 250
        code, text = s.data(big)
        assert code == 552 and text.startswith(b"5.3.4"), (code, text)
    m = inbox("alice", "pw-alice")
    typ, data = m.search(None, "SUBJECT", '"too big"')
    assert data[0] == b"", data
    m.logout()


def test_unix_socket_delivery_of_a_large_8bit_message():
    # Larger than the server keeps in memory while DATA arrives: it goes through a spool file.
    body = ("Grüße, ça va? " * 100 + "\r\n") * 1500
    sent = message("unix socket", body)
    assert len(sent) > 2 * 1024 * 1024
    with smtplib.LMTP(LMTP_SOCKET) as s:
        assert s.sendmail("a@example.org", ["alice"], sent, mail_options=["BODY=8BITMIME"]) == {}
    m = inbox("alice", "pw-alice")
    trace, rest = split_trace(fetch_by_subject(m, "unix socket"))
    assert rest == sent
    assert b"([unix socket])" in trace, trace
    m.logout()


def test_starttls_then_delivery():
    ctx = ssl.create_default_context(cafile=CERT)
    with smtplib.LMTP("localhost", LMTP_PORT) as s:
        s.ehlo()
        code, _ = s.starttls(context=ctx)
        assert code == 220
        s.ehlo()
        assert not s.has_extn("starttls"), s.esmtp_features
        assert s.sendmail("a@example.org", ["alice"], message("over tls")) == {}
    m = inbox("alice", "pw-alice")
    trace, _ = split_trace(fetch_by_subject(m, "over tls"))
    assert b"with LMTPS id " in trace, trace
    m.logout()


def test_helo_and_ehlo_are_refused():
    with smtplib.SMTP("127.0.0.1", LMTP_PORT) as s:
        code, _ = s.ehlo()
        assert code == 500, code
        code, _ = s.helo()
        assert code == 500, code


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
