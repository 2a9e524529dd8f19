#!/usr/bin/env python3
"""Writes the hand-specified corpus: NAME.eml and NAME.expect.

Each case below is written by hand: the message is assembled from explicit header lines and
body octets, and the expected ENVELOPE / BODYSTRUCTURE / BODY are spelled out with small
helpers that follow the RFC 3501 §7.4.2 / RFC 9051 §7.5.2 grammar (sizes and line counts are
computed here from the body octets each case names, never from the Rust scanner).

Conventions (see ../corpus.rs): media tokens, parameter attributes and disposition types are
upper case; a text part without a charset gets "CHARSET" "us-ascii" appended; strings with
8-bit octets, CR, LF or more than 1024 octets are literals. In .expect files a literal's CRLF
is written <CRLF>. Run from this directory: python3 generate.py
"""
import os

CRLF = b"\r\n"


def b(s):
    return s.encode("utf-8") if isinstance(s, str) else s


# ---- IMAP value helpers (RFC 3501 §4.3, §7.4.2) ----
def q(s):
    if s is None:
        return b"NIL"
    s = b(s)
    if len(s) > 1024 or any(c >= 0x80 or c in (0, 10, 13) for c in s):
        return b"{%d}<CRLF>" % len(s) + s
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def addr(name, mailbox, host, adl=None):
    return b"(" + b" ".join([q(name), q(adl), q(mailbox), q(host)]) + b")"


def group(name):
    return b"(NIL NIL " + q(name) + b" NIL)"


GROUP_END = b"(NIL NIL NIL NIL)"


def alist(items):
    return b"NIL" if not items else b"(" + b"".join(items) + b")"


def envelope(date=None, subject=None, frm=(), sender=None, reply=None, to=(), cc=(), bcc=(),
             irt=None, mid=None):
    sender = frm if not sender else sender
    reply = frm if not reply else reply
    parts = [q(date), q(subject), alist(frm), alist(sender), alist(reply), alist(to), alist(cc),
             alist(bcc), q(irt), q(mid)]
    return b"(" + b" ".join(parts) + b")"


def params(pairs):
    if not pairs:
        return b"NIL"
    return b"(" + b" ".join(q(a) + b" " + q(v) for a, v in pairs) + b")"


def dsp(kind, pairs=()):
    return b"(" + q(kind) + b" " + params(list(pairs)) + b")"


def lang(tags):
    return b"NIL" if not tags else b"(" + b" ".join(q(t) for t in tags) + b")"


def ext(md5, disp, langs, loc):
    return b" ".join([q(md5), disp or b"NIL", lang(langs), q(loc)])


def lines(body):
    return body.count(b"\n")


def leaf(typ, sub, prm, body, enc="7BIT", cid=None, desc=None, md5=None, disp=None, langs=(),
         loc=None):
    """(BODYSTRUCTURE, BODY) of a non-multipart, non-message part."""
    body = b(body)
    if typ == "TEXT" and not any(a.upper() == "CHARSET" for a, _ in prm):
        prm = list(prm) + [("CHARSET", "us-ascii")]
    head = b" ".join([q(typ), q(sub), params(prm), q(cid), q(desc), q(enc), b"%d" % len(body)])
    if typ == "TEXT":
        head += b" %d" % lines(body)
    return (b"(" + head + b" " + ext(md5, disp, langs, loc) + b")", b"(" + head + b")")


def message(env, inner, raw_msg, prm=(), enc="7BIT", cid=None, desc=None, md5=None, disp=None,
            langs=(), loc=None, extra=b""):
    """message/rfc822 part; raw_msg is the embedded message; extra = octets given back by the
    inner close-delimiter rule."""
    size = len(raw_msg) + len(extra)
    n = lines(raw_msg) + lines(extra)
    head = b" ".join([b'"MESSAGE" "RFC822"', params(list(prm)), q(cid), q(desc), q(enc),
                      b"%d" % size])
    bs = b"(" + head + b" " + env + b" " + inner[0] + b" %d " % n + ext(md5, disp, langs, loc) + b")"
    body = b"(" + head + b" " + env + b" " + inner[1] + b" %d)" % n
    return (bs, body)


def multi(children, sub, prm, disp=None, langs=(), loc=None):
    bs = b"(" + b"".join(c[0] for c in children) + b" " + q(sub) + b" " + params(prm) + b" " \
        + (disp or b"NIL") + b" " + lang(langs) + b" " + q(loc) + b")"
    body = b"(" + b"".join(c[1] for c in children) + b" " + q(sub) + b")"
    return (bs, body)


# ---- message builders ----
def hdr(*fields):
    return b"".join(b(f) + CRLF for f in fields)


def entity(fields, body):
    return hdr(*fields) + CRLF + b(body)


def mp(boundary, parts, preamble=None, epilogue=b"", close=True, close_crlf=True):
    """RFC 2046 §5.1.1 multipart body: [preamble CRLF] dash-boundary CRLF part
    *(CRLF delimiter CRLF part) CRLF close-delimiter [CRLF epilogue]."""
    d = b"--" + b(boundary)
    out = (b(preamble) + CRLF) if preamble is not None else b""
    out += d + CRLF + (CRLF + d + CRLF).join(b(p) for p in parts)
    if close:
        out += CRLF + d + b"--" + (CRLF + b(epilogue) if close_crlf else b"")
    return out


