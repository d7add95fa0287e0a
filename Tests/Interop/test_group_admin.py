"""Group and topic administration against `ledgerstream broker`: DeleteGroups, OffsetDelete, DescribeLogDirs, the
legacy AlterConfigs and DescribeTopicPartitions with kafka-python's and confluent-kafka's admin clients, the
unadvertised GetTelemetrySubscriptions, and the `group` / `topic alter` CLI.

All tests share one broker (module scope); each uses its own topics and groups.
"""
import json
import time

import pytest

import interop_util as u
from conftest import BIN, run

pytestmark = pytest.mark.timeout(120)


def cli(broker, *args, check=True):
    return run([BIN, *args, "-b", broker.address], check=check, timeout=60)


def produce(broker, topic, partitions, per_partition):
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=broker.address)
    for p in range(partitions):
        for i in range(per_partition):
            producer.send(topic, value=f"{p}-{i}".encode(), partition=p)
    producer.flush()
    producer.close()


def commit(broker, group, offsets):
    from kafka.structs import OffsetAndMetadata, TopicPartition
    admin = u.kp_admin(broker.address)
    try:
        admin.alter_group_offsets(group, {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()})
    finally:
        admin.close()


class ActiveMember:
    """A confluent-kafka consumer that joined `group` subscribed to `topic` (librdkafka heartbeats in the background)."""

    def __init__(self, broker, group, topic):
        from confluent_kafka import Consumer
        self.consumer = Consumer({"bootstrap.servers": broker.address, "group.id": group, "enable.auto.commit": False,
                                  "session.timeout.ms": 10000, "auto.offset.reset": "earliest"})
        self.consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while not self.consumer.assignment() and time.monotonic() < deadline:
            self.consumer.poll(0.2)
        assert self.consumer.assignment(), "consumer never got an assignment"

    def close(self):
        self.consumer.close()


def group_state(broker, group):
    listed = json.loads(cli(broker, "group", "list", "--format", "json").stdout)
    return {g["group"]: g["state"] for g in listed}.get(group)


# ---------------------------------------------------------------------------------------------------------------------
# Admin clients

def test_kafka_python_delete_groups_and_offsets(module_broker):
    from kafka.structs import TopicPartition
    topic, other = u.uniq("dg"), u.uniq("dg-other")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    u.kp_create_topic(module_broker.address, other, partitions=1)
    idle, active = u.uniq("idle"), u.uniq("active")
    commit(module_broker, idle, {(topic, 0): 5, (topic, 1): 7, (other, 0): 1})
    commit(module_broker, active, {(other, 0): 3})
    member = ActiveMember(module_broker, active, topic)
    admin = u.kp_admin(module_broker.address)
    try:
        offsets = admin.list_group_offsets({idle: None})[idle]
        assert {(tp.topic, tp.partition): om.offset for tp, om in offsets.items()} == \
            {(topic, 0): 5, (topic, 1): 7, (other, 0): 1}
        # OffsetDelete: the active group consumes `topic` (GROUP_SUBSCRIBED_TO_TOPIC) but not `other`.
        result = admin.delete_group_offsets(active, [TopicPartition(topic, 0), TopicPartition(other, 0)])
        errors = {(tp.topic, tp.partition): getattr(err, "errno", err) for tp, err in _pairs(result)}
        assert errors[(topic, 0)] == 86 and errors[(other, 0)] == 0, result
        assert u.committed_offsets(module_broker.address, active, other) == {}
        # DeleteGroups: the active group is refused, the idle one goes with its offsets, an unknown one is not found.
        results = dict(admin.delete_groups([idle, active, "no-such-group"]))
        assert results == {idle: "OK", active: "NonEmptyGroupError", "no-such-group": "GroupIdNotFoundError"}
        assert admin.list_group_offsets({idle: None})[idle] == {}
        assert idle not in repr(admin.list_groups())
    finally:
        admin.close()
        member.close()


def _pairs(result):
    """kafka-python returns OffsetDelete results as a dict or a list of (TopicPartition, error)."""
    return result.items() if isinstance(result, dict) else result


def test_confluent_kafka_delete_consumer_groups_and_offsets(module_broker):
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
    topic = u.uniq("ckdg")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    produce(module_broker, topic, 2, 5)
    idle, active = u.uniq("ck-idle"), u.uniq("ck-active")
    admin = u.ck_admin(module_broker.address)
    # alter_consumer_group_offsets then list_consumer_group_offsets.
    altered = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(
        idle, [TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 4)])])
    altered[idle].result(timeout=20)
    listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(idle)])[idle].result(timeout=20)
    assert sorted((tp.partition, tp.offset) for tp in listed.topic_partitions) == [(0, 3), (1, 4)]
    member = ActiveMember(module_broker, active, topic)
    try:
        futures = admin.delete_consumer_groups([idle, active], request_timeout=20)
        futures[idle].result(timeout=20)
        with pytest.raises(KafkaException) as refused:
            futures[active].result(timeout=20)
        assert refused.value.args[0].name() == "NON_EMPTY_GROUP"
    finally:
        member.close()
    listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(idle)])[idle].result(timeout=20)
    assert all(tp.offset < 0 for tp in listed.topic_partitions)


