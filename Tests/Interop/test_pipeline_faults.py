"""The pipeline rides through failures: `produce --csv` keeps going while the broker, the sink and the coordinator
(`ledgerstream zookeeper`, where the broker is registered) are each killed with SIGKILL at random moments and
restarted, and the ledger ends equal to a recomputation from the CSV, every row applied exactly once. An import that
failed part-way (the broker gone past delivery.timeout.ms) is simply run again: rows already applied are skipped.

Random choices come from a seed printed at the start of each test (set LEDGERSTREAM_FAULT_SEED to replay one).
"""
import os
import random
import signal
import sqlite3
import subprocess
import time

from conftest import BIN, REPO, Server, broker_args, restart_zookeeper, run

SESSION_MS = 4000


def seeded(name):
    seed = int(os.environ.get("LEDGERSTREAM_FAULT_SEED", random.randrange(1 << 32)))
    print(f"{name}: LEDGERSTREAM_FAULT_SEED={seed}")
    return random.Random(seed)


def write_csv(path, rng, total, accounts=200):
    """A random walk of deposits and withdrawals (exact cents), with the balance column left empty; returns each
    account's expected balance in cents and its number of rows."""
    balances, counts = {}, {}
    names = [f"C{i:04d}" for i in range(accounts)]
    with open(path, "w") as out:
        out.write("transaction_date;account;transaction_value;balance\n")
        for i in range(total):
            account = rng.choice(names)
            cents = rng.randint(1, 500_000) * (1 if rng.random() < 0.55 else -1)
            balances[account] = balances.get(account, 0) + cents
            counts[account] = counts.get(account, 0) + 1
            sign = "-" if cents < 0 else ""
            out.write(f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:00:00;{account};{sign}{abs(cents) // 100}.{abs(cents) % 100:02d};\n")
    return balances, counts


def query(db, sql):
    connection = sqlite3.connect(db, timeout=30)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def applied(db):
    try:
        return query(db, "SELECT COUNT(*) FROM ledger_postings")[0][0]
    except sqlite3.Error:
        return 0


def log_bytes(directory):
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(directory)
               for name in names if name.endswith(".log"))


def start_sink(db, address):
    return subprocess.Popen([BIN, "consume", "transactions", "--sink", "sqlite", "--db", db, "-b", address],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def assert_ledger_matches(db, total, balances, counts):
    assert query(db, "SELECT COUNT(*), COUNT(DISTINCT source_line) FROM ledger_postings") == [(total, total)]
    assert query(db, "SELECT COUNT(*) FROM transactions") == [(total,)]
    assert dict(query(db, "SELECT account, balance_cents FROM account_balances")) == balances
    assert dict(query(db, "SELECT account, entries FROM account_balances")) == counts
    # No position applied twice either.
    assert query(db, "SELECT COUNT(*) FROM (SELECT DISTINCT topic, partition, offset FROM ledger_postings)") == [(total,)]


def wait_for_sink(db, total, sink, timeout=180):
    deadline = time.time() + timeout
    while applied(db) < total and time.time() < deadline:
        assert sink.poll() is None, f"the sink exited: {sink.stderr.read()}"
        time.sleep(0.2)
    assert applied(db) == total


def test_producer_broker_sink_and_coordinator_killed_at_random(data_dir, start_zookeeper):
    rng = seeded("pipeline faults")
    total = 200_000
    csv = os.path.join(data_dir, "transactions.csv")
    balances, counts = write_csv(csv, rng, total)
    zookeeper = start_zookeeper()
    broker_dir = os.path.join(data_dir, "broker")
    broker = Server(broker_args(broker_dir, extra=[
        "--zookeeper", f"127.0.0.1:{zookeeper.port}/kafka",
        "--override", f"zookeeper.session.timeout.ms={SESSION_MS}"]), broker_dir).start()
    db = os.path.join(data_dir, "ledger.db")
    sink = None
    producer = None
    try:
        run([BIN, "topic", "create", "transactions", "--partitions", "3", "-b", broker.address])
        sink = start_sink(db, broker.address)
        producer = subprocess.Popen([BIN, "produce", "--csv", csv, "-b", broker.address],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Every victim once, in a random order, quickly (the broker never last: its kill must interrupt the import),
        # then more at random while the import runs. A victim left when the import ends (the sink, the coordinator)
        # is killed while the sink catches up. Until the broker's kill, the others' come at once: a release build
        # imports the 200,000 rows in a fraction of a second.
        def pause(low, high):
            broker_killed = any(victim == "broker" for victim, _ in faults)
            time.sleep(rng.uniform(low, high) if broker_killed else rng.uniform(0, 0.02))
        victims = ["broker", "sink", "zookeeper"]
        rng.shuffle(victims)
        if victims[2] == "broker":
            victims[1], victims[2] = victims[2], victims[1]
        faults = []

        def kill(victim):
            nonlocal sink, zookeeper
            when = "while producing" if producer.poll() is None else "while the sink catches up"
            if victim == "broker":
                broker.restart(kill=True)
            elif victim == "zookeeper":
                zookeeper = restart_zookeeper(zookeeper, kill=True)
            else:
                sink.send_signal(signal.SIGKILL)
                sink.wait()
                pause(0, 0.5)
                sink = start_sink(db, broker.address)
            faults.append((victim, when))

        expected_bytes = total * 120  # about what the import leaves in the log
        while len(faults) < 8 and (len(faults) < 3 or producer.poll() is None):
            victim = victims[len(faults)] if len(faults) < 3 else rng.choice(["broker", "sink", "zookeeper"])
            if victim == "broker" and len(faults) < 3:
                # The broker's first kill lands part-way through the import, at a random point of it.
                target = log_bytes(broker_dir) + rng.uniform(0.02, 0.3) * expected_bytes
                deadline = time.time() + 120
                while log_bytes(broker_dir) < target and producer.poll() is None and time.time() < deadline:
                    time.sleep(0.01)
            elif len(faults) < 3:
                pause(0.1, 0.6)
            else:
                time.sleep(rng.uniform(0.3, 1.5))
            kill(victim)
        out, err = producer.communicate(timeout=600)
        print(f"faults injected: {faults}")
        assert ("broker", "while producing") in faults
        assert producer.returncode == 0, err
        assert f"{total} transactions from {csv} acknowledged" in err
        wait_for_sink(db, total, sink)
        sink.send_signal(signal.SIGTERM)
        assert sink.wait(timeout=30) == 0
        assert_ledger_matches(db, total, balances, counts)
    finally:
        for process in (producer, sink):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        broker.stop(kill=True)


def test_an_import_that_failed_part_way_is_run_again_without_doubling(data_dir):
    rng = seeded("re-import")
    total = 100_000
    csv = os.path.join(data_dir, "transactions.csv")
    balances, counts = write_csv(csv, rng, total)
    broker_dir = os.path.join(data_dir, "broker")
    broker = Server(broker_args(broker_dir), broker_dir).start()
    db = os.path.join(data_dir, "ledger.db")
    try:
        run([BIN, "topic", "create", "transactions", "--partitions", "3", "-b", broker.address])
        # The broker goes away for longer than the producer's delivery timeout: the import fails part-way.
        producer = subprocess.Popen([BIN, "produce", "--csv", csv, "-b", broker.address, "-X", "delivery.timeout.ms=1500"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Killed once part of the file is in the log (about a tenth of it, in 200-byte records).
        deadline = time.time() + 120
        while log_bytes(broker_dir) < rng.uniform(0.05, 0.5) * total * 200 and time.time() < deadline:
            time.sleep(0.02)
        broker.stop(kill=True)
        _, err = producer.communicate(timeout=120)
        assert producer.returncode == 1, err
        assert f"of {total} transactions acknowledged" in err and "delivery.timeout.ms" in err, err
        broker.restart()
        # Run again, as the user would: everything ends up applied exactly once, and the sink says what it skipped.
        run([BIN, "produce", "--csv", csv, "-b", broker.address], timeout=300)
        result = run([BIN, "consume", "transactions", "--sink", "sqlite", "--db", db, "-e", "-b", broker.address], timeout=300)
        assert_ledger_matches(db, total, balances, counts)
        assert "already applied by an earlier import, skipped" in result.stderr, result.stderr
        # A third run, by mistake, applies nothing.
        run([BIN, "produce", "--csv", csv, "-b", broker.address], timeout=300)
        again = run([BIN, "consume", "transactions", "--sink", "sqlite", "--db", db, "-e", "-b", broker.address], timeout=300)
        assert f"applied 0 transactions to {db} ({total} file rows already applied by an earlier import, skipped)" in again.stderr
        assert_ledger_matches(db, total, balances, counts)
    finally:
        broker.stop(kill=True)


def test_shell_and_sink_ride_through_a_broker_restart(broker, data_dir, processes):
    """A deposit entered while the broker is down and coming back is produced once it is back (the shell's producer
    retries) and applied by a sink that kept running through the restart."""
    sample = os.path.join(REPO, "data", "client_transactions.csv")
    run([BIN, "produce", "--csv", sample, "-b", broker.address])
    db = os.path.join(data_dir, "ledger.db")
    run([BIN, "consume", "--sink", "sqlite", "--db", db, "-e", "-b", broker.address])
    sink = start_sink(db, broker.address)
    processes.append(sink)
    shell = subprocess.Popen([BIN, "shell", "--db", db, "-b", broker.address, "--apply-timeout", "20"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes.append(shell)
    # A first deposit, applied, shows the shell and the sink both connected before the broker goes.
    shell.stdin.write("login C100\ndeposit 5\n")
    shell.stdin.flush()
    seen = []
    while not any("deposit of 5.00 applied" in line for line in seen):
        line = shell.stdout.readline()
        assert line, f"the shell ended: {''.join(seen)}{shell.stderr.read()}"
        seen.append(line)
    broker.stop(kill=True)
    shell.stdin.write("deposit 10\n")
    shell.stdin.flush()
    time.sleep(0.5)
    broker.restart()
    out, err = shell.communicate("logout\nquit\n", timeout=60)
    assert shell.returncode == 0, err
    sink_state = "running" if sink.poll() is None else f"exited {sink.returncode}: {sink.stderr.read()}"
    assert "deposit of 10.00 applied — C100 balance 845.00" in out, out + err + f"\nsink: {sink_state}"
    assert query(db, "SELECT balance_cents FROM account_balances WHERE account = 'C100'") == [(84500,)]


def import_while_the_broker_dies(data_dir, name, settings):
    """Imports 200,000 rows with the producer `settings` (-X pairs) and kills the broker once 2-10 % of them are in
    its log; returns the total, produce's exit code and stderr, and how long it ran on after the kill."""
    rng = seeded(name)
    total = 200_000
    csv = os.path.join(data_dir, "transactions.csv")
    write_csv(csv, rng, total)
    broker_dir = os.path.join(data_dir, "broker")
    broker = Server(broker_args(broker_dir), broker_dir).start()
    try:
        run([BIN, "topic", "create", "transactions", "--partitions", "3", "-b", broker.address])
        settings_args = [arg for setting in settings for arg in ("-X", setting)]
        producer = subprocess.Popen([BIN, "produce", "--csv", csv, "-b", broker.address, *settings_args],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while log_bytes(broker_dir) < total * 200 * rng.uniform(0.02, 0.1) and time.time() < deadline:
            time.sleep(0.02)
        broker.stop(kill=True)
        gone = time.time()
        _, err = producer.communicate(timeout=120)
        return total, producer.returncode, err, time.time() - gone
    finally:
        broker.stop(kill=True)


def assert_the_import_stopped(total, code, err, elapsed, reason):
    """produce failed within 15 s of the broker's death, naming `reason`, the acknowledged count and what to do."""
    assert code == 1, err
    assert "stopped sending" in err and f"of {total} transactions acknowledged" in err, err
    assert reason in err and "Import the file again" in err, err
    assert elapsed < 15, f"produce took {elapsed:.1f} s to stop after the broker went away: {err}"


def test_an_import_stops_at_the_first_batch_that_failed(data_dir):
    """With the broker gone for good, `produce --csv` stops once a batch has failed after delivery.timeout.ms,
    instead of sending every remaining buffer.memory's worth of rows into the same wait (with a 1 MiB buffer, the
    200,000 rows here would take at least forty such waits of a second)."""
    assert_the_import_stopped(*import_while_the_broker_dies(
        data_dir, "first-failure", ["delivery.timeout.ms=1000", "buffer.memory=1048576"]), reason="delivery.timeout.ms")


def test_an_import_stops_when_the_buffer_stays_full_for_max_block_ms(data_dir):
    """With the broker gone and buffer.memory full, `send` gives up after max.block.ms (Kafka's bound on it), long
    before delivery.timeout.ms (two minutes by default) would fail the batches ahead, and the import says so."""
    assert_the_import_stopped(*import_while_the_broker_dies(
        data_dir, "max-block", ["max.block.ms=500", "buffer.memory=1048576"]), reason="max.block.ms (500 ms)")
