"""The failed-login penalty seen from two client addresses (127.0.0.1 and 127.0.0.2): after 50
wrong passwords from one address, its next failure is answered later than another address's
first failure, and the other address's right password is answered sooner than either. The test
compares durations with each other, never with a fixed time."""
import os
import socket
import threading
import time

PORT = int(os.environ["IMAP_PORT"])


def attempt(source, user, password):
    """One LOGIN from `source`: (tagged answer, seconds from sending to the answer)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=120, source_address=(source, 0))
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    started = time.monotonic()
    s.sendall(b"a LOGIN %s %s\r\n" % (user.encode(), password.encode()))
    while True:
        line = f.readline()
        assert line, "connection closed"
        if line.startswith(b"a "):
            break
    took = time.monotonic() - started
    s.close()
    return line.decode().strip(), took


def in_parallel(jobs):
    results = [None] * len(jobs)

    def run(i, job):
        results[i] = attempt(*job)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    # Waves small enough for the password hashing queue, so that every attempt is checked
    # (a full queue answers "try later" without counting a failure).
    for wave in range(2):
        jobs = [("127.0.0.1", "alice", "guess-%d-%d" % (wave, n)) for n in range(25)]
        for answer, _ in in_parallel(jobs):
            assert answer.startswith("a NO [AUTHENTICATIONFAILED]"), answer
    (attacker, attacker_took), (stranger, stranger_took), (good, good_took) = in_parallel(
        [
            ("127.0.0.1", "zed", "another-guess"),
            ("127.0.0.2", "yan", "a-typo"),
            ("127.0.0.2", "alice", "pw-alice"),
        ]
    )
    assert attacker.startswith("a NO"), attacker
    assert stranger.startswith("a NO"), stranger
    assert good.startswith("a OK"), good
    assert good_took < stranger_took < attacker_took, (good_took, stranger_took, attacker_took)
    print("right password %.2fs, first failure %.2fs, guessing address %.2fs"
          % (good_took, stranger_took, attacker_took))


if __name__ == "__main__":
    main()
