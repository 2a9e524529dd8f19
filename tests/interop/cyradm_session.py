"""The real `cyradm` (Debian's cyrus-admin) administering Darius, driven on a pseudo-terminal as
an administrator types: create mailboxes for users and shared ones on two partitions, list,
rename with a partition change (also a whole user), set, list and delete ACLs (with a negative
entry), delete mailboxes and a user, set and list quotas (`sq`, `lq`, `lqr`) and see them
enforced, refuse `info` and `xfer`; then the result is checked over IMAP as the users
themselves.

Environment (from the Rust test): IMAP_PORT, ADMIN_PASSWORD, SECOND_PARTITION (a directory the
server knows as partition `second`)."""
import imaplib
import json
import os
import sys

from cyradm_pty import Cyradm, imap_login, listed

PORT = int(os.environ["IMAP_PORT"])
ADMIN_PASSWORD = os.environ["ADMIN_PASSWORD"]
SECOND = os.environ["SECOND_PARTITION"]




def files_on_second(name):
    """Whether mailbox `name` (internal) has message files on the second partition: its
    directory there is found by the name in its `cyrus.header` (cyradm cannot show partitions)."""
    for root, _, files in os.walk(SECOND):
        if "cyrus.header" not in files:
            continue
        with open(os.path.join(root, "cyrus.header")) as f:
            if json.load(f).get("name") != name:
                continue
        if any(f.endswith(".") and f[:-1].isdigit() for f in files):
            return True
    return False


def login_fails(user):
    m = imaplib.IMAP4("127.0.0.1", PORT)
    try:
        m.login(user, f"pw-{user}")
    except imaplib.IMAP4.error:
        return True
    finally:
        m.shutdown()
    return False