STD = ["From: Alice Example <alice@example.org>", "To: Bob Example <bob@example.net>",
       "Date: Tue, 05 Mar 2024 10:11:12 +0100", "Message-ID: <m@corpus.test>"]
ALICE = addr("Alice Example", "alice", "example.org")
BOB = addr("Bob Example", "bob", "example.net")


def std_env(subject):
    return envelope("Tue, 05 Mar 2024 10:11:12 +0100", subject, [ALICE], to=[BOB],
                    mid="<m@corpus.test>")


CASES = []
EXTRA = {}


def case(name, raw, env, struct):
    CASES.append((name, raw, env, struct))


def spans(name, *items):
    """Extra checks: (section, body_len, body_lines) of MessageCache::part(section)."""
    EXTRA[name] = items


# 1-4: single parts
body = b"Hello Bob,\r\nsee you.\r\n"
case("plain-default-charset", entity(STD + ["Subject: plain"], body), std_env("plain"),
     leaf("TEXT", "PLAIN", [], body))
body = b"flowed text \r\nsecond\r\n"
case("text-params-quoted-charset", entity(STD + ["Subject: params",
     'Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes'], body),
     std_env("params"), leaf("TEXT", "PLAIN", [("CHARSET", "UTF-8"), ("FORMAT", "flowed"),
                                               ("DELSP", "yes")], body))
body = b"no charset here\r\n"
case("text-params-without-charset", entity(STD + ["Subject: nocs",
     "Content-Type: text/plain; format=flowed"], body), std_env("nocs"),
     leaf("TEXT", "PLAIN", [("FORMAT", "flowed")], body))
body = b"<p>Caf=E9 cr=E8me =\r\nbr=FBl=E9e</p>\r\n"
case("html-quoted-printable", entity(STD + ["Subject: html", "MIME-Version: 1.0",
     "Content-Type: TEXT/Html; Charset=ISO-8859-1", "Content-Transfer-Encoding: Quoted-Printable"],
     body), std_env("html"), leaf("TEXT", "HTML", [("CHARSET", "ISO-8859-1")], body,
                                  enc="QUOTED-PRINTABLE"))

# 5: multipart/alternative inside multipart/mixed, with a base64 attachment
plain, html = b"plain version\r\n", b"<b>html</b> version\r\n"
pdf = b"JVBERi0xLjQKJcfs\r\nj6IKMSAwIG9iago=\r\n"
alt = mp("ALT", [entity(["Content-Type: text/plain; charset=us-ascii"], plain),
                 entity(["Content-Type: text/html; charset=utf-8"], html)])
att_fields = ["Content-Type: application/pdf; name=\"report.pdf\"",
              "Content-Disposition: attachment; filename=\"report.pdf\"",
              "Content-Transfer-Encoding: base64"]
raw = entity(STD + ["Subject: alt in mixed", "MIME-Version: 1.0",
                    "Content-Type: multipart/mixed; boundary=\"MIX\""],
             mp("MIX", [entity(["Content-Type: multipart/alternative; boundary=ALT"], alt),
                        entity(att_fields, pdf)]))
st_alt = multi([leaf("TEXT", "PLAIN", [("CHARSET", "us-ascii")], plain),
                leaf("TEXT", "HTML", [("CHARSET", "utf-8")], html)], "ALTERNATIVE",
               [("BOUNDARY", "ALT")])
case("alternative-in-mixed", raw, std_env("alt in mixed"),
     multi([st_alt, leaf("APPLICATION", "PDF", [("NAME", "report.pdf")], pdf, enc="BASE64",
                         disp=dsp("ATTACHMENT", [("FILENAME", "report.pdf")]))],
           "MIXED", [("BOUNDARY", "MIX")]))

# 6: related inside alternative inside mixed (three levels)
html2, png = b"<img src=cid:i1>\r\n", b"iVBORw0KGgo=\r\n"
rel = mp("REL", [entity(["Content-Type: text/html"], html2),
                 entity(["Content-Type: image/png", "Content-ID: <i1>",
                         "Content-Transfer-Encoding: base64"], png)])
alt = mp("ALT2", [entity(["Content-Type: text/plain"], plain),
                  entity(['Content-Type: multipart/related; type="text/html"; boundary=REL'], rel)])
raw = entity(STD + ["Subject: three levels", "Content-Type: multipart/mixed; boundary=TOP"],
             mp("TOP", [entity(["Content-Type: multipart/alternative; boundary=ALT2"], alt)]))
st_rel = multi([leaf("TEXT", "HTML", [], html2),
                leaf("IMAGE", "PNG", [], png, enc="BASE64", cid="<i1>")], "RELATED",
               [("TYPE", "text/html"), ("BOUNDARY", "REL")])
