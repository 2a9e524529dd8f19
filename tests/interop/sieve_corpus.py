"""One case of the shared Sieve corpus (tests/corpus/sieve, README.md there) against a running
Darius, end to end over real sockets, compared with what Dovecot/Pigeonhole and Cyrus did.

The script is uploaded over ManageSieve (a small client of our own: AUTHENTICATE "PLAIN" with an
initial response, PUTSCRIPT with a {N+} literal, SETACTIVE, LOGOUT), the case's folders are created
over IMAP (imaplib), each envelope is delivered over LMTP (smtplib.LMTP, one reply per accepted
recipient after the data), and the result is observed over IMAP (every folder, each message's
folder, flags without \\Recent and header block) and from the sendmail stub's capture directory
(one `*.argv`/`*.msg` pair per call, `*.done` once complete).

The aspects compared: PUTSCRIPT's OK/NO; each recipient's 3-digit LMTP code; where each message
was placed (a multiset of message → folder); its flags, case-insensitively; the mail sent (kind,
null sender or not, recipients, decoded Subject, Auto-Submitted, In-Reply-To and the start of
the first text part); the stored header blocks without the delivering server's trace fields
(which shows every addheader/deleteheader).

Where both servers agree on an aspect, Darius must give the same answer. Where they disagree,
DECISIONS names the side Darius follows and why (the RFC decides; where both are permitted, the
side Darius's own design takes), and Darius must give that side's answer. KNOWN_FAILING lists
cases that fail today for a reason outside this test, each with its cause; such a case that
passes fails the run, so the list cannot go stale.

Environment: CORPUS_DIR, CASE, SIEVE_PORT, IMAP_PORT, LMTP_PORT, SENT_DIR, USER_PASSWORD.
Exit status 0 when the case matches (or fails as KNOWN_FAILING says), 1 with a diff otherwise:
per aspect, `-` what the expected side recorded that Darius did not give, `+` what Darius gave
that it did not record."""
import base64
import email
import email.header
import email.policy
import imaplib
import json
import os
import re
import smtplib
import socket
import sys

CORPUS = os.environ["CORPUS_DIR"]
CASE = os.environ["CASE"]
SIEVE_PORT = int(os.environ["SIEVE_PORT"])
IMAP_PORT = int(os.environ["IMAP_PORT"])
LMTP_PORT = int(os.environ["LMTP_PORT"])
SENT_DIR = os.environ["SENT_DIR"]
PASSWORD = os.environ["USER_PASSWORD"]

# The keyword Cyrus sets on a copy kept because the script failed at run time. RFC 5228
# §2.10.6 asks for the implicit keep only; Darius marks nothing, as Dovecot does, so on the
# `flags` aspect of such cases Darius follows Dovecot.
RUNTIME_FAILURE_SIDE = "dovecot"

