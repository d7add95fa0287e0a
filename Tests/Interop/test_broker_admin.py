"""Admin APIs against `ledgerstream broker` with kafka-python's KafkaAdminClient, confluent-kafka's AdminClient and
aiokafka's AIOKafkaAdminClient: create/describe/delete topics (and their errors), describe/alter configs,
create_partitions, list/describe consumer groups and group offsets.

All tests share one broker (module scope); each uses its own topics and groups.
"""
import asyncio

import pytest

import interop_util as u

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def kp_admin(module_broker):
    admin = u.kp_admin(module_broker.address)
    yield admin
    admin.close()


@pytest.fixture
def ck_admin(module_broker):
    return u.ck_admin(module_broker.address)


def ck_error(future):
    """The KafkaError a confluent-kafka admin future failed with (None if it succeeded)."""
    from confluent_kafka import KafkaException
    try:
        future.result(timeout=20)
    except KafkaException as exc:
        return exc.args[0]
    return None


# ---------------------------------------------------------------------------------------------------------------------
# kafka-python KafkaAdminClient

def test_kafka_python_create_describe_delete(module_broker, kp_admin):
    topic = u.uniq("kpa")
    result = kp_admin.create_topics({topic: {"num_partitions": 3, "replication_factor": 1,
                                             "configs": {"retention.ms": "3600000"}}})
    [created] = result["topics"]
    assert (created["name"], created["error_code"]) == (topic, 0)
    assert created["num_partitions"] == 3 and created["replication_factor"] == 1  # CreateTopics v5+ echoes them
    assert created["configs"]["retention.ms"]["value"] == "3600000"
    assert topic in kp_admin.list_topics()
    [described] = kp_admin.describe_topics([topic])
    assert described["error_code"] == 0 and described["is_internal"] is False
    parts = sorted(described["partitions"], key=lambda p: p["partition_index"])
    assert [(p["partition_index"], p["leader_id"], p["replica_nodes"], p["isr_nodes"]) for p in parts] == \
        [(i, 1, [1], [1]) for i in range(3)]

    deleted = kp_admin.delete_topics([topic])
    assert [(t["name"], t["error_code"]) for t in deleted["topics"]] == [(topic, 0)]
    assert topic not in kp_admin.list_topics()
    # The name is free again, and the new topic starts empty with a new topic id (Fetch v13+ clients use ids).
    recreated = kp_admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})["topics"][0]
    assert recreated["topic_id"] and recreated["topic_id"] != created["topic_id"], (created["topic_id"], recreated["topic_id"])
    assert recreated["num_partitions"] == 1
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=module_broker.address)
    try:
        tp = TopicPartition(topic, 0)
        assert consumer.end_offsets([tp]) == {tp: 0}
    finally:
        consumer.close()
    kp_admin.delete_topics([topic])


def test_kafka_python_create_topic_errors(kp_admin):
    import kafka.errors as Errors
    topic = u.uniq("kperr")
    kp_admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
    cases = [
        ({topic: {"num_partitions": 1, "replication_factor": 1}}, Errors.TopicAlreadyExistsError),
        ({u.uniq("rf3"): {"num_partitions": 1, "replication_factor": 3}}, Errors.InvalidReplicationFactorError),
        ({"bad name!": {"num_partitions": 1, "replication_factor": 1}}, Errors.InvalidTopicError),
        ({"x" * 250: {"num_partitions": 1, "replication_factor": 1}}, Errors.InvalidTopicError),
        ({"..": {"num_partitions": 1, "replication_factor": 1}}, Errors.InvalidTopicError),
        ({u.uniq("badcfg"): {"num_partitions": 1, "replication_factor": 1, "configs": {"retention.ms": "abc"}}},
         Errors.InvalidConfigurationError),
        ({u.uniq("zero"): {"num_partitions": 0, "replication_factor": 1}}, Errors.InvalidPartitionsError),
    ]
    outcomes = []
    for spec, expected in cases:
        try:
            kp_admin.create_topics(spec)
            outcomes.append((list(spec)[0][:20], expected.__name__, "no error"))
        except Errors.KafkaError as exc:
            if not isinstance(exc, expected):
                outcomes.append((list(spec)[0][:20], expected.__name__, type(exc).__name__))
    assert outcomes == [], f"(topic, expected, got): {outcomes}"
    listed = kp_admin.list_topics()
    assert not [t for t in listed if t.startswith(("rf3-", "badcfg-", "zero-")) or t in ("bad name!", "..")], listed

    with pytest.raises(Errors.UnknownTopicOrPartitionError):
        kp_admin.delete_topics([u.uniq("missing")])
    kp_admin.delete_topics([topic])


