import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crashes and power cuts of a ``FaultInjectingFileSystem``.
extension FaultInjectingFileSystem {
    /// The process dies (kill -9): every file opened so far is closed and fails with EBADF from now on (so objects of
    /// the dead "process" can do no harm); the disk keeps everything written.
    public func crash() {
        state.withLock { state in
            state.crashes += 1
            closeEverything(&state)
        }
    }

    private func closeEverything(_ state: inout State) {
        state.generation += 1
        for weak in state.openFiles { weak.file?.inner.close() }
        state.openFiles.removeAll()
    }

    /// The power goes: a ``crash()``, then the disk under `root` is rewritten to its durable image (see the type's
    /// documentation).
    public func powerCut(keepingUnsyncedPrefixes: Bool = false) throws(FileSystemError) {
        try state.withLock { (state) throws(FileSystemError) in
            state.powerCuts += 1
            closeEverything(&state)
            if keepingUnsyncedPrefixes {
                var live: [Int: [UInt8]] = [:]
                try collectLive(state.rootID, path: root, state: state, into: &live)
                for (id, current) in live.sorted(by: { $0.key < $1.key }) {
                    let durable = state.files[id] ?? []
                    let kept = Int(state.generator.next() % UInt64(current.count + 1))
                    state.files[id] = Array(current[0..<kept]) + (durable.count > kept ? Array(durable[kept...]) : [])
                }
            }
            for name in try real.listDirectory(root) { try real.removeTree(root + "/" + name) }
            try materialize(state.rootID, path: root, state: &state)
        }
    }

    private func collectLive(_ directory: Int, path: String, state: State, into live: inout [Int: [UInt8]]) throws(FileSystemError) {
        for (name, entry) in state.directories[directory]!.live {
            switch entry {
            case .file(let id): live[id] = try real.readFile(path + "/" + name)
            case .directory(let id): try collectLive(id, path: path + "/" + name, state: state, into: &live)
            }
        }
    }

    /// Writes the durable image of `directory` to disk and makes it the live state too.
    private func materialize(_ directory: Int, path: String, state: inout State) throws(FileSystemError) {
        let entries = state.directories[directory]!.durable
        state.directories[directory]!.live = entries
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            let child = path + "/" + name
            switch entry {
            case .file(let id):
                let file = try PosixFile.open(child, .replace)
                try file.write(state.files[id] ?? [], at: 0)
                file.close()
            case .directory(let id):
                try real.createDirectory(child)
                try materialize(id, path: child, state: &state)
            }
        }
    }

    /// The durable image of the file at `path` as the model holds it, or nil if the path is not a durable file.
    public func durableContents(_ path: String) -> [UInt8]? {
        guard let parts = components(path) else { return nil }
        return state.withLock { state in
            var current = state.rootID
            for (index, part) in parts.enumerated() {
                switch state.directories[current]!.durable[String(part)] {
                case .directory(let id) where index < parts.count - 1: current = id
                case .file(let id) where index == parts.count - 1: return state.files[id]
                default: return nil
                }
            }
            return nil
        }
    }
}