# Cases where the servers disagree: the side Darius follows (for every aspect they disagree
# on, unless `aspects` names another side for one), and why.
DECISIONS = {
    "core_matches_wildcards": {
        "follow": "cyrus",
        "why": "RFC 5228 §2.7.1: `?` matches exactly one character, so 'Invoice ??-* due' "
        "cannot match 'Invoice 4-2025 due'; Dovecot's match is wrong.",
    },
    "editheader_protected": {
        "follow": "dovecot",
        "why": "RFC 5293 §6: Received MUST NOT be deletable, Subject MUST be editable, and "
        "a change that is not permitted MUST be silently ignored. So the script is valid "
        "(PUTSCRIPT OK), Received stays and the Subject edit applies, as Dovecot does; "
        "Cyrus's upload refusal is not what §6 asks. (The corpus' note said 'unclear'.)",
    },
    "environment": {
        "follow": "dovecot",
        "why": "RFC 5183 §4 defines the item 'name' (the product name); Darius answers "
        "'Darius'. Cyrus does not know the item, which RFC 5183 also permits.",
    },
    "ereject_basic": {
        "follow": "cyrus",
        "why": "Darius supports ereject (RFC 5429); §2.1 has it refuse the message in the "
        "LMTP reply (550 5.7.1) with nothing stored. Dovecot lacks the extension.",
    },
    "err_ihave_error": {
        "follow": RUNTIME_FAILURE_SIDE,
        "why": "Both keep the message (RFC 5228 §2.10.6); $SieveFailed is Cyrus's own marker.",
    },
    "err_runtime_fileinto_var": {
        "follow": RUNTIME_FAILURE_SIDE,
        "why": "Both keep the message (RFC 5228 §2.10.6); $SieveFailed is Cyrus's own marker.",
    },
    "foreverypart_mime": {
        "follow": "cyrus",
        "why": "Darius does not implement foreverypart/mime (RFC 5703, not in issue 16's "
        "list), so PUTSCRIPT refuses the script (RFC 5228 §3.2) and the message gets plain "
        "delivery, as with Cyrus.",
    },
    "include_global_vars": {
        "follow": "dovecot",
        "why": "RFC 6609 §3.3 defines `global`; the included script sees and changes the "
        "shared variable. Cyrus 3.6 refuses the command.",
    },
    "include_missing": {
        "follow": RUNTIME_FAILURE_SIDE,
        "why": "RFC 6609 §3.2: a missing non-optional include is a run-time error and the "
        "implicit keep follows; $SieveFailed is Cyrus's own marker.",
    },
    "mailbox_exists": {
        "follow": "dovecot",
        "why": "RFC 5490 §3.1: mailboxexists is true only if every named mailbox exists; "
        "'Nope' does not.",
    },
    "mailbox_utf8_name": {
        "follow": "dovecot",
        "why": "Sieve strings are UTF-8 (RFC 5228 §1, §2.4.2) and so are fileinto names; "
        "Cyrus without sieve_utf8fileinto expects modified UTF-7.",
    },
    "reject_with_keep": {
        "follow": "cyrus",
        "aspects": {"flags": RUNTIME_FAILURE_SIDE},
        "why": "RFC 5429 §2.4 lets an implementation refuse reject together with keep; "
        "Darius does (a run-time error, then the implicit keep, no rejection mailed), as "
        "Cyrus does. Without Cyrus's $SieveFailed marker.",
    },
    "vacation_addresses_self": {
        "follow": "cyrus",
        "why": "Neither side is mandated: RFC 5230 §4.5 wants :addresses to be addresses "
        "and says nothing of a bare local part. Darius checks literal :addresses as RFC "
        "5322 addr-specs at upload, so PUTSCRIPT refuses 'user65' as Cyrus does, and the "
        "message gets plain delivery with no reply.",
    },
}

# Cases that fail today for a cause outside this test (one line each). Empty is the goal.
KNOWN_FAILING = {}

ASPECTS = ("putscript", "lmtp", "placed", "flags", "sent", "stored_headers")

# How much of the first text part of sent mail is compared (the corpus keeps an excerpt).
BODY_EXCERPT = 60

# Fields the delivering server adds itself, which the corpus leaves out of stored_headers.
TRACE_FIELDS = {"return-path", "delivered-to", "x-sieve", "x-cyrus-session-id"}


# -- ManageSieve -----------------------------------------------------------------------------


