"""OAUTHBEARER (RFC 7628) and XOAUTH2 through imaplib: JWT access tokens signed here with the
throwaway test keys (openssl) are checked by the server against the test JWKS; an expired token,
a token for another audience and a token signed by a key outside the JWKS are refused, after
RFC 7628's error challenge."""
import base64
import imaplib
import json
import os
import subprocess
import time

PORT = int(os.environ["IMAP_PORT"])
KEYS = os.environ["OAUTH_KEYS"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims, key="rsa-2048", kid="rsa-2048"):
    header = b64url(json.dumps({"alg": "RS256", "kid": kid}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = ("%s.%s" % (header, payload)).encode()
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", os.path.join(KEYS, key + ".pem")],
        input=signing_input,
        capture_output=True,
        check=True,
    ).stdout
    return "%s.%s.%s" % (header, payload, b64url(signature))


def claims(**extra):
    now = int(time.time())
    out = {"email": "bob", "exp": now + 600, "aud": "darius-test"}
    out.update(extra)
    return out


class Client:
    """Answers the first challenge with `first`; an error challenge with RFC 7628's %x01."""

    def __init__(self, first):
        self.first = first
        self.challenges = []

    def __call__(self, challenge):
        self.challenges.append(challenge)
        if len(self.challenges) == 1:
            return self.first
        return b"\x01"


def oauthbearer(tok, authzid="bob"):
    return ("n,a=%s,\x01host=localhost\x01port=%d\x01auth=Bearer %s\x01\x01" % (authzid, PORT, tok)).encode()


def xoauth2(tok, user="bob"):
    return ("user=%s\x01auth=Bearer %s\x01\x01" % (user, tok)).encode()


def logs_in(mechanism, response):
    m = imaplib.IMAP4("127.0.0.1", PORT)
    assert "AUTH=" + mechanism in m.capabilities, m.capabilities
    client = Client(response)
    try:
        typ, _ = m.authenticate(mechanism, client)
    except imaplib.IMAP4.error as e:
        m.shutdown()
        return False, str(e), client.challenges
    typ, data = m.getacl("INBOX")
    m.logout()
    assert typ == "OK" and b"bob" in data[0], data
    return True, "", client.challenges


def main():
    good = token(claims())
    ok, why, _ = logs_in("OAUTHBEARER", oauthbearer(good))
    assert ok, why
    ok, why, _ = logs_in("XOAUTH2", xoauth2(good))
    assert ok, why
    refused = {
        "expired": token(claims(exp=int(time.time()) - 3600)),
        "wrong audience": token(claims(aud="someone-else")),
        "key not in the JWKS": token(claims(), key="rsa-other"),
    }
    for what, tok in refused.items():
        ok, why, challenges = logs_in("OAUTHBEARER", oauthbearer(tok))
        assert not ok, what
        assert "AUTHENTICATIONFAILED" in why, (what, why)
        error = json.loads(challenges[-1] or b"{}")
        assert error.get("status") == "invalid_token", (what, challenges)
        ok, why, _ = logs_in("XOAUTH2", xoauth2(tok))
        assert not ok, "XOAUTH2 " + what
    # The token is bob's: XOAUTH2 for another user, or OAUTHBEARER acting as another, fails.
    ok, why, _ = logs_in("XOAUTH2", xoauth2(good, user="alice"))
    assert not ok, "XOAUTH2 user= mismatch"
    ok, why, _ = logs_in("OAUTHBEARER", oauthbearer(good, authzid="alice"))
    assert not ok and "AUTHORIZATIONFAILED" in why, why
    print("ok")


if __name__ == "__main__":
    main()
