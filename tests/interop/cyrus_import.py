"""A private Debian Cyrus 3.x filled over IMAP, LMTP and ManageSieve, and the IMAP view of
every user recorded, for `darius import cyrus` (crates/darius/tests/import_cyrus.rs).

Modes:
  cyrus_import.py cyrus DIR      start a Cyrus master on DIR (free loopback ports, owned by the
                                 user cyrus), fill it, write DIR/cyrus-view.json, stop it; the
                                 configuration is DIR/imapd.conf (LEGACY_DIRS=1 in the
                                 environment: with mailbox_legacy_dirs); Cyrus's
                                 `ctl_mboxlist -d` dump is left in DIR/mailboxes.json
  cyrus_import.py view PORT OUT  record the same view from a server on 127.0.0.1:PORT
                                 (SIEVE_PORT in the environment: the Sieve scripts too)

Users alice, bob and carol (password pw-NAME) and the administrator cyrus (pw-cyrus). The view
is JSON: per user LIST, LSUB, STATUS, UID FETCH (FLAGS INTERNALDATE RFC822), GETACL and
GETQUOTAROOT of every mailbox it lists, and its Sieve scripts with the active one marked.
Normalisations, all documented here: LIST attributes other than \\Noselect, \\HasChildren /
\\HasNoChildren and the RFC 6154 special-use ones are dropped (attribute case is folded), and
the special-use ones in LSUB too (Cyrus adds them there, RFC 6154 asks for them in LIST
only); flags are compared as sets; \\Recent is dropped (a new session on another server)."""
import base64
import imaplib
import json
import os
import pwd
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time

USERS = ["alice", "bob", "carol"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port}")