case("related-in-alternative-in-mixed", raw, std_env("three levels"),
     multi([multi([leaf("TEXT", "PLAIN", [], plain), st_rel], "ALTERNATIVE",
                  [("BOUNDARY", "ALT2")])], "MIXED", [("BOUNDARY", "TOP")]))

# 7: forwarded message (message/rfc822 attachment) whose body is multipart/alternative
inner_alt = mp("IA", [entity(["Content-Type: text/plain"], b"inner plain\r\n"),
                      entity(["Content-Type: text/html"], b"<i>inner</i>\r\n")])
inner = entity(["From: Carol <carol@example.com>", "To: Dave <dave@example.com>",
                "Subject: inner", "Date: Mon, 04 Mar 2024 09:00:00 +0000",
                "Content-Type: multipart/alternative; boundary=IA"], inner_alt)
raw = entity(STD + ["Subject: Fwd: inner", "Content-Type: multipart/mixed; boundary=FW"],
             mp("FW", [entity(["Content-Type: text/plain"], b"see attached\r\n"),
                       entity(["Content-Type: message/rfc822",
                               "Content-Disposition: inline"], inner)]))
CAROL, DAVE = addr("Carol", "carol", "example.com"), addr("Dave", "dave", "example.com")
inner_env = envelope("Mon, 04 Mar 2024 09:00:00 +0000", "inner", [CAROL], to=[DAVE])
inner_st = multi([leaf("TEXT", "PLAIN", [], b"inner plain\r\n"),
                  leaf("TEXT", "HTML", [], b"<i>inner</i>\r\n")], "ALTERNATIVE", [("BOUNDARY", "IA")])
case("forwarded-rfc822-with-alternative", raw, std_env("Fwd: inner"),
     multi([leaf("TEXT", "PLAIN", [], b"see attached\r\n"),
            message(inner_env, inner_st, inner, disp=dsp("INLINE"))], "MIXED", [("BOUNDARY", "FW")]))

# 8: message/rfc822 inside message/rfc822 at top level
innermost = entity(["From: x@y.example", "Subject: innermost"], b"deep\r\n")
middle = entity(["From: m@y.example", "Subject: middle", "Content-Type: message/rfc822"], innermost)
raw = entity(STD + ["Subject: outer", "Content-Type: message/rfc822"], middle)
XY, MY = addr(None, "x", "y.example"), addr(None, "m", "y.example")
st_innermost = message(envelope(None, "innermost", [XY]), leaf("TEXT", "PLAIN", [], b"deep\r\n"),
                       innermost)
case("rfc822-in-rfc822-toplevel", raw, std_env("outer"),
     message(envelope(None, "middle", [MY]), st_innermost, middle))

# 9: inner multipart without close delimiter, ended by the outer one
p1, p2 = b"one\r\n", b"two, unclosed"
inner = mp("IN", [entity(["Content-Type: text/plain"], p1),
                  entity(["Content-Type: text/plain"], p2)], close=False)
raw = entity(STD + ["Subject: inner unclosed", "Content-Type: multipart/mixed; boundary=OUT"],
             mp("OUT", [entity(["Content-Type: multipart/alternative; boundary=IN"], inner),
                        entity(["Content-Type: text/plain"], b"after\r\n")]))
case("inner-missing-close-delimiter", raw, std_env("inner unclosed"),
     multi([multi([leaf("TEXT", "PLAIN", [], p1), leaf("TEXT", "PLAIN", [], p2)], "ALTERNATIVE",
                  [("BOUNDARY", "IN")]), leaf("TEXT", "PLAIN", [], b"after\r\n")], "MIXED",
           [("BOUNDARY", "OUT")]))

spans("rfc822-in-rfc822-toplevel", ("", len(middle), lines(middle)),
      ("1", len(middle), lines(middle)), ("1.1", len(innermost), lines(innermost)),
      ("1.1.1", 6, 1))

# 10: outer multipart without close delimiter: the last part runs to the end of the message
last = b"last part\r\ncontinues to the end\r\n"
raw = entity(STD + ["Subject: unclosed", "Content-Type: multipart/mixed; boundary=U"],
             mp("U", [entity(["Content-Type: text/plain"], b"first"),
                      entity(["Content-Type: text/plain"], last)], close=False))
case("outer-missing-close-delimiter", raw, std_env("unclosed"),
     multi([leaf("TEXT", "PLAIN", [], b"first"), leaf("TEXT", "PLAIN", [], last)], "MIXED",
           [("BOUNDARY", "U")]))

# 11: preamble and epilogue are not parts
raw = entity(STD + ["Subject: pre epi", "Content-Type: multipart/mixed; boundary=PE"],
             mp("PE", [entity(["Content-Type: text/plain"], b"only part\r\n")],
                preamble=b"This is a multi-part message in MIME format.\r\n--PEX not a boundary",
                epilogue=b"epilogue text\r\n--PE\r\nnot a part either\r\n"))
case("preamble-and-epilogue-ignored", raw, std_env("pre epi"),
     multi([leaf("TEXT", "PLAIN", [], b"only part\r\n")], "MIXED", [("BOUNDARY", "PE")]))

