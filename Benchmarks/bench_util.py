"""What the benchmark scripts share: /proc readings of a server process, and (from the interop tests' helpers, so
there is one copy) free ports and the ZooKeeper readiness probe."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "Interop"))

from interop_util import free_port, write_zoo_cfg, zookeeper_serving  # noqa: E402,F401  (re-exported for the benchmarks)


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
