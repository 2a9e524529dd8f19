"""Python's smtplib.LMTP delivering through a Murder frontend (run by murder_relay.rs).

The frontend's directory names ann, bob and cat as backend b1's; b1 holds ann and bob only;
dan's INBOX is the frontend's own. One mode per run (the first argument):

- transaction: one DATA transaction to ann, nobody (unknown to the directory), cat (unknown to
  the backend), bob+detail; then a BDAT transaction of a message past 1 MiB with leading dots
  to ann and bob. Each RCPT gets the backend's reply; one reply per accepted recipient after
  the data. The messages are written to OUT_DIR (small.eml, large.eml) for the test to find.
- over-quota: ann is over quota on b1: her RCPT gets b1's 452 4.2.2, bob's is delivered.
- backend-down: b1 is stopped: ann and bob get 451 4.4.1, dan (local) is delivered.

Environment: LMTP_PORT (the frontend's), OUT_DIR for `transaction`."""
import os
import smtplib
import sys

LMTP_PORT = int(os.environ["LMTP_PORT"])


def message(subject, body="Hello.\r\n"):
    return (
        f"From: Sender <sender@example.org>\r\nTo: list@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@example.org>\r\n"
        f"\r\n{body}"
    ).encode()


def rcpts(s, expected):
    """RCPT each address; the reply must have the expected code and enhanced code."""
    accepted = []
    for rcpt, (code, enhanced) in expected:
        got = s.rcpt(rcpt)
        assert got[0] == code and got[1].startswith(enhanced), (rcpt, got)
        if code == 250:
            accepted.append(rcpt)
    return accepted


def data_replies(s, sent, accepted):
    """DATA, then one reply per accepted recipient: smtplib reads the first."""
    return [s.data(sent)] + [s.getreply() for _ in accepted[1:]]


def transaction():
    out = os.environ["OUT_DIR"]
    small = message("through the frontend", "One transaction.\r\n.leading dot\r\n")
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo("mx.example.org")
        assert s.mail("sender@example.org", ["BODY=8BITMIME", f"SIZE={len(small)}"])[0] == 250
        accepted = rcpts(
            s,
            [
                ("ann@example.org", (250, b"2.1.5")),
                ("nobody@example.org", (550, b"5.1.1")),
                ("cat@example.org", (550, b"5.1.1")),
                ("bob+lists@example.org", (250, b"2.1.5")),
            ],
        )
        replies = data_replies(s, small, accepted)
        assert [r[0] for r in replies] == [250, 250], replies
        assert all(r[1].startswith(b"2.1.5") for r in replies), replies
    lines = [f".{i:07d} " + "x" * 70 + "\r\n" for i in range(16000)]
    large = message("large one", "".join(lines))
    chunks = [large[:700000], large[700000:]]
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo("mx.example.org")
        assert s.has_extn("chunking"), s.esmtp_features
        assert s.mail("sender@example.org")[0] == 250
        assert rcpts(s, [("ann", (250, b"2.1.5")), ("bob", (250, b"2.1.5"))])
        # smtplib has no BDAT: the chunks go through its socket.
        s.send(f"BDAT {len(chunks[0])}\r\n".encode() + chunks[0])
        code, text = s.getreply()
        assert code == 250, (code, text)
        s.send(f"BDAT {len(chunks[1])} LAST\r\n".encode() + chunks[1])
        for rcpt in ("ann", "bob"):
            code, text = s.getreply()
            assert code == 250 and text.startswith(b"2.1.5"), (rcpt, code, text)
    with open(os.path.join(out, "small.eml"), "wb") as f:
        f.write(small)
    with open(os.path.join(out, "large.eml"), "wb") as f:
        f.write(large)


def over_quota():
    sent = message("over quota")
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo("mx.example.org")
        assert s.mail("sender@example.org")[0] == 250
        got = s.rcpt("ann")
        assert got == (452, b"4.2.2 Mailbox is over quota, try again later"), got
        accepted = rcpts(s, [("bob", (250, b"2.1.5"))])
        replies = data_replies(s, sent, accepted)
        assert [r[0] for r in replies] == [250], replies


def backend_down():
    sent = message("backend down")
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo("mx.example.org")
        assert s.mail("sender@example.org")[0] == 250
        accepted = rcpts(
            s,
            [
                ("ann", (451, b"4.4.1")),
                ("dan", (250, b"2.1.5")),
                ("bob", (451, b"4.4.1")),
                ("nobody", (550, b"5.1.1")),
            ],
        )
        replies = data_replies(s, sent, accepted)
        assert [r[0] for r in replies] == [250], replies


if __name__ == "__main__":
    {"transaction": transaction, "over-quota": over_quota, "backend-down": backend_down}[
        sys.argv[1]
    ]()
    print("ok", sys.argv[1])