def test_describe_log_dirs(module_broker):
    topic = u.uniq("logdirs")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    produce(module_broker, topic, 2, 20)
    admin = u.kp_admin(module_broker.address)
    try:
        everything = admin.describe_log_dirs()
        only = admin.describe_log_dirs({topic: [1]})
    finally:
        admin.close()
    text = repr(everything)
    [broker] = everything
    [log_dir] = broker["log_dirs"]
    assert log_dir["error_code"] == 0 and log_dir["log_dir"] == module_broker.data_dir.rstrip("/")
    assert 0 < log_dir["usable_bytes"] <= log_dir["total_bytes"]
    assert topic in text
    only_text = repr(only)
    assert topic in only_text and "'partition_index': 0" not in only_text, only_text
    # Sizes are the bytes of the partition's segment files on disk: 20 records make more than 20 bytes.
    sizes = [p["partition_size"] for d in _log_dirs(only) for t in d["topics"] for p in t["partitions"]]
    assert sizes and all(s > 20 for s in sizes), only


def _log_dirs(result):
    for broker in result:
        yield from broker["log_dirs"]


def test_legacy_alter_configs_replaces_the_whole_set(module_broker):
    from kafka.admin import ConfigResource, ConfigResourceType
    topic = u.uniq("legacy")
    u.kp_create_topic(module_broker.address, topic, configs={"retention.ms": "3600000", "segment.ms": "600000"})
    admin = u.kp_admin(module_broker.address)
    try:
        # kafka-python's legacy path (AlterConfigs) sends the topic's other dynamic configs along with the change.
        result = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": "20000"})],
                                     incremental=False, raise_on_unknown=False)
        assert "Error" not in repr(result) or "NoError" in repr(result), result
        # Its legacy reset sends every dynamic config but segment.ms: the broker reverts what was left out.
        admin.reset_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"segment.ms": None})],
                            incremental=False, raise_on_unknown=False)
        bad = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "soon"})],
                                  incremental=False, raise_on_unknown=False)
        assert "InvalidConfig" in repr(bad), bad
    finally:
        admin.close()
    described = json.loads(cli(module_broker, "topic", "describe", topic, "--format", "json").stdout)[0]
    assert sorted(described["overrides"]) == ["max.message.bytes", "retention.ms"]
    assert described["configs"]["retention.ms"] == "3600000" and described["configs"]["max.message.bytes"] == "20000"
    assert described["config_sources"]["segment.ms"] in ("DEFAULT_CONFIG", "STATIC_BROKER_CONFIG")


def test_describe_topic_partitions_pages_with_a_cursor(module_broker):
    first, second = sorted([u.uniq("dtp-a"), u.uniq("dtp-b")])
    u.kp_create_topic(module_broker.address, first, partitions=3)
    u.kp_create_topic(module_broker.address, second, partitions=2)
    admin = u.kp_admin(module_broker.address)
    try:
        page = admin.describe_topic_partitions([second, first], response_partition_limit=4)
        rest = admin.describe_topic_partitions([second, first], cursor=page["next_cursor"])
    finally:
        admin.close()
    listed = [(t["name"], p["partition_index"], p["leader_id"], p["isr_nodes"]) for t in page["topics"] for p in t["partitions"]]
    assert listed == [(first, 0, 1, [1]), (first, 1, 1, [1]), (first, 2, 1, [1]), (second, 0, 1, [1])]
    assert page["next_cursor"] == {"topic_name": second, "partition_index": 1}
    assert [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in rest["topics"]] == [(second, [1])]
    assert rest["next_cursor"] is None


def test_telemetry_not_advertised_and_confluent_kafka_never_asks(module_broker):
    """As Kafka without a client telemetry receiver: key 71 is left out of ApiVersions, so librdkafka 2.16 (which
    polls GetTelemetrySubscriptions whenever it is advertised) never sends it and logs no telemetry errors."""
    import logging
    from confluent_kafka import Producer
    records = []

    class Sink(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger(u.uniq("rdkafka"))
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Sink())
    producer = Producer({"bootstrap.servers": module_broker.address, "debug": "telemetry,protocol", "logger": logger})
    producer.produce(u.uniq("telemetry"), b"x")
    assert producer.flush(15) == 0
    producer.poll(0.5)
    del producer
    joined = "\n".join(records)
    assert "Sent ProduceRequest" in joined and "Received ApiVersionResponse" in joined, joined[-2000:]
    assert "GetTelemetrySubscriptions" not in joined, joined[-2000:]
    assert not [line for line in records if "elemetry" in line and ("rror" in line or "ailed" in line)]