# 12-14: boundary spellings
bnd = "----=_Part_0_123.456"
raw = entity(STD + ["Subject: quoted boundary", 'Content-Type: multipart/mixed;\r\n\tboundary="%s"' % bnd],
             mp(bnd, [entity([], b"a\r\n"), entity([], b"b\r\n")]))
case("boundary-quoted-specials-folded", raw, std_env("quoted boundary"),
     multi([leaf("TEXT", "PLAIN", [], b"a\r\n"), leaf("TEXT", "PLAIN", [], b"b\r\n")], "MIXED",
           [("BOUNDARY", bnd)]))
bnd = "----=_NextPart_000_0001"
raw = entity(STD + ["Subject: unquoted boundary", "Content-Type: multipart/mixed; boundary=%s" % bnd],
             mp(bnd, [entity(["Content-Type: text/plain"], b"x\r\n")]))
case("boundary-unquoted-with-equals", raw, std_env("unquoted boundary"),
     multi([leaf("TEXT", "PLAIN", [], b"x\r\n")], "MIXED", [("BOUNDARY", bnd)]))
bnd = "with spaces in it"
raw = entity(STD + ["Subject: spaced boundary", 'Content-Type: multipart/mixed; boundary="%s"' % bnd],
             mp(bnd, [entity(["Content-Type: text/plain"], b"y\r\n")]))
case("boundary-with-spaces", raw, std_env("spaced boundary"),
     multi([leaf("TEXT", "PLAIN", [], b"y\r\n")], "MIXED", [("BOUNDARY", bnd)]))

# 15-17: RFC 2047 encoded words stay encoded in ENVELOPE
for name, subj, frm_name in [
    ("encoded-word-utf8-base64", "=?UTF-8?B?w4lwaXTDqCDDoCDDqXTDqQ==?=", "=?utf-8?q?J=C3=BCrgen?="),
    ("encoded-word-iso-8859-1-q", "=?iso-8859-1?q?caf=E9_cr=E8me?=", "=?ISO-8859-1?Q?Andr=E9?="),
    ("encoded-word-mixed-charsets",
     "=?koi8-r?B?8NLJ18XU?= =?windows-1252?Q?=80uro?= =?shift_jis?B?g26DjQ==?= =?iso-2022-jp?B?GyRCJEgbKEI=?=",
     "=?gb2312?B?1tDOxA==?="),
]:
    raw = entity(["From: %s <a@example.org>" % frm_name, "To: b@example.net",
                  "Subject: %s" % subj, "Date: Wed, 06 Mar 2024 08:00:00 -0500"], b"body\r\n")
    case(name, raw, envelope("Wed, 06 Mar 2024 08:00:00 -0500", subj,
                             [addr(frm_name, "a", "example.org")], to=[addr(None, "b", "example.net")]),
         leaf("TEXT", "PLAIN", [], b"body\r\n"))

# 18-20: RFC 2231 parameters
att = b"QUJD\r\n"
raw = entity(STD + ["Subject: 2231 extended", "Content-Type: application/octet-stream;\r\n"
                    " name*0*=us-ascii'en'long%20file;\r\n name*1*=%20name.bin",
                    "Content-Transfer-Encoding: base64"], att)
case("rfc2231-extended-continuation", raw, std_env("2231 extended"),
     leaf("APPLICATION", "OCTET-STREAM", [("NAME*", "us-ascii'en'long%20file%20name.bin")], att,
          enc="BASE64"))
raw = entity(STD + ["Subject: 2231 plain", "Content-Type: text/plain",
                    'Content-Disposition: attachment;\r\n filename*0="part one ";\r\n'
                    ' filename*1="part two";\r\n filename*2=".txt"; size=12'], b"twelve bytes")
case("rfc2231-plain-continuation", raw, std_env("2231 plain"),
     leaf("TEXT", "PLAIN", [], b"twelve bytes",
          disp=dsp("ATTACHMENT", [("FILENAME", "part one part two.txt"), ("SIZE", "12")])))
raw = entity(STD + ["Subject: 2231 single", "Content-Type: text/plain; charset=utf-8",
                    "Content-Disposition: inline; filename*=UTF-8''%E2%82%AC%20rates.txt"], b"x\r\n")
case("rfc2231-single-extended", raw, std_env("2231 single"),
     leaf("TEXT", "PLAIN", [("CHARSET", "utf-8")], b"x\r\n",
          disp=dsp("INLINE", [("FILENAME*", "UTF-8''%E2%82%AC%20rates.txt")])))

# 21-22: group syntax (RFC 5322 §3.4; RFC 3501 §7.4.2 group markers)
raw = entity(["From: alice@example.org", "To: undisclosed-recipients:;",
              "Subject: hidden", "Date: Tue, 05 Mar 2024 10:11:12 +0100"], b"x\r\n")
ALICE_BARE = addr(None, "alice", "example.org")
case("group-empty-undisclosed", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", "hidden", [ALICE_BARE],
              to=[group("undisclosed-recipients"), GROUP_END]), leaf("TEXT", "PLAIN", [], b"x\r\n"))
