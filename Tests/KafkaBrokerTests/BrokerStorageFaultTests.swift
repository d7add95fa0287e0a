import FileSystem
import KafkaProtocol
import LogStorage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import KafkaBroker

/// Goal: a failing or full disk under the partition logs turns into KAFKA_STORAGE_ERROR answers with a useful message,
/// never a crash, and the broker keeps serving what it can. Method: an in-process broker whose logs live on a
/// fault-injecting file system.
struct BrokerStorageFaultTests {
    private func faultyBroker() throws -> (BrokerHarness, FaultInjectingFileSystem) {
        let harness = try BrokerHarness(fileSystem: { directory in try FaultInjectingFileSystem(root: directory, seed: 1) })
        return (harness, harness.fileSystem as! FaultInjectingFileSystem)
    }

    @Test func aFailedWriteTakesTheDirectoryOfflineAndFetchesKeepServing() throws {
        let (harness, disk) = try faultyBroker()
        defer { harness.close() }
        try harness.createTopic("t", partitions: 2)
        #expect(try harness.produce("t", batch: BrokerHarness.batch(["a", "b"])).errorCode == 0)
        disk.inject(FaultRule([.write], pathContains: "t-0/", trigger: .nth(1), errno: EIO, tear: .prefix(30)))
        let failed = try harness.produce("t", batch: BrokerHarness.batch(["c"]))
        #expect(failed.errorCode == ErrorCode.kafkaStorageError.rawValue && failed.baseOffset == -1)
        #expect(failed.errorMessage?.contains("offline") == true && failed.errorMessage?.contains("Input/output error") == true)
        // The fault is gone, but the directory stays offline: for this partition and for every other one in it.
        #expect(try harness.produce("t", batch: BrokerHarness.batch(["d"])).errorCode == ErrorCode.kafkaStorageError.rawValue)
        #expect(try harness.produce("t", partition: 1, batch: BrokerHarness.batch(["e"])).errorCode
            == ErrorCode.kafkaStorageError.rawValue)
        // Fetch still serves what was written, and other requests are answered.
        let data = try harness.fetch("t", offset: 0).responses[0].partitions[0]
        #expect(data.errorCode == 0 && data.highWatermark == 2)
        #expect(try BrokerHarness.values(data).map(\.value) == ["a", "b"])
        #expect(try harness.call(MetadataRequest(topics: [.init(name: "t")]), version: 12).topics[0].errorCode == 0)
        #expect(disk.injectedFaults[InjectedFault(operation: .write, errno: EIO, torn: true)] == 1)
    }

    @Test func aFullDiskRefusesTheProduceKeepsNothingOfItAndResumesOnItsOwn() throws {
        let (harness, disk) = try faultyBroker()
        defer { harness.close() }
        try harness.createTopic("t")
        #expect(try harness.produce("t", batch: BrokerHarness.batch(["a"])).errorCode == 0)
        disk.inject(FaultRule([.write], pathContains: ".log", errno: ENOSPC, tear: .prefix(40)))
        let refused = try harness.produce("t", batch: BrokerHarness.batch(["b", "c"]))
        #expect(refused.errorCode == ErrorCode.kafkaStorageError.rawValue)
        #expect(refused.errorMessage?.contains("is full") == true)
        let during = try harness.fetch("t", offset: 0).responses[0].partitions[0]
        #expect(during.highWatermark == 1)
        #expect(try BrokerHarness.values(during).map(\.value) == ["a"])
        disk.removeAllFaults()
        let resumed = try harness.produce("t", batch: BrokerHarness.batch(["d"]))
        #expect(resumed.errorCode == 0 && resumed.baseOffset == 1)
        let after = try harness.fetch("t", offset: 0).responses[0].partitions[0]
        #expect(try BrokerHarness.values(after).map(\.value) == ["a", "d"])
        // A restart finds exactly what was acknowledged: the torn 40 bytes were cut off at once.
        try harness.restart()
        #expect(try BrokerHarness.values(try harness.fetch("t", offset: 0).responses[0].partitions[0]).map(\.value) == ["a", "d"])
    }
}