def test_kafka_python_describe_and_alter_configs(module_broker, kp_admin):
    from kafka.admin import ConfigResource, ConfigResourceType
    topic = u.uniq("kpcfg")
    kp_admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1,
                                    "configs": {"retention.ms": "3600000", "cleanup.policy": "delete"}}})
    resource = ConfigResource(ConfigResourceType.TOPIC, topic)
    everything = kp_admin.describe_configs([resource], config_filter="all")["topic"][topic]
    assert everything["retention.ms"]["value"] == "3600000"
    assert everything["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert everything["segment.bytes"]["value"] == "1073741824"
    assert everything["segment.bytes"]["config_source"] == "DEFAULT_CONFIG"
    assert everything["max.message.bytes"]["config_source"] == "DEFAULT_CONFIG"
    # Only the overrides count as "modified".
    modified = kp_admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])["topic"][topic]
    assert set(modified) == {"retention.ms", "cleanup.policy"}, sorted(modified)

    # Incremental alter (IncrementalAlterConfigs): SET one key, DELETE another.
    result = kp_admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                    configs={"retention.ms": "7200000",
                                                             "cleanup.policy": ("DELETE", None)})],
                                    incremental=True)
    assert result == {"topic": {topic: "OK"}}, result
    after = kp_admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                      config_filter="all")["topic"][topic]
    assert after["retention.ms"]["value"] == "7200000"
    assert after["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert after["cleanup.policy"]["config_source"] == "DEFAULT_CONFIG"
    # An invalid value is rejected and changes nothing.
    bad = kp_admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "soon"})],
                                 incremental=True)
    assert bad["topic"][topic] != "OK" and "InvalidConfiguration" in bad["topic"][topic], bad
    again = kp_admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})],
                                      config_filter="all")["topic"][topic]
    assert again["retention.ms"]["value"] == "7200000"

    # Broker resource: read-only static settings.
    broker = kp_admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")],
                                       config_filter="all")["broker"]["1"]
    assert broker["socket.request.max.bytes"]["value"] == "104857600"
    assert broker["group.initial.rebalance.delay.ms"]["value"] == "0"
    kp_admin.delete_topics([topic])


def test_kafka_python_create_partitions(module_broker, kp_admin):
    import kafka.errors as Errors
    topic = u.uniq("kpparts")
    kp_admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
    kp_admin.create_partitions({topic: 3})
    [described] = kp_admin.describe_topics([topic])
    assert sorted(p["partition_index"] for p in described["partitions"]) == [0, 1, 2]
    with pytest.raises(Errors.InvalidPartitionsError):
        kp_admin.create_partitions({topic: 2})
    with pytest.raises(Errors.UnknownTopicOrPartitionError):
        kp_admin.create_partitions({u.uniq("missing"): 2})
    # The new partition takes writes and reads.
    producer = u.kp_producer(module_broker.address)
    try:
        meta = producer.send(topic, b"in-p2", partition=2).get(timeout=15)
    finally:
        producer.close()
    assert (meta.partition, meta.offset) == (2, 0)
    assert [r.value for r in u.kp_read_all(module_broker.address, topic, 1, partitions=[2])] == [b"in-p2"]
    kp_admin.delete_topics([topic])