class ManageSieve:
    """Just enough of RFC 5804 for the corpus: responses, AUTHENTICATE PLAIN, PUTSCRIPT,
    SETACTIVE, LOGOUT."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.file = self.sock.makefile("rb")
        self.greeting = self.response()

    def line(self):
        line = self.file.readline(1 << 20)
        if not line:
            raise ConnectionError("ManageSieve connection closed")
        return line.rstrip(b"\r\n")

    def response(self):
        """Lines up to the final OK/NO/BYE; returns (status, text of the whole response)."""
        lines = []
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if m:
                line += b"\r\n" + self.file.read(int(m.group(1)))
                line += self.line()
            lines.append(line.decode("utf-8", "replace"))
            word = line.split(b" ", 1)[0].upper()
            if word in (b"OK", b"NO", b"BYE"):
                return word.decode(), "\n".join(lines)

    def command(self, text, literal=None):
        data = text.encode()
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        return self.response()

    def authenticate(self, user, password):
        initial = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.command(f'AUTHENTICATE "PLAIN" "{initial}"')

    def putscript(self, name, script):
        return self.command(f'PUTSCRIPT "{name}"', script)

    def setactive(self, name):
        return self.command(f'SETACTIVE "{name}"')

    def logout(self):
        try:
            self.command("LOGOUT")
        finally:
            self.sock.close()


# -- IMAP ------------------------------------------------------------------------------------


def mutf7_decode(name):
    """RFC 3501 §5.1.3 modified UTF-7 to text."""
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c != "&":
            out.append(c)
            i += 1
            continue
        end = name.index("-", i)
        if end == i + 1:
            out.append("&")
        else:
            chunk = name[i + 1 : end].replace(",", "/")
            chunk += "=" * (-len(chunk) % 4)
            out.append(base64.b64decode(chunk).decode("utf-16-be"))
        i = end + 1
    return "".join(out)


def mutf7_encode(name):
    out, pending = [], []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for c in name:
        if 0x20 <= ord(c) <= 0x7E:
            flush()
            out.append("&-" if c == "&" else c)
        else:
            pending.append(c)
    flush()
    return "".join(out)


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_login(user):
    m = imaplib.IMAP4("127.0.0.1", IMAP_PORT)
    typ, data = m.login(user, PASSWORD)
    assert typ == "OK", data
    return m


def list_mailboxes(m):
    """Every personal folder as (name on the wire, selectable), from LIST "" "*"."""
    typ, data = m.list('""', "*")
    assert typ == "OK", data
    out = []
    for item in data:
        if isinstance(item, tuple):  # a literal name: the attributes are in the first part
            line, raw = item[0].decode(), item[1].decode()
        else:
            line, raw = item.decode(), None
        mm = re.match(r'\((?P<attrs>[^)]*)\) (?P<sep>"[^"]*"|NIL) (?P<name>.*)$', line)
        assert mm, line
        if raw is None:
            raw = mm.group("name")
            if raw.startswith('"'):
                raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        attrs = mm.group("attrs").lower().split()
        selectable = "\\noselect" not in attrs and "\\nonexistent" not in attrs
        if not raw.startswith(("Other Users", "Shared Folders")):
            out.append((raw, selectable))
    return out


def unfold(value):
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip()


def header_fields(block):
    """The header block as [name, unfolded value] pairs, in order."""
    fields = []
    for line in re.split(r"\r?\n", block.decode("utf-8", "replace")):
        if not line:
            continue
        if line[0] in " \t" and fields:
            fields[-1][1] += "\n" + line
            continue
        name, _, value = line.partition(":")
        fields.append([name, value])
    return [[n, unfold(re.sub(r"^[ \t]+", "", v))] for n, v in fields]


def observe(user):
    """(folders, [ {msg, mailbox, flags, headers} ]) as the user sees them over IMAP."""
    m = imap_login(user)
    listed = list_mailboxes(m)
    placed = []
    for raw, selectable in listed:
        if not selectable:
            continue
        typ, data = m.select(quote(raw), readonly=True)
        assert typ == "OK", (raw, data)
        if int(data[0]) == 0:
            continue
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER])")
        assert typ == "OK", data
        current_text, current_block = "", None
        for item in data + [None]:
            if item is None or (isinstance(item, tuple) and current_block is not None):
                placed.append(one_placement(raw, current_text, current_block))
                current_text, current_block = "", None
                if item is None:
                    break
            if isinstance(item, tuple):
                current_text += item[0].decode()
                current_block = item[1]
            elif item is not None:
                current_text += item.decode()
    m.logout()
    return [mutf7_decode(n) for n, _ in listed], placed


def one_placement(raw_mailbox, text, block):
    flags = re.search(r"FLAGS \(([^)]*)\)", text)
    assert flags, text
    flag_list = [f for f in flags.group(1).split() if f.lower() != "\\recent"]
    headers = header_fields(block or b"")
    tag = [v for n, v in headers if n.lower() == "x-corpus-msg"]
    msg = int(tag[0].rsplit("/", 1)[1]) if tag else None
    return {
        "msg": msg,
        "mailbox": mutf7_decode(raw_mailbox),
        "flags": flag_list,
        "headers": headers,
    }


def create_folders(user, setup):
    m = imap_login(user)
    typ, caps = m.capability()
    caps = caps[0].decode().upper().split()
    notes = []
    for entry in setup:
        if isinstance(entry, str):
            typ, data = m.create(quote(mutf7_encode(entry)))
        elif "CREATE-SPECIAL-USE" in caps or "SPECIAL-USE" in caps:
            if "CREATE-SPECIAL-USE" not in caps:
                notes.append("CREATE (USE ...) sent though only SPECIAL-USE is announced")
            typ, data = m._simple_command(
                "CREATE", quote(mutf7_encode(entry["name"])), f'(USE ({entry["special_use"]}))'
            )
            typ, data = m._untagged_response(typ, data, "CREATE")
        else:
            notes.append(f"no special-use: {entry['name']} created without {entry['special_use']}")
            typ, data = m.create(quote(mutf7_encode(entry["name"])))
        assert typ == "OK", (entry, data)
    m.logout()
    return notes


# -- LMTP ------------------------------------------------------------------------------------


def deliver(envelope, message):
    """One LMTP transaction; [(rcpt, 3-digit code, text)] per recipient, in RCPT order."""
    out = []
    with smtplib.LMTP("127.0.0.1", LMTP_PORT) as s:
        s.ehlo("corpus.example")
        sender = envelope["mail_from"]
        code, text = s.mail(sender if sender else "<>")
        assert code == 250, (code, text)
        accepted = []
        for rcpt in envelope["rcpt_to"]:
            code, text = s.rcpt(rcpt)
            if code == 250:
                accepted.append(rcpt)
            else:
                out.append((rcpt, code, text.decode()))
        if accepted:
            code, text = s.docmd("DATA")
            assert code == 354, (code, text)
            data = re.sub(rb"(?m)^\.", b"..", message)
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            s.send(data + b".\r\n")
            for rcpt in accepted:
                code, text = s.getreply()
                out.append((rcpt, code, text.decode()))
    order = {r: i for i, r in enumerate(envelope["rcpt_to"])}
    return sorted(out, key=lambda r: order[r[0]])


# -- sendmail capture ------------------------------------------------------------------------


def decode_header_value(value):
    if value is None:
        return None
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value


def sent_mail():
    """Every completed sendmail call, in the order they were made."""
    calls = []
    if not os.path.isdir(SENT_DIR):
        return calls
    for name in sorted(os.listdir(SENT_DIR)):
        if not name.endswith(".done"):
            continue
        base = os.path.join(SENT_DIR, name[: -len(".done")])
        with open(base + ".argv", "rb") as f:
            argv = f.read().decode("utf-8", "replace").split("\n")[:-1]
        with open(base + ".msg", "rb") as f:
            msg = f.read()
        sender, rcpts, i = None, [], 0
        while i < len(argv):
            a = argv[i]
            if a == "-f" and i + 1 < len(argv):
                sender = argv[i + 1]
                i += 2
                continue
            if a.startswith("-f") and len(a) > 2:
                sender = a[2:]
            elif a == "--":
                rcpts.extend(argv[i + 1 :])
                break
            elif not a.startswith("-"):
                rcpts.append(a)
            i += 1
        block = re.split(rb"\r?\n\r?\n", msg, maxsplit=1)[0]
        headers = header_fields(block)

        def get(field):
            vals = [v for n, v in headers if n.lower() == field.lower()]
            return vals[0] if vals else None

        calls.append(
            {
                "argv": argv,
                "body_excerpt": first_text(msg),
                "envelope_from": "" if sender in ("<>", "") else sender,
                "rcpts": rcpts,
                "kind": "original (forwarded)" if get("X-Corpus-Msg") else "generated",
                "headers": {
                    "Subject": decode_header_value(get("Subject")),
                    "Auto-Submitted": get("Auto-Submitted"),
                    "In-Reply-To": get("In-Reply-To"),
                },
            }
        )
    return calls


def first_text(raw):
    """The decoded content of the message's first text part (the corpus' `body_excerpt`)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