raw = entity(["From: alice@example.org",
              "To: Friends: joe@a.example, \"Ann Other\" <ann@b.example>;, solo@c.example",
              "Cc: Empty:;, Team:\r\n\tlead@d.example;",
              "Subject: groups", "Date: Tue, 05 Mar 2024 10:11:12 +0100"], b"x\r\n")
case("group-members-and-mailboxes", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", "groups", [ALICE_BARE],
              to=[group("Friends"), addr(None, "joe", "a.example"), addr("Ann Other", "ann", "b.example"),
                  GROUP_END, addr(None, "solo", "c.example")],
              cc=[group("Empty"), GROUP_END, group("Team"), addr(None, "lead", "d.example"), GROUP_END]),
     leaf("TEXT", "PLAIN", [], b"x\r\n"))

# 23-24: 8-bit headers are sent as literals (RFC 3501 §4.3: quoted strings are 7-bit)
subj = "Grüße aus Köln"
raw = entity(["From: Jürgen <j@example.de>", "To: b@example.net", "Subject: " + subj,
              "Date: Tue, 05 Mar 2024 10:11:12 +0100",
              "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"],
             "Grüße\r\n".encode())
case("eight-bit-utf8-headers", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", subj, [addr("Jürgen", "j", "example.de")],
              to=[addr(None, "b", "example.net")]),
     leaf("TEXT", "PLAIN", [("CHARSET", "utf-8")], "Grüße\r\n".encode(), enc="8BIT"))
subj = "caf\xe9 cr\xe8me".encode("latin-1")
raw = entity([b"From: a@example.org", b"Subject: " + subj, b"Date: Tue, 05 Mar 2024 10:11:12 +0100"],
             b"x\r\n")
case("eight-bit-latin1-header", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", subj, [addr(None, "a", "example.org")]),
     leaf("TEXT", "PLAIN", [], b"x\r\n"))

# 25: binary part with every octet but NUL, CR and LF
blob = bytes(c for c in range(1, 256) if c not in (10, 13)) + b"\r\n" + bytes(range(200, 256))
raw = entity(STD + ["Subject: binary", "Content-Type: multipart/mixed; boundary=BIN"],
             mp("BIN", [entity(["Content-Type: text/plain"], b"see blob\r\n"),
                        entity(["Content-Type: application/octet-stream",
                                "Content-Transfer-Encoding: binary"], blob)]))
case("binary-part-nul-free", raw, std_env("binary"),
     multi([leaf("TEXT", "PLAIN", [], b"see blob\r\n"),
            leaf("APPLICATION", "OCTET-STREAM", [], blob, enc="BINARY")], "MIXED",
           [("BOUNDARY", "BIN")]))

# 26: quoted display names with escapes; route addresses; comments
raw = entity(['From: "Doe, \\"JD\\" John" <jd@example.com>',
              "To: <@relay1.example,@relay2.example:user@host.example>",
              "Cc: plain@example.com (Plain Person), Two Words <two@example.com>",
              "Subject: \"quoted\" \\ back", "Date: Tue, 05 Mar 2024 10:11:12 +0100"], b"x\r\n")
case("addresses-quoted-route-comments", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", '"quoted" \\ back',
              [addr('Doe, "JD" John', "jd", "example.com")],
              to=[addr(None, "user", "host.example", adl="@relay1.example,@relay2.example")],
              cc=[addr("Plain Person", "plain", "example.com"), addr("Two Words", "two", "example.com")]),
     leaf("TEXT", "PLAIN", [], b"x\r\n"))

# 27: distinct Sender and Reply-To, In-Reply-To, Bcc
raw = entity(["From: alice@example.org", "Sender: secretary@example.org",
              "Reply-To: list@example.org, alice@example.org", "To: bob@example.net",
              "Bcc: hidden@example.net", "Subject: Re: plans", "Date: Tue, 05 Mar 2024 10:11:12 +0100",
              "In-Reply-To: <orig@example.net>", "References: <orig@example.net>",
              "Message-ID: <reply@example.org>"], b"ok\r\n")
case("envelope-all-fields-distinct", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", "Re: plans", [ALICE_BARE],
              sender=[addr(None, "secretary", "example.org")],
              reply=[addr(None, "list", "example.org"), ALICE_BARE],
              to=[addr(None, "bob", "example.net")], bcc=[addr(None, "hidden", "example.net")],
              irt="<orig@example.net>", mid="<reply@example.org>"),
     leaf("TEXT", "PLAIN", [], b"ok\r\n"))

# 28-29: no header at all; header and no body
case("no-header-only-body", b"\r\njust a body\r\n", envelope(),
     leaf("TEXT", "PLAIN", [], b"just a body\r\n"))
case("header-without-body", hdr("Subject: lonely", "From: a@example.org"),
     envelope(None, "lonely", [addr(None, "a", "example.org")]), leaf("TEXT", "PLAIN", [], b""))