def test_kafka_python_groups_list_describe_offsets(module_broker, kp_admin):
    topic, group = u.uniq("kpgrp"), u.uniq("g")
    kp_admin.create_topics({topic: {"num_partitions": 2, "replication_factor": 1}})
    producer = u.kp_producer(module_broker.address)
    try:
        for p in range(2):
            for i in range(3 + p):
                producer.send(topic, f"{p}-{i}".encode(), partition=p)
        producer.flush(timeout=15)
    finally:
        producer.close()
    member = u.KafkaPythonMember("kp-admin-member", module_broker.address, group, topic)
    member.start()
    try:
        u.wait_until(lambda: len(member.records) >= 7 and member.assignment == {0, 1}, timeout=20,
                     message="member to consume and own both partitions")
        u.wait_until(lambda: u.committed_offsets(module_broker.address, group, topic) == {0: 3, 1: 4}, timeout=10,
                     message="member commits")
        listed = {g["group_id"]: g for g in kp_admin.list_groups()}
        assert group in listed, listed
        assert listed[group]["protocol_type"] == "consumer"
        description = kp_admin.describe_groups([group])[group]
        assert description["error"] is None
        assert description["group_state"] == "Stable"
        assert description["protocol_type"] == "consumer"
        assert description["protocol_data"] == "range"  # first assignor kafka-python offers
        [m] = description["members"]
        assert m["client_id"] == "kp-admin-member"
        assert m["client_host"].strip("/") == "127.0.0.1"
        assignment = m["member_assignment"]
        # DescribeGroups returns the member's assignment and subscription bytes unchanged (decoded by the client).
        assert sorted((t["topic"], sorted(t["partitions"])) for t in assignment["assigned_partitions"]) == \
            [(topic, [0, 1])], assignment
        assert list(m["member_metadata"]["topics"]) == [topic], m["member_metadata"]
        offsets = kp_admin.list_group_offsets({group: None})[group]
        assert {(tp.topic, tp.partition): om.offset for tp, om in offsets.items()} == {(topic, 0): 3, (topic, 1): 4}
    finally:
        member.stop()
    assert member.error is None, repr(member.error)
    description = kp_admin.describe_groups([group])[group]
    assert description["group_state"] == "Empty" and description["members"] == []
    # Offsets outlive the members.
    assert u.committed_offsets(module_broker.address, group, topic) == {0: 3, 1: 4}
    # An unknown group is reported as Dead with no members (Apache Kafka behaviour), not as an error.
    unknown = kp_admin.describe_groups([u.uniq("nogroup")])
    [(_, d)] = unknown.items()
    assert d["group_state"] == "Dead" and d["members"] == [] and d["error"] is None, d


# ---------------------------------------------------------------------------------------------------------------------
# confluent-kafka AdminClient

