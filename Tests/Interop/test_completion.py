"""Dynamic topic-name completion, as the generated shell scripts call it (`ledgerstream ---completion …`): names
come from the broker given with -b on the line; an unreachable or silent broker gives nothing, quickly, silently."""
import socket
import subprocess
import time

from conftest import BIN, run


def complete(*line, timeout=10):
    """Asks for completions of the last word of `ledgerstream topic describe …` (its first positional argument)."""
    words = ["ledgerstream", "topic", "describe", *line]
    cursor = len(words) - 1
    return subprocess.run([BIN, "---completion", "topic", "describe", "--", "positional@0", str(cursor),
                           str(len(words[-1])), *words], capture_output=True, text=True, timeout=timeout)


def test_topic_names_come_from_the_broker(broker):
    for name in ["payments", "payouts", "orders"]:
        run([BIN, "topic", "create", name, "-b", broker.address])
    result = complete("-b", broker.address, "pa")
    assert result.returncode == 0 and result.stderr == ""
    assert sorted(result.stdout.split()) == ["payments", "payouts"]
    assert "orders" in complete("-b", broker.address, "").stdout.split()


def test_unreachable_or_silent_broker_gives_nothing_quickly():
    started = time.monotonic()
    refused = complete("-b", "127.0.0.1:1", "pa")
    assert refused.stdout.strip() == "" and refused.stderr == ""
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        begun = time.monotonic()
        hung = complete("-b", f"127.0.0.1:{port}", "pa")
        assert time.monotonic() - begun < 3
    assert hung.stdout.strip() == "" and hung.stderr == ""
    assert time.monotonic() - started < 6