def main():
    c = Cyradm(PORT, "admin", ADMIN_PASSWORD)

    def quiet(command):
        out = c.run(command)
        assert out == [], f"{command}: {out}"

    quiet("cm user.gina")
    exists = c.run("cm user.dave")
    assert exists and "exist" in " ".join(exists).lower(), exists
    quiet("cm user.dave.lists second")
    quiet("cm shared.board")
    names = listed(c.run("lm"))
    for want in ["user.gina", "user.dave", "user.dave.lists", "shared.board"]:
        assert want in names, (want, names)

    # Mail on the second partition, seen by the user as INBOX.lists.
    dave = imap_login(PORT, "dave")
    message = b"Subject: list mail\r\n\r\nbody\r\n"
    typ, data = dave.append("INBOX.lists", None, None, message)
    assert typ == "OK", data
    assert files_on_second("user.dave.lists"), f"no message file under {SECOND}"
    dave.logout()

    quiet("renm user.dave.lists user.dave.archive")
    names = listed(c.run("lm user.dave*"))
    assert "user.dave.archive" in names and "user.dave.lists" not in names, names
    dave = imap_login(PORT, "dave")
    typ, data = dave.status("INBOX.archive", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES 1" in data[0], data
    dave.logout()

    # A rename that also moves the mailbox to another partition (Cyrus's third argument).
    quiet("renm user.dave.archive user.dave.old default")
    assert not files_on_second("user.dave.old"), f"message files left under {SECOND}"
    dave = imap_login(PORT, "dave")
    typ, data = dave.status("INBOX.old", "(MESSAGES)")
    assert typ == "OK" and b"MESSAGES 1" in data[0], data
    typ, data = dave.select("INBOX.old")
    assert typ == "OK", data
    typ, data = dave.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and message in data[0][1], data
    dave.logout()

    # ACLs: dave may read shared.board, everyone else may see it but `-dave s` keeps no
    # \Seen for him; cyradm's lam shows what was set.
    quiet("sam shared.board anyone lr")
    quiet("sam shared.board dave lrs")
    quiet("sam shared.board -dave s")
    acl = c.run("lam shared.board")
    assert "anyone lr" in acl and "dave lrs" in acl and "-dave s" in acl, acl
    dave = imap_login(PORT, "dave")
    typ, data = dave.list('""', "shared*")
    assert typ == "OK" and any(b"shared.board" in d for d in data), data
    typ, data = dave.myrights("shared.board")
    assert typ == "OK" and data[0].split()[-1] == b"lr", data
    dave.logout()
    quiet("dam shared.board dave")
    acl = c.run("lam shared.board")
    assert "dave lrs" not in acl and "-dave s" in acl, acl

    # A user whose whole hierarchy lives on the second partition (a new child stays with its
    # parent's partition, as in Cyrus), then deleted with everything below INBOX. `darius user
    # add` gave erin an INBOX on the default partition; renaming a mailbox to its own name with
    # a partition moves it there (Cyrus's way of moving a user between partitions).
    quiet("renm user.erin user.erin second")
    quiet("cm user.erin.drafts")
    erin = imap_login(PORT, "erin")
    for box in ["INBOX", "INBOX.drafts"]:
        typ, data = erin.append(box, None, None, message)
        assert typ == "OK", (box, data)
    typ, data = erin.subscribe("INBOX.drafts")
    assert typ == "OK", data
    erin.logout()
    assert files_on_second("user.erin") and files_on_second("user.erin.drafts"), SECOND
    quiet("dm user.erin")
    names = listed(c.run("lm user.erin*"))
    assert names == [], names
    assert not files_on_second("user.erin") and not files_on_second("user.erin.drafts")
    # Erin's account still logs in (passwords are not mailboxes) but has nothing left: no
    # INBOX, no subscriptions.
    erin = imap_login(PORT, "erin")
    typ, data = erin.select("INBOX")
    assert typ == "NO" and b"NONEXISTENT" in data[0], data
    typ, data = erin.lsub('""', "*")
    assert typ == "OK" and data == [None], data
    typ, data = erin.list('""', "*")
    assert typ == "OK" and not any(b"INBOX" in d or b"erin" in d for d in data if d), data
    erin.logout()

    # Quotas: set with `sq`, listed with `lq` and `lqr` (RFC 9208 SETQUOTA, GETQUOTA,
    # GETQUOTAROOT), enforced on dave's APPEND. cyradm sends one resource per `sq` well
    # (`sq ROOT 1000` is STORAGE); SETQUOTA replaces every limit of the root.
    c.run("sq user.dave 1000")
    assert c.run("lq user.dave") == ["STORAGE 0/1000 (0%)"], c.run("lq user.dave")
    c.run("sq user.dave MESSAGE 2")
    assert c.run("lq user.dave") == ["MESSAGE 1/2 (50%)"], c.run("lq user.dave")
    roots = c.run("lqr user.dave.old")
    assert roots == ["user.dave MESSAGE 1/2 (50%)"], roots
    dave = imap_login(PORT, "dave")
    assert dave.append("INBOX", None, None, message)[0] == "OK"
    typ, data = dave.append("INBOX", None, None, message)
    assert typ == "NO" and b"OVERQUOTA" in data[0], data
    dave.logout()
    assert c.run("lq user.dave") == ["MESSAGE 2/2 (100%)"], c.run("lq user.dave")
    # `sq ROOT none` removes the limits (the root stays, with none), and mail fits again.
    c.run("sq user.dave none")
    dave = imap_login(PORT, "dave")
    assert dave.append("INBOX", None, None, message)[0] == "OK"
    dave.logout()
    # No root there: GETQUOTA answers NO, and cyradm shows no quota.
    assert c.run("lq user.nobody") == [], c.run("lq user.nobody")
    # `info` is refused with an error cyradm prints, and `xfer` (a Murder transfer) with the
    # server's reason: this server is in no Murder. The session goes on.
    for command, words in [
        ("info user.dave", ["error", "bad", "not support", "unknown"]),
        ("xfer user.dave otherserver", ["murder"]),
    ]:
        out = " ".join(c.run(command)).lower()
        print(f"{command}: {out}")
        assert any(w in out for w in words), (command, out)
    assert "user.dave" in listed(c.run("lm user.dave")), "session still usable"
    quiet("dm shared.board")
    assert "shared.board" not in listed(c.run("lm")), "deleted"
    c.close()
    print("cyradm session ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