def test_confluent_create_describe_delete_and_errors(module_broker, ck_admin):
    from confluent_kafka import KafkaError, TopicCollection
    from confluent_kafka.admin import NewTopic
    topic = u.uniq("cka")
    assert ck_admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(20) is None
    described = ck_admin.describe_topics(TopicCollection([topic]))[topic].result(20)
    assert described.name == topic and described.is_internal is False
    assert [(p.id, p.leader.id, [r.id for r in p.replicas], [r.id for r in p.isr]) for p in described.partitions] == \
        [(i, 1, [1], [1]) for i in range(3)]
    md = ck_admin.list_topics(topic=topic, timeout=10)
    assert sorted(md.topics[topic].partitions) == [0, 1, 2]

    cases = [
        (NewTopic(topic, 1, 1), KafkaError.TOPIC_ALREADY_EXISTS),
        (NewTopic(u.uniq("rf3"), 1, 3), KafkaError.INVALID_REPLICATION_FACTOR),
        (NewTopic("bad/name", 1, 1), KafkaError.TOPIC_EXCEPTION),
        (NewTopic(u.uniq("badcfg"), 1, 1, config={"cleanup.policy": "shred"}), KafkaError.INVALID_CONFIG),
        (NewTopic(u.uniq("badcfg"), 1, 1, config={"retention.ms": "abc"}), KafkaError.INVALID_CONFIG),
    ]
    outcomes = []
    for spec, code in cases:
        error = ck_error(ck_admin.create_topics([spec])[spec.topic])
        if error is None or error.code() != code:
            outcomes.append((spec.topic, KafkaError(code).name(), error and error.name()))
    assert outcomes == [], f"(topic, expected, got): {outcomes}"

    missing = u.uniq("missing")
    error = ck_error(ck_admin.delete_topics([missing])[missing])
    assert error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, error
    assert ck_error(ck_admin.delete_topics([topic])[topic]) is None
    assert topic not in ck_admin.list_topics(timeout=10).topics


def test_confluent_configs_and_partitions(module_broker, ck_admin):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewPartitions,
                                       NewTopic, ResourceType)
    topic = u.uniq("ckcfg")
    ck_admin.create_topics([NewTopic(topic, 1, 1, config={"retention.ms": "3600000"})])[topic].result(20)
    resource = ConfigResource(ResourceType.TOPIC, topic)
    [configs] = [f.result(20) for f in ck_admin.describe_configs([resource]).values()]
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["retention.ms"].is_default is False
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value
    synonyms = configs["retention.ms"].synonyms
    assert "retention.ms" in synonyms and "log.retention.ms" in synonyms, synonyms

    alter = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("max.message.bytes", "2000000", incremental_operation=AlterConfigOpType.SET)])
    [f.result(20) for f in ck_admin.incremental_alter_configs([alter]).values()]
    [configs] = [f.result(20) for f in ck_admin.describe_configs([resource]).values()]
    assert (configs["retention.ms"].value, configs["max.message.bytes"].value) == ("86400000", "2000000")
    assert configs["max.message.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value

    assert ck_error(ck_admin.create_partitions([NewPartitions(topic, 4)])[topic]) is None
    assert sorted(ck_admin.list_topics(topic=topic, timeout=10).topics[topic].partitions) == [0, 1, 2, 3]
    error = ck_error(ck_admin.create_partitions([NewPartitions(topic, 2)])[topic])
    assert error is not None and error.code() == KafkaError.INVALID_PARTITIONS, error
    ck_admin.delete_topics([topic])[topic].result(20)


def test_confluent_groups_list_describe_offsets(module_broker, ck_admin):
    from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions
    topic, group = u.uniq("ckgrp"), u.uniq("g")
    u.kp_create_topic(module_broker.address, topic, partitions=2)
    producer = u.kp_producer(module_broker.address)
    try:
        for i in range(5):
            producer.send(topic, f"v{i}".encode(), partition=i % 2)
        producer.flush(timeout=15)
    finally:
        producer.close()
    member = u.ConfluentMember("ck-admin-member", module_broker.address, group, topic)
    member.start()
    try:
        u.wait_until(lambda: len(member.records) >= 5, timeout=20, message="member to consume")
        u.wait_until(lambda: u.committed_offsets(module_broker.address, group, topic) == {0: 3, 1: 2}, timeout=10,
                     message="member commits")
        listed = {g.group_id: g for g in ck_admin.list_consumer_groups().result(20).valid}
        assert group in listed, sorted(listed)
        assert listed[group].state == ConsumerGroupState.STABLE
        assert listed[group].is_simple_consumer_group is False
        description = ck_admin.describe_consumer_groups([group])[group].result(20)
        assert description.state == ConsumerGroupState.STABLE
        assert description.partition_assignor == "range"
        assert description.coordinator.id == 1
        [m] = description.members
        assert m.client_id == "ck-admin-member"
        assert sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions) == [(topic, 0), (topic, 1)]
        offsets = ck_admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(20)
        assert sorted((tp.topic, tp.partition, tp.offset) for tp in offsets.topic_partitions) == \
            [(topic, 0, 3), (topic, 1, 2)]
    finally:
        member.stop()
    assert member.error is None, repr(member.error)
    description = ck_admin.describe_consumer_groups([group])[group].result(20)
    assert description.state == ConsumerGroupState.EMPTY and description.members == []


