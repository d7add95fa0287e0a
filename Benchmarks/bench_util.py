"""What the benchmark scripts share: /proc readings of a server process, and (from the interop tests' helpers, so
there is one copy) free ports and the ZooKeeper readiness probe."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Interop"))

from interop_util import free_port, write_zoo_cfg, zookeeper_serving  # noqa: E402,F401  (re-exported for the benchmarks)


def money(cents):
    """Cents as the CSV writes them: 1234 -> "12.34", -5 -> "-0.05"."""
    return ("-" if cents < 0 else "") + f"{abs(cents) // 100}.{abs(cents) % 100:02d}"


def write_csv(path, rows, seed=1):
    """Bank-shaped rows in the original format: 1,000 accounts, every row states the running balance, withdrawals never
    overdraw."""
    import random
    generator = random.Random(seed)
    balances = [0] * 1000
    with open(path, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n")
        for i in range(rows):
            account = i % 1000
            cents = generator.randint(1, 500_000) * (1 if generator.random() < 0.5 else -1)
            if cents < 0 and -cents > balances[account]:
                cents = -cents
            balances[account] += cents
            out.write(f"{1 + i % 28}/{1 + i % 12}/2024;C{account};{money(cents)};{money(balances[account])}\n")


def memory_kib(pid):
    """VmRSS, VmHWM (peak), RssAnon and RssFile of a process, in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0])
    return values


def cpu_seconds(pid):
    """User + system CPU time the process has used so far (utime + stime, clock ticks -> seconds)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
