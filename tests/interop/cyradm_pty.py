"""Drives the real `cyradm` (Debian's cyrus-admin) on a pseudo-terminal, as an administrator
types, and reads what it lists, for the interop scripts beside this one."""
import imaplib
import os
import pty
import select
import termios
import time

PROMPT = b"> "


class Cyradm:
    """One cyradm session as `user` (SASL PLAIN with `password`) on a pty: every command is
    answered before the next prompt."""

    def __init__(self, port, user, password):
        self.port = port
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(
                "cyradm",
                ["cyradm", "--user", user, "--port", str(port), "--auth", "PLAIN", "127.0.0.1"],
            )
        self.read_until(b"assword:")
        self.wait_for_echo_off()
        os.write(self.fd, (password + "\n").encode())
        self.read_until(PROMPT)

    def wait_for_echo_off(self, timeout=30):
        """Waits until the program reading the password has turned the terminal's echo off.
        cyradm prints its `Password: ` prompt and then calls getpass(3), which switches echo
        off with TCSAFLUSH: a password typed before that is thrown away (and cyradm then
        reads the next command as the password), so it is typed only once echo is off."""
        end = time.time() + timeout
        while termios.tcgetattr(self.fd)[3] & termios.ECHO:
            if time.time() > end:
                raise AssertionError("cyradm never turned echo off to read the password")
            time.sleep(0.01)

    def read_until(self, marker, timeout=30):
        buf = b""
        end = time.time() + timeout
        while time.time() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                buf += data
                if buf.rstrip().endswith(marker.rstrip()):
                    return buf.decode(errors="replace")
        raise AssertionError(f"cyradm did not answer within {timeout}s: {buf!r}")

    def run(self, command):
        """The lines cyradm printed for `command` (its errors included: they go to the same
        terminal)."""
        os.write(self.fd, (command + "\n").encode())
        out = self.read_until(PROMPT)
        # Drop the echoed command, the prompt and the terminal's bracketed-paste switches.
        lines = [
            line.replace("\x1b[?2004h", "").replace("\x1b[?2004l", "").strip()
            for line in out.splitlines()
        ]
        return [l for l in lines[1:] if l and not l.endswith(">")]

    def quiet(self, command):
        """Runs a command that succeeds silently."""
        out = self.run(command)
        assert out == [], f"{command}: {out}"

    def refused(self, command, what):
        """Runs a command the server must refuse: cyradm prints `WHAT: <the server's text>`."""
        out = self.run(command)
        assert len(out) == 1 and out[0].startswith(f"{what}: "), f"{command}: {out}"
        print(f"{command}: {out[0]}")

    def close(self):
        os.write(self.fd, b"quit\n")
        time.sleep(0.2)
        os.waitpid(self.pid, 0)


def listed(lines):
    """Mailbox names of `lm` output (columns of `name (attributes)`)."""
    names = []
    for line in lines:
        rest = line
        while "(" in rest:
            name, _, rest = rest.partition("(")
            names.append(name.strip())
            rest = rest.partition(")")[2]
    return names


def imap_login(port, user):
    """An IMAP session of `user`, whose password is `pw-USER`."""
    m = imaplib.IMAP4("127.0.0.1", port)
    typ, data = m.login(user, f"pw-{user}")
    assert typ == "OK", (user, data)
    return m