# ---------------------------------------------------------------------------------------------------------------------
# aiokafka AIOKafkaAdminClient

def test_aiokafka_admin_create_delete(module_broker):
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    topic, existing = u.uniq("aioa"), u.uniq("aioe")
    u.kp_create_topic(module_broker.address, existing, partitions=1)

    async def scenario():
        admin = AIOKafkaAdminClient(bootstrap_servers=module_broker.address, request_timeout_ms=15000)
        await admin.start()
        try:
            created = await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                                          topic_configs={"retention.ms": "60000"})])
            dup = await admin.create_topics([NewTopic(existing, num_partitions=1, replication_factor=1)])
            listed = await admin.list_topics()
            described = await admin.describe_topics([topic])
            deleted = await admin.delete_topics([topic])
            missing = await admin.delete_topics([u.uniq("missing")])
            after = await admin.list_topics()
        finally:
            await admin.close()
        return created, dup, listed, described, deleted, missing, after

    created, dup, listed, described, deleted, missing, after = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert [(t[0], t[1]) for t in created.topic_errors] == [(topic, 0)], created
    assert [(t[0], t[1]) for t in dup.topic_errors] == [(existing, 36)], dup  # TOPIC_ALREADY_EXISTS
    assert topic in listed
    [d] = described
    assert d["topic"] == topic and d["error_code"] == 0 and len(d["partitions"]) == 2
    assert [(t[0], t[1]) for t in deleted.topic_error_codes] == [(topic, 0)], deleted
    assert [t[1] for t in missing.topic_error_codes] == [3], missing  # UNKNOWN_TOPIC_OR_PARTITION
    assert topic not in after


# ---------------------------------------------------------------------------------------------------------------------
# DeleteRecords and DescribeCluster (both advertised by the broker)

def test_kafka_python_delete_records_moves_log_start(module_broker, kp_admin):
    from kafka import KafkaConsumer, TopicPartition
    topic = u.uniq("delrec")
    kp_admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
    producer = u.kp_producer(module_broker.address)
    try:
        for i in range(10):
            producer.send(topic, f"r{i}".encode(), partition=0)
        producer.flush(timeout=15)
    finally:
        producer.close()
    tp = TopicPartition(topic, 0)
    result = kp_admin.delete_records({tp: 4})
    [(_, low)] = result.items()
    assert (low["low_watermark"] if isinstance(low, dict) else low) == 4, result
    consumer = KafkaConsumer(bootstrap_servers=module_broker.address)
    try:
        assert consumer.beginning_offsets([tp]) == {tp: 4}
        assert consumer.end_offsets([tp]) == {tp: 10}
    finally:
        consumer.close()
    assert [r.value for r in u.kp_read_all(module_broker.address, topic, 6, partitions=[0])] == \
        [f"r{i}".encode() for i in range(4, 10)]


def test_describe_cluster(module_broker, kp_admin, ck_admin):
    cluster = kp_admin.describe_cluster()
    assert cluster["controller_id"] == 1
    assert [(b["broker_id"], b["host"], b["port"]) for b in cluster["brokers"]] == [(1, "127.0.0.1", module_broker.port)]
    assert cluster["cluster_id"], cluster
    # The same cluster id is reported through Metadata to librdkafka.
    assert ck_admin.list_topics(timeout=10).cluster_id == cluster["cluster_id"]