def start_cyrus(d):
    ports = {k: free_port() for k in ("imap", "lmtp", "sieve")}
    for sub in ("run", "spool", "sieve", "lib"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    conf = os.path.join(d, "imapd.conf")
    with open(conf, "w") as f:
        f.write(
            f"""configdirectory: {d}/lib
defaultpartition: default
partition-default: {d}/spool
servername: localhost
altnamespace: no
unixhierarchysep: yes
hashimapspool: true
admins: cyrus
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {d}/sasldb2
sasl_mech_list: PLAIN LOGIN
lmtp_downcase_rcpt: yes
lmtpsocket: {d}/run/lmtp
idlesocket: {d}/run/idle
notifysocket: {d}/run/notify
sievedir: {d}/sieve
sieveusehomedir: false
umask: 077
syslog_prefix: cyrus-import-test
delete_mode: immediate
expunge_mode: immediate
"""
        )
        if os.environ.get("LEGACY_DIRS") == "1":
            # Mailboxes, seen/subscription files and Sieve directories under their names
            # (Cyrus 2.4's layout, kept by 3.x stores upgraded from it).
            f.write("mailbox_legacy_dirs: yes\n")
    with open(os.path.join(d, "cyrus.conf"), "w") as f:
        f.write(
            f"""START {{
  recover cmd="ctl_cyrusdb -C {conf} -r"
}}
SERVICES {{
  imap cmd="imapd -C {conf}" listen="127.0.0.1:{ports['imap']}" prefork=1
  lmtp cmd="lmtpd -C {conf} -a" listen="127.0.0.1:{ports['lmtp']}" prefork=0
  sieve cmd="timsieved -C {conf}" listen="127.0.0.1:{ports['sieve']}" prefork=0
}}
EVENTS {{
}}
"""
        )
    for u in ["cyrus"] + USERS:
        subprocess.run(
            ["saslpasswd2", "-p", "-f", f"{d}/sasldb2", "-u", "localhost", "-c", u],
            input=f"pw-{u}".encode(),
            check=True,
        )
    cyrus = pwd.getpwnam("cyrus")
    for root, dirs, files in os.walk(d):
        for n in [root] + [os.path.join(root, x) for x in files]:
            os.chown(n, cyrus.pw_uid, cyrus.pw_gid)
    os.chmod(d, 0o755)
    master = subprocess.Popen(
        ["/usr/lib/cyrus/bin/master", "-C", conf, "-M", f"{d}/cyrus.conf",
         "-p", f"{d}/run/master.pid", "-D"],
        stdout=open(f"{d}/run/master.out", "w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_port(ports["imap"])
    return master, ports


def login(port, user):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(user, f"pw-{user}")
    return m


def ok(typ_data, what):
    typ, data = typ_data
    if typ != "OK":
        raise SystemExit(f"{what}: {typ} {data}")
    return data


MSG = (
    "From: {frm}@example.org\r\nTo: {to}@example.org\r\nSubject: {subj}\r\n"
    "Message-ID: <{subj}.{frm}@example.org>\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\n\r\n"
    "Body of {subj}.\r\nSecond line.\r\n"
)


def append(m, box, subj, flags="", date="02-Jan-2023 10:00:00 +0000", frm="alice"):
    body = MSG.format(frm=frm, to="x", subj=subj).encode()
    ok(m.append(box, f"({flags})" if flags else None, f'"{date}"', body), f"APPEND {box}")


def fill(ports):
    p = ports["imap"]
    adm = login(p, "cyrus")
    for u in USERS:
        ok(adm.create(f"user/{u}"), f"create {u}")
    ok(adm.create("shared"), "create shared")
    ok(adm.create("shared/board"), "create shared/board")
    ok(adm.setacl("shared", "alice", "lrswipkxtea"), "setacl")
    ok(adm.setacl("shared", "bob", "lrsw"), "setacl")
    ok(adm.setacl("shared/board", "alice", "lrswipkxtea"), "setacl")
    ok(adm.setacl("shared/board", "bob", "lrs"), "setacl")
    ok(adm._simple_command("SETQUOTA", "user/alice", "(STORAGE 5000 MESSAGE 100)"), "setquota")
    ok(adm._simple_command("SETQUOTA", "user/bob", "(STORAGE 300)"), "setquota")
    adm.logout()

    a = login(p, "alice")
    ok(a._simple_command("CREATE", "INBOX/Sent", "(USE (\\Sent))"), "create special-use")
    for box in ["INBOX/Work", "INBOX/Work/2024", "INBOX/Drafts", "INBOX/v1.2"]:
        ok(a.create(box), f"create {box}")
    append(a, "INBOX", "hello", "\\Seen")
    append(a, "INBOX", "flagged", "\\Flagged \\Answered $Forwarded", "15-Mar-2021 08:30:05 +0200")
    append(a, "INBOX", "gone", "")
    append(a, "INBOX", "keyword", "Project-X \\Seen $Label1", "31-Dec-2019 23:59:59 -0500")
    append(a, "INBOX", "draft", "\\Draft NonJunk")
    a.select("INBOX")
    ok(a.uid("STORE", "3", "+FLAGS", "(\\Deleted)"), "store")
    ok(a.expunge(), "expunge")
    append(a, "INBOX/Sent", "sent one", "\\Seen")
    append(a, "INBOX/Sent", "sent two", "\\Seen \\Answered")
    append(a, "INBOX/Work/2024", "report", "Project-X")
    append(a, "INBOX/v1.2", "dotted", "\\Flagged")
    append(a, "shared/board", "notice one", "", frm="alice")
    append(a, "shared/board", "notice two", "\\Flagged", frm="alice")
    append(a, "shared/board", "notice three", "", frm="alice")
    ok(a.subscribe("INBOX/Sent"), "subscribe")
    ok(a.subscribe("INBOX/Work/2024"), "subscribe")
    ok(a.subscribe("shared/board"), "subscribe")
    a.logout()

    with smtplib.LMTP("127.0.0.1", ports["lmtp"]) as l:
        for rcpt, subj in [("alice", "delivered"), ("bob", "for bob"), ("bob", "for bob 2")]:
            l.sendmail("sender@example.org", [f"{rcpt}@localhost"],
                       MSG.format(frm="sender", to=rcpt, subj=subj).encode())

    b = login(p, "bob")
    ok(b.create("INBOX/Archive"), "create")
    append(b, "INBOX/Archive", "old", "\\Seen", "01-Feb-2010 12:00:00 +0000", frm="bob")
    ok(b.select("shared/board"), "select board")
    ok(b.uid("STORE", "1,3", "+FLAGS", "(\\Seen)"), "bob seen")
    ok(b.select("INBOX"), "select")
    ok(b.uid("STORE", "2", "+FLAGS", "(\\Seen $Important)"), "store")
    ok(b.subscribe("shared/board"), "subscribe")
    b.logout()

    c = login(p, "carol")
    ok(c.create("INBOX/Filed"), "create")
    c.logout()

    script = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"carol-{os.getpid()}.sieve")
    with open(script, "w") as f:
        f.write('require ["fileinto"];\nif header :contains "subject" "file me" {\n'
                '  fileinto "INBOX.Filed";\n}\n')
    other = script + ".2"
    with open(other, "w") as f:
        f.write("keep;\n")
    for cmd in [f"put {script} filing", f"put {other} spare", "activate filing"]:
        r = subprocess.run(
            ["sieveshell", "-u", "carol", "-a", "carol", "-p", "pw-carol", "-e", cmd,
             f"127.0.0.1:{ports['sieve']}"],
            capture_output=True, text=True, timeout=60,
        )
        if r.returncode != 0:
            raise SystemExit(f"sieveshell {cmd}: {r.stdout} {r.stderr}")
    os.unlink(script)
    os.unlink(other)
    with smtplib.LMTP("127.0.0.1", ports["lmtp"]) as l:
        l.sendmail("sender@example.org", ["carol@localhost"],
                   MSG.format(frm="sender", to="carol", subj="file me").encode())


LIST_RE = re.compile(rb'\((.*?)\) (?:"(.)"|NIL) (.*)$')
SPECIAL_USE = {"\\sent", "\\drafts", "\\trash", "\\junk", "\\archive"}
KEEP_ATTRS = {"\\noselect", "\\haschildren", "\\hasnochildren"} | SPECIAL_USE


def unquote(b):
    s = b.decode()
    if s.startswith('"'):
        return s[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return s


def listing(m, cmd):
    typ, data = m._simple_command(cmd, '""', "*")
    data = m._untagged_response(typ, data, cmd)[1]
    out = []
    for line in data:
        if line is None:
            continue
        if isinstance(line, tuple):
            line = line[0] + line[1]
        mt = LIST_RE.match(line)
        keep = KEEP_ATTRS if cmd == "LIST" else KEEP_ATTRS - SPECIAL_USE
        attrs = sorted(a for a in mt.group(1).decode().lower().split() if a in keep)
        out.append([unquote(mt.group(3)), attrs])
    return sorted(out)


def quoted(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def untagged(m, cmd, name, *args):
    typ, data = m._simple_command(cmd, quoted(name), *args)
    if typ != "OK":
        return "NO"
    got = []
    for key in m.untagged_responses:
        if key in ("QUOTA", "QUOTAROOT", "ACL"):
            got.append([key, [d.decode() if isinstance(d, bytes) else d
                              for d in m.untagged_responses[key]]])
    m.untagged_responses.clear()
    return sorted(got)


def normalise_acl(entries):
    # Each ACL line: name id rights id rights ...; rights compared as sets.
    out = []
    for e in entries:
        parts = e[1]
        for p in parts:
            toks = p.split()
            pairs = sorted((toks[i], "".join(sorted(toks[i + 1]))) for i in range(1, len(toks) - 1, 2))
            out.append([toks[0], pairs])
    return out


def messages(m, name):
    typ, _ = m.select(quoted(name), readonly=True)
    if typ != "OK":
        return "NO"
    typ, data = m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE RFC822)")
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        uid = int(re.search(r"UID (\d+)", head).group(1))
        flags = sorted(f for f in re.search(r"FLAGS \(([^)]*)\)", head).group(1).split()
                       if f.lower() != "\\recent")
        date = re.search(r'INTERNALDATE "([^"]*)"', head).group(1)
        out.append({"uid": uid, "flags": flags, "internaldate": date,
                    "rfc822": item[1].decode("latin-1")})
    m.close()
    return sorted(out, key=lambda x: x["uid"])


def sieve_scripts(port, user):
    s = socket.create_connection(("127.0.0.1", port), 10)
    f = s.makefile("rb")

    def answer():
        lines = []
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("managesieve closed")
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if m:
                line = line + f.read(int(m.group(1))) + f.readline()
            lines.append(line)
            if re.match(rb"(OK|NO|BYE)", line):
                return lines

    answer()
    auth = base64.b64encode(f"\0{user}\0pw-{user}".encode()).decode()
    s.sendall(f'AUTHENTICATE "PLAIN" "{auth}"\r\n'.encode())
    if not answer()[-1].startswith(b"OK"):
        raise SystemExit("managesieve login failed")
    s.sendall(b"LISTSCRIPTS\r\n")
    out = []
    for line in answer()[:-1]:
        m = re.match(rb'"([^"]*)"( ACTIVE)?', line)
        if not m:
            continue
        name = m.group(1).decode()
        s.sendall(f'GETSCRIPT "{name}"\r\n'.encode())
        body = answer()
        # The literal, without the CRLF that ends the response line after it.
        text = body[0].split(b"\r\n", 1)[1][:-2] if len(body) > 1 else b""
        out.append([name, bool(m.group(2)), text.decode("latin-1")])
    s.sendall(b"LOGOUT\r\n")
    s.close()
    return sorted(out)


def view(port, sieve_port):
    result = {}
    for u in USERS:
        m = login(port, u)
        boxes = listing(m, "LIST")
        v = {"list": boxes, "lsub": listing(m, "LSUB"), "mailboxes": {}}
        for name, attrs in boxes:
            if "\\noselect" in attrs:
                continue
            typ, data = m.status(quoted(name), "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
            status = data[0].decode().split("(", 1)[1] if typ == "OK" else "NO"
            acl = untagged(m, "GETACL", name)
            v["mailboxes"][name] = {
                "status": status,
                "acl": acl if acl == "NO" else normalise_acl(acl),
                "quotaroot": untagged(m, "GETQUOTAROOT", name),
                "messages": messages(m, name),
            }
        m.logout()
        if sieve_port:
            v["sieve"] = sieve_scripts(sieve_port, u)
        result[u] = v
    return result


def main():
    mode = sys.argv[1]
    if mode == "cyrus":
        d = os.path.abspath(sys.argv[2])
        master, ports = start_cyrus(d)
        try:
            fill(ports)
            time.sleep(0.5)
            with open(os.path.join(d, "cyrus-view.json"), "w") as f:
                json.dump(view(ports["imap"], ports["sieve"]), f, indent=1, sort_keys=True)
        finally:
            os.killpg(master.pid, signal.SIGTERM)
            try:
                master.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(master.pid, signal.SIGKILL)
                master.wait()
        # Cyrus's own text dump of the mailboxes database, for --mailboxes-db.
        with open(os.path.join(d, "mailboxes.json"), "w") as f:
            subprocess.run(["/usr/lib/cyrus/bin/ctl_mboxlist", "-C", os.path.join(d, "imapd.conf"),
                            "-d"], stdout=f, check=True, timeout=60)
    elif mode == "view":
        sieve = int(os.environ["SIEVE_PORT"]) if os.environ.get("SIEVE_PORT") else None
        with open(sys.argv[3], "w") as f:
            json.dump(view(int(sys.argv[2]), sieve), f, indent=1, sort_keys=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
