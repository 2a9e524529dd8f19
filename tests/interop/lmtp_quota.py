"""Cyrus's quota rule for delivery, through Python's smtplib.LMTP: a root that is not yet over
its limit takes one more message whatever its size; once over, recipients get the temporary
`452 4.2.2` (at RCPT, so the MTA keeps the message and retries) while the other recipients of
the same transaction are delivered; raising the limit lets mail in again. With
`lmtp_strict_quota` (STRICT=1) a message that would pass the limit is refused after DATA, as
APPEND would be. Limits are set and usage checked over IMAP as the administrator.

Environment: IMAP_PORT, LMTP_PORT, STRICT ("0" or "1")."""
import imaplib
import os
import smtplib

IMAP_PORT = int(os.environ["IMAP_PORT"])
LMTP_PORT = int(os.environ["LMTP_PORT"])
STRICT = os.environ["STRICT"] == "1"


def message(n, kib):
    return (
        f"From: s@example.org\r\nTo: dana@example.org\r\nSubject: quota {n}\r\n"
        f"Message-ID: <quota-{n}-{STRICT}@example.org>\r\n\r\n" + "x" * (kib * 1024) + "\r\n"
    ).encode()


def imap(user):
    m = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    assert m.login(user, f"pw-{user}")[0] == "OK"
    return m


def quota_line(admin, root):
    typ, data = admin.getquota(root)
    assert typ == "OK", data
    return data[0].decode()


def deliver(rcpts, msg):
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        return s.sendmail("s@example.org", rcpts, msg)


def refused_with_452(rcpts, msg):
    try:
        deliver(rcpts, msg)
    except smtplib.SMTPRecipientsRefused as e:
        return e.recipients
    raise AssertionError("delivery was not refused")


def messages_in(user):
    m = imap(user)
    typ, data = m.status("INBOX", "(MESSAGES)")
    assert typ == "OK", data
    m.logout()
    return int(data[0].decode().rsplit("MESSAGES ", 1)[1].rstrip(")"))


def lenient(admin):
    assert admin.setquota("user.dana", "(STORAGE 2)")[0] == "OK"
    # Not over yet: a 5 KiB message goes in and takes the root past its 2 KiB.
    assert deliver(["dana@example.org"], message(1, 5)) == {}
    assert quota_line(admin, "user.dana") == "user.dana (STORAGE 5 2)", quota_line(admin, "user.dana")
    # Over now: even a tiny message waits, with a temporary failure at RCPT.
    refused = refused_with_452(["dana@example.org"], message(2, 0))
    code, text = refused["dana@example.org"]
    assert code == 452 and text.startswith(b"4.2.2"), refused
    # Another recipient of the same transaction is delivered.
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        refused = s.sendmail("s@example.org", ["dana@example.org", "erik@example.org"], message(3, 0))
    assert set(refused) == {"dana@example.org"} and refused["dana@example.org"][0] == 452, refused
    assert messages_in("erik") == 1
    assert messages_in("dana") == 1
    # Room again: the MTA's retry succeeds.
    assert admin.setquota("user.dana", "(STORAGE 100)")[0] == "OK"
    assert deliver(["dana@example.org"], message(4, 0)) == {}
    assert messages_in("dana") == 2


def strict(admin):
    assert admin.setquota("user.dana", "(STORAGE 8)")[0] == "OK"
    assert deliver(["dana@example.org"], message(1, 5)) == {}
    # 5 + 5 KiB would pass the 8 KiB limit: refused after DATA, temporarily.
    try:
        deliver(["dana@example.org"], message(2, 5))
        raise AssertionError("strict delivery over the limit was accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 452 and e.smtp_error.startswith(b"4.2.2"), e
    # A message that fits is still taken.
    assert deliver(["dana@example.org"], message(3, 1)) == {}
    assert messages_in("dana") == 2
    assert quota_line(admin, "user.dana").startswith("user.dana (STORAGE 6 8)"), quota_line(admin, "user.dana")


def main():
    admin = imap("admin")
    if STRICT:
        strict(admin)
    else:
        lenient(admin)
    admin.logout()
    print("lmtp quota ok")


if __name__ == "__main__":
    main()