# 30: multipart/digest: parts default to message/rfc822 (RFC 2046 §5.1.5)
d1 = entity(["From: d1@example.com", "Subject: item 1"], b"one\r\n")
raw = entity(STD + ["Subject: digest", "Content-Type: multipart/digest; boundary=DG"],
             mp("DG", [entity([], d1), entity(["Content-Type: text/plain"], b"explicit text\r\n")]))
case("digest-default-and-explicit", raw, std_env("digest"),
     multi([message(envelope(None, "item 1", [addr(None, "d1", "example.com")]),
                    leaf("TEXT", "PLAIN", [], b"one\r\n"), d1),
            leaf("TEXT", "PLAIN", [], b"explicit text\r\n")], "DIGEST", [("BOUNDARY", "DG")]))

spans("digest-default-and-explicit", ("1", len(d1), lines(d1)), ("1.1", 5, 1), ("2", 15, 1))

# 31: every extension field on a part inside a multipart, and on the multipart itself
raw = entity(STD + ["Subject: ext", "Content-Type: multipart/mixed; boundary=EX",
                    "Content-Disposition: inline", "Content-Language: en",
                    "Content-Location: http://example.com/msg"],
             mp("EX", [entity(["Content-Type: text/plain; charset=us-ascii",
                               "Content-ID: <p1@example.com>", "Content-Description: first part",
                               "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==",
                               "Content-Disposition: inline; filename=p1.txt",
                               "Content-Language: en-US, de (German)",
                               "Content-Location: p1.txt"], b"text\r\n")]))
case("extension-fields-everywhere", raw, std_env("ext"),
     multi([leaf("TEXT", "PLAIN", [("CHARSET", "us-ascii")], b"text\r\n", cid="<p1@example.com>",
                 desc="first part", md5="Q2hlY2sgSW50ZWdyaXR5IQ==",
                 disp=dsp("INLINE", [("FILENAME", "p1.txt")]), langs=["en-US", "de"], loc="p1.txt")],
           "MIXED", [("BOUNDARY", "EX")], disp=dsp("INLINE"), langs=["en"],
           loc="http://example.com/msg"))

# 32: multipart/signed with a slash in a quoted parameter
sig = b"-----BEGIN PGP SIGNATURE-----\r\nabc\r\n-----END PGP SIGNATURE-----\r\n"
raw = entity(STD + ["Subject: signed", 'Content-Type: multipart/signed; micalg=pgp-sha256;\r\n'
                    ' protocol="application/pgp-signature"; boundary="SIG"'],
             mp("SIG", [entity(["Content-Type: text/plain; charset=utf-8"], b"signed text\r\n"),
                        entity(["Content-Type: application/pgp-signature; name=signature.asc"], sig)]))
case("multipart-signed", raw, std_env("signed"),
     multi([leaf("TEXT", "PLAIN", [("CHARSET", "utf-8")], b"signed text\r\n"),
            leaf("APPLICATION", "PGP-SIGNATURE", [("NAME", "signature.asc")], sig)], "SIGNED",
           [("MICALG", "pgp-sha256"), ("PROTOCOL", "application/pgp-signature"), ("BOUNDARY", "SIG")]))

# 33: message/rfc822 with 8bit CTE whose embedded message has no MIME header
inner = entity(["From: old@example.com", "Subject: pre-MIME"], "naïve\r\n".encode())
raw = entity(STD + ["Subject: old mail", "Content-Type: multipart/mixed; boundary=OM"],
             mp("OM", [entity(["Content-Type: message/rfc822", "Content-Transfer-Encoding: 8bit"], inner)]))
case("rfc822-8bit-non-mime-inner", raw, std_env("old mail"),
     multi([message(envelope(None, "pre-MIME", [addr(None, "old", "example.com")]),
                    leaf("TEXT", "PLAIN", [], "naïve\r\n".encode()), inner, enc="8BIT")],
           "MIXED", [("BOUNDARY", "OM")]))

# 34: unknown transfer encoding is reported upper-cased, comments dropped
uu = b"begin 644 x\r\n#86)C\r\n`\r\nend\r\n"
raw = entity(STD + ["Subject: uu", "Content-Type: application/octet-stream",
                    "Content-Transfer-Encoding: x-uuencode (legacy)"], uu)
case("unknown-transfer-encoding", raw, std_env("uu"),
     leaf("APPLICATION", "OCTET-STREAM", [], uu, enc="X-UUENCODE"))

# 35: a multipart whose first delimiter is the close delimiter has one empty part
raw = entity(STD + ["Subject: empty mp", "Content-Type: multipart/mixed; boundary=E"], b"--E--\r\n")
empty_part = leaf("TEXT", "PLAIN", [], b"")
case("multipart-only-close-delimiter", raw, std_env("empty mp"),
     multi([empty_part], "MIXED", [("BOUNDARY", "E")]))

# 36: long subject (> 1024 octets) goes as a literal; quotes in subject are escaped
subj = "long " * 220
raw = entity(["From: a@example.org", "Subject: " + subj, "Date: Tue, 05 Mar 2024 10:11:12 +0100"], b"x\r\n")
case("long-subject-literal", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", subj, [addr(None, "a", "example.org")]),
     leaf("TEXT", "PLAIN", [], b"x\r\n"))

