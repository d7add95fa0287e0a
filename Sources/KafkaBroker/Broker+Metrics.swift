import LogStorage

extension Broker {
    /// Sets the metrics whose values live in the broker's state — every partition's size, segments and offsets, the
    /// producers the partitions track, parked fetches, groups by state, rebalances — from memory, without disk I/O.
    /// The process's registry runs it before each scrape, so nothing is updated on the request path for them.
    package func collectMetrics() {
        guard metrics.isEnabled else { return }
        var samples: [BrokerMetrics.PartitionSample] = []
        for topic in topics.all {
            for (index, log) in topic.logs.enumerated() {
                samples.append(.init(topic: topic.name, partition: Int32(index), statistics: log.statistics))
            }
        }
        metrics.collect(partitions: samples)
        metrics.parkedFetches.record(purgatory.waitingCount)
        let (counts, rebalances) = groups.state.withLock { state in
            (state.coordinator.groupCounts(), state.coordinator.rebalanceCount)
        }
        metrics.collect(groups: counts, rebalanceCount: rebalances)
    }
}