# -- comparison ------------------------------------------------------------------------------


def norm_ws(v):
    return None if v is None else " ".join(v.split())


def project(aspect, result):
    """The comparable form of one aspect of a result (ours or a recorded side's)."""
    if aspect == "putscript":
        return result["putscript"]
    if aspect == "lmtp":
        return [(r["msg"], r["rcpt"].lower(), int(r["reply"][:3])) for r in result["lmtp"]]
    if aspect == "placed":
        return sorted((p["msg"], p["mailbox"]) for p in result["placed"])
    if aspect == "flags":
        return sorted(
            (p["msg"], p["mailbox"], tuple(sorted(f.lower() for f in p["flags"])))
            for p in result["placed"]
        )
    if aspect == "sent":
        out = []
        for s in result["sent"]:
            h = s["headers"]
            out.append(
                (
                    s["kind"],
                    "null" if s["envelope_from"] in ("", "<>") else "non-null",
                    tuple(sorted(r.lower() for r in s["rcpts"])),
                    norm_ws(h.get("Subject")),
                    (norm_ws(h.get("Auto-Submitted")) or "").lower() or None,
                    norm_ws(h.get("In-Reply-To")),
                    # The start of the first text part: the corpus keeps a bounded excerpt.
                    " ".join(s.get("body_excerpt", "").split())[:BODY_EXCERPT],
                )
            )
        return sorted(out, key=repr)
    if aspect == "stored_headers":
        out = []
        for s in result["stored_headers"]:
            fields = [
                (n.lower(), norm_ws(v))
                for n, v in s["headers"]
                if n.lower() not in TRACE_FIELDS
                and not (n.lower() == "received" and "(Darius)" in v)
            ]
            out.append((s["msg"], s["mailbox"], tuple(fields)))
        return sorted(out, key=repr)
    raise ValueError(aspect)