# 37: folded address list with tabs and trailing comma
raw = entity(["From: a@example.org", "To: one@example.org,\r\n\ttwo@example.org,\r\n  three@example.org,",
              "Subject: folded", "Date: Tue, 05 Mar 2024 10:11:12 +0100"], b"x\r\n")
case("folded-address-list", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", "folded", [addr(None, "a", "example.org")],
              to=[addr(None, "one", "example.org"), addr(None, "two", "example.org"),
                  addr(None, "three", "example.org")]),
     leaf("TEXT", "PLAIN", [], b"x\r\n"))

# 38: message/global is not message/rfc822 for IMAP4rev1: a basic body
g = entity(["From: g@example.org", "Subject: global"], b"hi\r\n")
raw = entity(STD + ["Subject: global", "Content-Type: message/global"], g)
case("message-global-is-basic", raw, std_env("global"), leaf("MESSAGE", "GLOBAL", [], g))

# 39: inner close delimiter directly followed by the outer delimiter: both reference servers
# count the inner close line's CRLF in the inner multipart (+2 octets, +1 line)
inner = mp("IN2", [entity(["Content-Type: text/plain"], b"inner")], close_crlf=False)
raw = entity(STD + ["Subject: tight", "Content-Type: multipart/mixed; boundary=OUT2"],
             mp("OUT2", [entity(["Content-Type: multipart/mixed; boundary=IN2"], inner),
                         entity(["Content-Type: text/plain"], b"tail\r\n")]))
case("inner-close-then-outer-delimiter", raw, std_env("tight"),
     multi([multi([leaf("TEXT", "PLAIN", [], b"inner")], "MIXED", [("BOUNDARY", "IN2")]),
            leaf("TEXT", "PLAIN", [], b"tail\r\n")], "MIXED", [("BOUNDARY", "OUT2")]))

spans("inner-close-then-outer-delimiter", ("1", len(inner) + 2, lines(inner) + 1), ("1.1", 5, 0),
      ("2", 6, 1))

# 40: the same with a message/rfc822 whose multipart body closes right before the outer one
body_mp = mp("MB", [entity(["Content-Type: text/plain"], b"m")], close_crlf=False)
inner = entity(["From: i@example.org", "Subject: tight inner",
                "Content-Type: multipart/mixed; boundary=MB"], body_mp)
raw = entity(STD + ["Subject: tight msg", "Content-Type: multipart/mixed; boundary=OUT3"],
             mp("OUT3", [entity(["Content-Type: message/rfc822"], inner)]))
case("rfc822-close-then-outer-delimiter", raw, std_env("tight msg"),
     multi([message(envelope(None, "tight inner", [addr(None, "i", "example.org")]),
                    multi([leaf("TEXT", "PLAIN", [], b"m")], "MIXED", [("BOUNDARY", "MB")]),
                    inner, extra=CRLF)], "MIXED", [("BOUNDARY", "OUT3")]))

spans("rfc822-close-then-outer-delimiter", ("1", len(inner) + 2, lines(inner) + 1),
      ("1.1", 1, 0))

# 41: Content-Type with comments and odd spacing, charset with comment
raw = entity(STD + ["Subject: comments", "Content-Type: (c1) text (c2) / (c3) plain ; charset = (c4) \"utf-8\" (c5)"],
             b"x\r\n")
case("content-type-comments", raw, std_env("comments"),
     leaf("TEXT", "PLAIN", [("CHARSET", "utf-8")], b"x\r\n"))

# 42: present but empty Subject / Message-ID are "" (NIL means absent), leading folding skipped
raw = entity(["From: a@example.org", "Subject:", "Message-ID:   ", "Date:\r\n Tue, 05 Mar 2024 10:11:12 +0100"],
             b"x\r\n")
case("empty-fields-are-empty-strings", raw,
     envelope("Tue, 05 Mar 2024 10:11:12 +0100", "", [addr(None, "a", "example.org")], mid=""),
     leaf("TEXT", "PLAIN", [], b"x\r\n"))

# 43: application part without parameters and base64 image with Content-Description in 2047
img = b"R0lGODlhAQABAAAAACw=\r\n"
raw = entity(STD + ["Subject: image", "Content-Type: multipart/mixed; boundary=IM"],
             mp("IM", [entity(["Content-Type: image/gif", "Content-Transfer-Encoding: BASE64",
                               "Content-Description: =?utf-8?q?Bild_=C3=BC?="], img)]))
case("image-with-encoded-description", raw, std_env("image"),
     multi([leaf("IMAGE", "GIF", [], img, enc="BASE64", desc="=?utf-8?q?Bild_=C3=BC?=")],
           "MIXED", [("BOUNDARY", "IM")]))

# 44: transport padding after delimiters and a delimiter-looking line inside a part
raw = entity(STD + ["Subject: padding", "Content-Type: multipart/mixed; boundary=PD"],
             b"--PD  \r\nContent-Type: text/plain\r\n\r\nline\r\n--PDnot\r\n-- PD\r\n--PD\t\r\n\r\nsecond\r\n--PD-- \t\r\n")
