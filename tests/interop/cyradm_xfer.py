"""`cyradm`'s `xfer` through a Murder frontend: the administrator moves a user to another
backend as Cyrus administrators do (`xfer user.NAME SERVER`), then `lm` still lists the user's
mailboxes (the frontend's directory copy) and the user reads their mail over IMAP through the
frontend, from the new backend.

Environment (from the Rust test): IMAP_PORT (the frontend), TARGET (the backend's name),
ADMIN_PASSWORD, USER_PASSWORD."""
import imaplib
import os
import sys
import time

from cyradm_pty import Cyradm, listed


def main():
    port = int(os.environ["IMAP_PORT"])
    target = os.environ["TARGET"]
    c = Cyradm(port, "admin", os.environ["ADMIN_PASSWORD"])
    out = c.run(f"xfer user.ann {target}")
    print(f"xfer user.ann {target}: {out}")
    assert out == [], out
    # A backend that is unknown is refused with the server's reason; the session goes on.
    out = " ".join(c.run("xfer user.ann nosuchserver")).lower()
    print(f"xfer to an unknown server: {out}")
    assert "nosuchserver" in out, out
    mailboxes = listed(c.run("lm user.ann*"))
    assert "user.ann" in mailboxes and "user.ann.Sent" in mailboxes, mailboxes
    c.close()
    # ann's mail, read through the frontend (once its copy of the directory names the target).
    deadline = time.time() + 30
    while True:
        imap = imaplib.IMAP4("127.0.0.1", port)
        imap.login("ann", os.environ["USER_PASSWORD"])
        typ, data = imap.select("INBOX")
        if typ == "OK" or time.time() > deadline:
            break
        imap.logout()
        time.sleep(0.2)
    assert typ == "OK", data
    assert int(data[0]) == 3, data
    typ, data = imap.fetch("1:*", "(FLAGS)")
    assert typ == "OK" and len(data) == 3, data
    imap.logout()
    print("cyradm xfer ok")


if __name__ == "__main__":
    sys.exit(main())
