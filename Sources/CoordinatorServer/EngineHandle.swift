import Coordinator
import NIOCore
import Synchronization

/// The thread-safe way to reach the engine: hop to its loop, then use it.
struct EngineHandle: Sendable {
    let engine: NIOLoopBoundBox<CoordinatorEngine>
    private let counter = ConnectionCounter()

    /// May be called off the loop: the engine is handed over (`sending`) and only ever used on its loop afterwards.
    init(_ engine: sending CoordinatorEngine, loop: any EventLoop) {
        self.engine = NIOLoopBoundBox.makeBoxSendingValue(engine, eventLoop: loop)
    }

    var loop: any EventLoop { engine.eventLoop }

    func allocateID() -> ConnectionID {
        ConnectionID(counter.next.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    func execute(_ work: @escaping @Sendable (CoordinatorEngine) -> Void) {
        let engine = self.engine
        engine.eventLoop.execute { work(engine.value) }
    }

    func submit<T: Sendable>(_ work: @escaping @Sendable (CoordinatorEngine) -> T) -> EventLoopFuture<T> {
        let engine = self.engine
        return engine.eventLoop.submit { work(engine.value) }
    }
}

/// Hands out connection ids from any thread.
private final class ConnectionCounter: Sendable {
    let next = Atomic<UInt64>(1)
}