case("transport-padding-and-lookalikes", raw, std_env("padding"),
     multi([leaf("TEXT", "PLAIN", [], b"line\r\n--PDnot\r\n-- PD"), leaf("TEXT", "PLAIN", [], b"second")],
           "MIXED", [("BOUNDARY", "PD")]))

# 45: RFC 5322 Appendix A.1.2 (different types of mailboxes)
raw = entity(['From: "Joe Q. Public" <john.q.public@example.com>',
              'To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>',
              'Cc: <boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>',
              "Date: Tue, 1 Jul 2003 10:52:37 +0200", "Message-ID: <5678.21-Nov-1997@example.com>"],
             b"Hi everyone.\r\n")
case("rfc5322-a12-mailbox-types", raw,
     envelope("Tue, 1 Jul 2003 10:52:37 +0200", None,
              [addr("Joe Q. Public", "john.q.public", "example.com")],
              to=[addr("Mary Smith", "mary", "x.test"), addr(None, "jdoe", "example.org"),
                  addr("Who?", "one", "y.test")],
              cc=[addr(None, "boss", "nil.test"), addr('Giant; "Big" Box', "sysservices", "example.net")],
              mid="<5678.21-Nov-1997@example.com>"),
     leaf("TEXT", "PLAIN", [], b"Hi everyone.\r\n"))

# 46: RFC 5322 Appendix A.5 (white space, comments, and other oddities)
raw = entity(["From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
              "To:A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
              "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
              "Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;",
              "Date: Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n"
              "               -0330 (Newfoundland Time)",
              "Message-ID:              <testabcd.1234@silly.test>"], b"Testing.\r\n")
case("rfc5322-a5-comments-and-folding", raw,
     envelope("Thu,      13        Feb          1969      23:32               -0330 (Newfoundland Time)",
              None, [addr("Pete", "pete", "silly.test")],
              to=[group("A Group"), addr("Chris Jones", "c", "public.example"),
                  addr(None, "joe", "example.org"), addr("John", "jdoe", "one.test"), GROUP_END],
              cc=[group("Hidden recipients"), GROUP_END], mid="<testabcd.1234@silly.test>"),
     leaf("TEXT", "PLAIN", [], b"Testing.\r\n"))

# 47: bare CRs (a CR not followed by LF, kept by the store as sent, as Cyrus and Dovecot keep
# them) are ordinary octets: lines count LFs only, so CR CR LF ends one line and a final bare CR
# ends none. ENVELOPE strings are unfolded by dropping every CR and LF octet (see envelope.rs;
# Dovecot's envelope drops them too), so the subject's bare CR is not in the ENVELOPE; the
# header section itself keeps it
body = b"line one\rstill line one\r\n\rstarts with CR\r\nends with CR\r\r\nlast CR\r"
case("bare-cr-single-part", entity(STD + ["Subject: bare\rCR"], body), std_env("bareCR"),
     leaf("TEXT", "PLAIN", [], body))
spans("bare-cr-single-part", ("1", len(body), lines(body)))

# 48: bare CRs next to delimiters: a part ending in a bare CR (the CRLF before the delimiter is
# the delimiter's, so the CR stays in the part), a "--B" after a bare CR (not at the start of a
# line: no delimiter), a quoted-printable part with a bare CR
p1 = b"text ending in CR\r"
p2 = b"a bare CR then\r--B is no delimiter\r\nend"
qp = b"caf=E9\rau lait=\r\n and more"
raw = entity(STD + ["Subject: bare cr parts", "MIME-Version: 1.0",
                    "Content-Type: multipart/mixed; boundary=B"],
             mp("B", [entity(["Content-Type: text/plain"], p1),
                      entity(["Content-Type: text/plain"], p2),
                      entity(["Content-Type: text/plain; charset=iso-8859-1",
                              "Content-Transfer-Encoding: quoted-printable"], qp)]))
case("bare-cr-in-parts", raw, std_env("bare cr parts"),
     multi([leaf("TEXT", "PLAIN", [], p1), leaf("TEXT", "PLAIN", [], p2),
            leaf("TEXT", "PLAIN", [("CHARSET", "iso-8859-1")], qp, enc="QUOTED-PRINTABLE")],
           "MIXED", [("BOUNDARY", "B")]))
spans("bare-cr-in-parts", ("1", len(p1), lines(p1)), ("2", len(p2), lines(p2)),
      ("3", len(qp), lines(qp)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, raw, env, (bs, body) in CASES:
        with open(os.path.join(here, name + ".eml"), "wb") as f:
            f.write(raw)
        with open(os.path.join(here, name + ".expect"), "wb") as f:
            f.write(b"envelope: " + env + b"\n")
            f.write(b"bodystructure: " + bs + b"\n")
            f.write(b"body: " + body + b"\n")
            for section, size, n in EXTRA.get(name, ()):
                f.write(b"part %s: %d %d\n" % (section.encode(), size, n))
    print(len(CASES), "cases")


if __name__ == "__main__":
    main()