# ---------------------------------------------------------------------------------------------------------------------
# CLI

def test_cli_group_list_describe_delete(module_broker):
    topic = u.uniq("cli-g")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    produce(module_broker, topic, 2, 10)
    idle, active = u.uniq("cli-idle"), u.uniq("cli-active")
    commit(module_broker, idle, {(topic, 0): 4, (topic, 1): 10})
    member = ActiveMember(module_broker, active, topic)
    try:
        listed = cli(module_broker, "group", "list").stdout
        assert idle in listed and active in listed and "Stable" in listed and "Empty" in listed
        types = {g["group"]: (g["type"], g["protocol_type"], g["state"])
                 for g in json.loads(cli(module_broker, "group", "list", "--format", "json").stdout)}
        assert types[idle] == ("classic", "", "Empty") and types[active] == ("classic", "consumer", "Stable")
        described = json.loads(cli(module_broker, "group", "describe", idle, active, "--format", "json").stdout)
        by_group = {d["group"]: d for d in described}
        idle_parts = {(p["partition"]): (p["committed_offset"], p["log_end_offset"], p["lag"]) for p in by_group[idle]["partitions"]}
        assert idle_parts == {0: (4, 10, 6), 1: (10, 10, 0)}
        assert by_group[active]["state"] == "Stable" and len(by_group[active]["members"]) == 1
        owners = {p["partition"]: p["member_id"] for p in by_group[active]["partitions"]}
        assert set(owners) == {0, 1} and len(set(owners.values())) == 1 and None not in owners.values()
        text = cli(module_broker, "group", "describe", active).stdout
        assert "CONSUMER-ID" in text and "LOG-END-OFFSET" in text
        refused = cli(module_broker, "group", "delete", active, check=False)
        assert refused.returncode != 0 and "NON_EMPTY_GROUP" in refused.stderr
        assert f"Deleted group {idle}." in cli(module_broker, "group", "delete", idle).stdout
        assert group_state(module_broker, idle) is None
        missing = cli(module_broker, "group", "delete", idle, check=False)
        assert missing.returncode != 0 and "GROUP_ID_NOT_FOUND" in missing.stderr
        gone = cli(module_broker, "group", "describe", idle, check=False)
        assert gone.returncode != 0 and f"Consumer group '{idle}' does not exist." in gone.stderr
    finally:
        member.close()


def test_cli_reset_offsets_modes(module_broker):
    topic = u.uniq("cli-reset")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    produce(module_broker, topic, 1, 10)       # partition 0: offsets 0-9
    time.sleep(0.05)
    middle_ms = int(time.time() * 1000)
    time.sleep(0.05)
    produce(module_broker, topic, 2, 10)       # partition 0: 10-19, partition 1: 0-9
    group = u.uniq("cli-reset-g")
    commit(module_broker, group, {(topic, 0): 5, (topic, 1): 5})

    def plan(*mode, execute=False, spec=None):
        args = ["group", "reset-offsets", "--group", group, *(["--topic", spec] if spec else ["--all-topics"]), *mode,
                "--format", "json"] + (["--execute"] if execute else [])
        out = json.loads(cli(module_broker, *args).stdout)
        return {p["partition"]: (p["current_offset"], p["new_offset"]) for p in out["partitions"]}

    assert plan("--to-earliest") == {0: (5, 0), 1: (5, 0)}
    assert plan("--to-latest") == {0: (5, 20), 1: (5, 10)}
    assert plan("--to-offset", "15") == {0: (5, 15), 1: (5, 10)}          # clamped to the log end
    # Clamped to the log start; a negative value may follow a space, as with kafka-consumer-groups.sh.
    assert plan("--shift-by", "-7") == {0: (5, 0), 1: (5, 0)}
    assert plan("--shift-by", "3", spec=f"{topic}:1") == {1: (5, 8)}
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle_ms // 1000)) + f".{middle_ms % 1000:03d}Z"
    by_time = plan("--to-datetime", iso, spec=topic)
    assert by_time[0] == (5, 10) and by_time[1] == (5, 0), by_time
    # The previews changed nothing.
    assert u.committed_offsets(module_broker.address, group, topic) == {0: 5, 1: 5}
    preview_text = cli(module_broker, "group", "reset-offsets", "--group", group, "--all-topics", "--to-latest").stdout
    assert "NEW-OFFSET" in preview_text and "Preview only" in preview_text
    assert plan("--to-offset", "12", execute=True, spec=f"{topic}:0") == {0: (5, 12)}
    assert u.committed_offsets(module_broker.address, group, topic) == {0: 12, 1: 5}

    # Refused while the group has an active member.
    member = ActiveMember(module_broker, group, topic)
    try:
        refused = cli(module_broker, "group", "reset-offsets", "--group", group, "--all-topics", "--to-earliest",
                      "--execute", check=False)
        assert refused.returncode != 0
        assert "Assignments can only be reset if the group" in refused.stderr and "inactive" in refused.stderr
        preview = cli(module_broker, "group", "reset-offsets", "--group", group, "--all-topics", "--to-earliest",
                      check=False)
        assert preview.returncode != 0 and "Stable" in preview.stderr
    finally:
        member.close()
    assert u.committed_offsets(module_broker.address, group, topic) == {0: 12, 1: 5}