def expected_side(case, aspect):
    """Which recorded side Darius must equal on `aspect`: 'both', 'dovecot', 'cyrus' or None
    (not comparable)."""
    agree = case["agree"].get(aspect)
    if aspect == "flags" and agree is None:
        # Not comparable because placements differ: flags go with the decided side.
        agree = False if case["agree"].get("placed") is False else None
    if aspect == "stored_headers" and agree is None:
        agree = False if case["agree"].get("placed") is False else None
    if agree is True:
        return "both"
    if agree is None:
        return None
    decision = DECISIONS.get(case["case"])
    if decision is None:
        raise SystemExit(f"{case['case']}: servers disagree on {aspect} and DECISIONS has no entry")
    return decision.get("aspects", {}).get(aspect, decision["follow"])


def run_case(case):
    """Folders, scripts over ManageSieve, then delivery and comparison ([`finish`])."""
    user = case["user"]
    notes = create_folders(user, case["setup_mailboxes"])

    sieve = ManageSieve(SIEVE_PORT)
    status, text = sieve.authenticate(user, PASSWORD)
    assert status == "OK", text
    for name, path in sorted(case["files"]["included_scripts"].items()):
        with open(os.path.join(CORPUS, path), "rb") as f:
            st, tx = sieve.putscript(name, f.read())
        notes.append(f"include script {name}: {st} {tx}")
    with open(os.path.join(CORPUS, case["files"]["script"]), "rb") as f:
        put_status, put_text = sieve.putscript(case["case"], f.read())
    if put_status == "OK":
        st, tx = sieve.setactive(case["case"])
        assert st == "OK", tx
    else:
        notes.append(f"PUTSCRIPT: {put_text}")
    sieve.logout()
    return finish(case, user, notes, put_status)


def finish(case, user, notes, put_status):
    """Delivers the case's envelopes, observes the result and compares it: (ours, diffs, notes)."""

    lmtp = []
    for env in case["envelope"]:
        path = os.path.join(CORPUS, case["files"]["messages"][env["msg"] - 1])
        with open(path, "rb") as f:
            message = f.read()
        for rcpt, code, text in deliver(env, message):
            lmtp.append({"msg": env["msg"], "rcpt": rcpt, "reply": f"{code} {text}"})

    folders, stored = observe(user)
    ours = {
        "putscript": put_status,
        "lmtp": lmtp,
        "placed": [{k: s[k] for k in ("msg", "mailbox", "flags")} for s in stored],
        "stored_headers": [{k: s[k] for k in ("msg", "mailbox", "headers")} for s in stored],
        "sent": sent_mail(),
        "mailboxes_after": folders,
    }
    recorded = {
        side: {
            "putscript": case[side]["putscript"]["status"],
            "lmtp": case[side]["lmtp"],
            "placed": case[side]["placed"],
            "stored_headers": case[side]["stored_headers"],
            "sent": case[side]["sent"],
        }
        for side in ("dovecot", "cyrus")
    }

    diffs = []
    for aspect in ASPECTS:
        side = expected_side(case, aspect)
        if side is None:
            continue
        got = project(aspect, ours)
        want = project(aspect, recorded["dovecot" if side == "both" else side])
        if got != want:
            diffs.append((aspect, side, want, got))
    return ours, diffs, notes




def main():
    with open(os.path.join(CORPUS, CASE + ".json")) as f:
        case = json.load(f)
    ours, diffs, notes = run_case(case)
    name = case["case"]
    if diffs:
        lines = [f"{name}: MISMATCH ({case['what_it_tests']}; {case['rfc']})"]
        for aspect, side, want, got in diffs:
            lines.append(f"  {aspect} (expected: {side})")
            if isinstance(want, list):
                missing, extra = list(want), []
                for item in got:
                    if item in missing:
                        missing.remove(item)
                    else:
                        extra.append(item)
                for item in missing:
                    lines.append(f"    - {item!r}")
                for item in extra:
                    lines.append(f"    + {item!r}")
                if not missing and not extra:
                    lines.append(f"    order: want {want!r}, got {got!r}")
            else:
                lines.append(f"    - {want!r}")
                lines.append(f"    + {got!r}")
        for n in notes:
            lines.append(f"  note: {n}")
        lines.append(f"  folders after: {ours['mailboxes_after']}")
        if name in DECISIONS:
            lines.append(f"  decision: {DECISIONS[name]['why']}")
        if name in KNOWN_FAILING:
            print("\n".join(lines))
            print(f"{name}: known failure: {KNOWN_FAILING[name]}")
            return 0
        print("\n".join(lines))
        return 1
    if name in KNOWN_FAILING:
        print(f"{name}: passes but is listed in KNOWN_FAILING; remove it from the list")
        return 1
    print(f"{name}: ok" + (f" (follows {DECISIONS[name]['follow']})" if name in DECISIONS else ""))
    for n in notes:
        print(f"  note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
