"""The real `cyradm` (Debian's cyrus-admin) with virtual domains (`virtdomains: userid`): first
as the domain administrator `postmaster@one.example`, who creates a user and a folder, sets and
lists a quota and an ACL, and lists mailboxes, all in one.example's own names (no `@`), and whose
every attempt on two.example (create, set quota, delete) and on one.example's domain quota root
is refused; then as the global administrator `admin`, who names mailboxes `NAME@DOMAIN` and
reaches both domains. Each effect is checked from the other side over IMAP: as the global
administrator, as the new user once she has a password, and as a user the ACL names.

Environment (from the Rust test): IMAP_PORT, DARIUS (the binary), DARIUS_CONF (the server's
imapd.conf). Every account's password is `pw-NAME`."""
import os
import subprocess
import sys

from cyradm_pty import Cyradm, imap_login, listed

PORT = int(os.environ["IMAP_PORT"])
DARIUS = os.environ["DARIUS"]
CONF = os.environ["DARIUS_CONF"]




def imap_names(m, pattern="*"):
    """The mailbox names a LIST answers (atoms or quoted strings at the end of each line)."""
    typ, data = m.list('""', pattern)
    assert typ == "OK", data
    return [d.decode().rsplit(" ", 1)[1].strip('"') for d in data if d]


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def domain_admin_session(admin):
    """postmaster@one.example at work; `admin` is an IMAP session of the global administrator
    that checks each effect."""
    pm = Cyradm(PORT, "postmaster@one.example", "pw-postmaster@one.example")
    pm.quiet("cm user.carol")
    pm.quiet("cm user.carol.Sent")
    # `sq ROOT RESOURCE LIMIT` (one pair; `sq ROOT LIMIT` would mean STORAGE too, and prints).
    pm.quiet("sq user.carol STORAGE 1000")
    assert pm.run("lq user.carol") == ["STORAGE 0/1000 (0%)"], pm.run("lq user.carol")
    assert pm.run("lqr user.carol.Sent") == ["user.carol STORAGE 0/1000 (0%)"]

    # The domain's own names, as its users see other users' folders: no `@`, no `!`, and
    # one.example's alice only (two.example has one too).
    names = listed(pm.run("lm"))
    for want in ["user.alice", "user.bob", "user.carol", "user.carol.Sent"]:
        assert names.count(want) == 1, (want, names)
    assert all("@" not in n and "!" not in n for n in names), names
    assert listed(pm.run("lm *@two.example")) == [], "nothing of two.example"

    # An unqualified identifier is of the mailbox's domain; GETACL shows it qualified.
    pm.quiet("sam user.carol bob lrs")
    acl = pm.run("lam user.carol")
    assert "bob@one.example lrs" in acl, acl
    assert all("two.example" not in a for a in acl), acl

    # two.example is out of reach, whether the mailbox is there or not: create, set a quota,
    # delete; and so is one.example's whole-domain quota root.
    pm.refused("cm user.dave@two.example", "createmailbox")
    assert "user.dave@two.example" not in imap_names(admin), "not created"
    ok(admin.create("user.dave@two.example"))
    pm.refused("sq user.dave@two.example STORAGE 1", "setquota")
    pm.refused("dm user.dave@two.example", "deletemailbox")
    pm.refused("sq @one.example STORAGE 1", "setquota")
    assert "user.dave@two.example" in imap_names(admin), "not deleted"
    typ, data = admin.getquota("user.dave@two.example")
    assert typ == "NO", ("no quota root made", data)
    typ, data = admin.getquota("@one.example")
    assert typ == "NO", ("no domain quota root made", data)
    # A domain administrator's own-domain delete works.
    pm.quiet("cm user.carol.Trash")
    pm.quiet("dm user.carol.Trash")
    pm.close()


def check_domain_admin_effects(admin):
    """What postmaster@one.example did, seen by the global administrator and by the users."""
    names = imap_names(admin)
    for want in ["user.carol@one.example", "user.carol.Sent@one.example"]:
        assert want in names, (want, names)
    assert "user.carol.Trash@one.example" not in names, names
    data = ok(admin.getquota("user.carol@one.example"))
    assert data == [b"user.carol@one.example (STORAGE 0 1000)"], data
    data = ok(admin.getacl("user.carol@one.example"))
    assert b" bob@one.example lrs" in data[0], data

    # carol gets a password now: the mailbox cyradm made is her INBOX, with its quota.
    subprocess.run(
        [DARIUS, "-C", CONF, "user", "add", "carol@one.example"],
        input=b"pw-carol@one.example\n",
        check=True,
        capture_output=True,
    )
    carol = imap_login(PORT, "carol@one.example")
    assert sorted(imap_names(carol)) == ["INBOX", "INBOX.Sent"], imap_names(carol)
    typ, data = carol.select("INBOX")
    assert typ == "OK", data
    data = ok(carol.getquotaroot("INBOX"))
    # Her quota root is user.carol, which she calls INBOX.
    assert data == [[b"INBOX INBOX"], [b"INBOX (STORAGE 0 1000)"]], data
    carol.logout()

    # The ACL's `bob` is one.example's bob; two.example's alice sees nothing of carol.
    bob = imap_login(PORT, "bob@one.example")
    assert "user.carol" in imap_names(bob), imap_names(bob)
    data = ok(bob.myrights("user.carol"))
    assert data[0].split()[-1] == b"lrs", data
    bob.logout()
    alice2 = imap_login(PORT, "alice@two.example")
    assert imap_names(alice2) == ["INBOX"], imap_names(alice2)
    alice2.logout()


def global_admin_session():
    """`admin` names every domain's mailboxes as `NAME@DOMAIN`."""
    c = Cyradm(PORT, "admin", "pw-admin")
    c.quiet("cm user.erin@two.example")
    names = listed(c.run("lm"))
    for want in [
        "user.alice@one.example",
        "user.carol@one.example",
        "user.carol.Sent@one.example",
        "user.alice@two.example",
        "user.dave@two.example",
        "user.erin@two.example",
    ]:
        assert want in names, (want, names)
    assert "user.carol" not in names and "user.alice" not in names, names
    c.quiet("sq user.erin@two.example STORAGE 500")
    assert c.run("lq user.erin@two.example") == ["STORAGE 0/500 (0%)"]
    # What the domain administrator could not do.
    c.quiet("sq @one.example STORAGE 100000")
    assert c.run("lq @one.example") == ["STORAGE 0/100000 (0%)"], c.run("lq @one.example")
    c.quiet("dm user.dave@two.example")
    assert sorted(listed(c.run("lm *@two.example"))) == [
        "user.alice@two.example",
        "user.erin@two.example",
        "user@two.example",
    ]
    acl = c.run("lam user.carol@one.example")
    assert "bob@one.example lrs" in acl, acl
    c.close()
    admin = imap_login(PORT, "admin")
    data = ok(admin.getquota("user.erin@two.example"))
    assert data == [b"user.erin@two.example (STORAGE 0 500)"], data
    admin.logout()


def main():
    admin = imap_login(PORT, "admin")
    domain_admin_session(admin)
    check_domain_admin_effects(admin)
    admin.logout()
    global_admin_session()
    print("cyradm domains session ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