def test_cli_topic_alter_and_describe_sources(module_broker):
    topic = u.uniq("cli-alter")
    cli(module_broker, "topic", "create", topic, "--partitions", "1", "--config", "segment.ms=600000")
    cli(module_broker, "topic", "alter", topic, "--partitions", "3", "--config", "retention.ms=7200000",
        "--delete-config", "segment.ms")
    described = json.loads(cli(module_broker, "topic", "describe", topic, "--format", "json").stdout)[0]
    assert len(described["partitions"]) == 3
    assert described["configs"]["retention.ms"] == "7200000"
    assert described["config_sources"]["retention.ms"] == "DYNAMIC_TOPIC_CONFIG"
    assert described["config_sources"]["segment.ms"] != "DYNAMIC_TOPIC_CONFIG"
    text = cli(module_broker, "topic", "describe", topic).stdout
    assert "DYNAMIC_TOPIC_CONFIG" in text and "retention.ms" in text and "log.retention.ms" in text
    shrink = cli(module_broker, "topic", "alter", topic, "--partitions", "2", check=False)
    assert shrink.returncode != 0 and "INVALID_PARTITIONS" in shrink.stderr


def test_cli_on_a_kip848_consumer_group(start_broker):
    """The same commands for a KIP-848 group (librdkafka with group.protocol=consumer): described with
    ConsumerGroupDescribe, refused while it has members, reset and deleted once empty."""
    from confluent_kafka import Consumer
    broker = start_broker(extra=["--override", "group.consumer.min.heartbeat.interval.ms=500",
                                 "--override", "group.consumer.heartbeat.interval.ms=500"])
    topic, group = u.uniq("kip848"), u.uniq("kip848-g")
    u.kp_create_topic(broker.address, topic, partitions=2)
    produce(broker, topic, 2, 3)
    consumer = Consumer({"bootstrap.servers": broker.address, "group.id": group, "group.protocol": "consumer",
                         "client.id": "kip848-member", "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 30
        while len(consumer.assignment()) < 2 and time.monotonic() < deadline:
            consumer.poll(0.1)
        assert len(consumer.assignment()) == 2
        from confluent_kafka import TopicPartition
        consumer.commit(offsets=[TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 1)], asynchronous=False)
        [described] = json.loads(cli(broker, "group", "describe", group, "--format", "json").stdout)
        assert described["protocol_type"] == "consumer" and described["state"] == "Stable", described
        [member] = described["members"]
        assert member["client_id"] == "kip848-member" and member["assignment"] == {topic: [0, 1]}
        parts = {p["partition"]: (p["committed_offset"], p["log_end_offset"], p["lag"], p["member_id"])
                 for p in described["partitions"]}
        assert parts == {0: (2, 3, 1, member["member_id"]), 1: (1, 3, 2, member["member_id"])}
        listed = {g["group"]: g for g in json.loads(cli(broker, "group", "list", "--format", "json").stdout)}
        assert listed[group]["type"] == "consumer"
        refused = cli(broker, "group", "reset-offsets", "--group", group, "--all-topics", "--to-earliest", "--execute",
                      check=False)
        assert refused.returncode != 0 and "inactive" in refused.stderr
        busy = cli(broker, "group", "delete", group, check=False)
        assert busy.returncode != 0 and "NON_EMPTY_GROUP" in busy.stderr
    finally:
        consumer.close()
    u.wait_until(lambda: group_state(broker, group) == "Empty", timeout=15, message="group empty after close")
    cli(broker, "group", "reset-offsets", "--group", group, "--all-topics", "--to-earliest", "--execute")
    assert u.committed_offsets(broker.address, group, topic) == {0: 0, 1: 0}
    assert f"Deleted group {group}." in cli(broker, "group", "delete", group).stdout
    assert group_state(broker, group) is None
