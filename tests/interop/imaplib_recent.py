"""\\Recent through Python's imaplib: IMAP4.recent() after SELECT and after a new arrival (it
sends NOOP when no RECENT response is waiting), and a second session that finds them claimed."""
import imaplib
import os

PORT = int(os.environ["IMAP_PORT"])
MESSAGE = b"From: a@example.org\r\nSubject: recent\r\n\r\nbody\r\n"


def login():
    m = imaplib.IMAP4("127.0.0.1", PORT)
    typ, data = m.login("alice", "pw-alice")
    assert typ == "OK", data
    return m


delivery = login()
for _ in range(2):
    typ, data = delivery.append("INBOX", None, None, MESSAGE)
    assert typ == "OK", data

first = login()
typ, data = first.select("INBOX")
assert typ == "OK" and data == [b"2"], data
typ, data = first.recent()
assert typ == "OK" and data == [b"2"], f"after SELECT: {data}"

typ, data = delivery.append("INBOX", None, None, MESSAGE)
assert typ == "OK", data
typ, data = first.recent()
assert typ == "OK" and data[-1] == b"3", f"after a new arrival: {data}"
typ, data = first.search(None, "RECENT")
assert typ == "OK" and data == [b"1 2 3"], data

second = login()
typ, data = second.select("INBOX")
assert typ == "OK" and data == [b"3"], data
typ, data = second.recent()
assert typ == "OK" and data == [b"0"], f"claimed by the first session: {data}"

for m in (first, second, delivery):
    m.logout()
print("ok")
