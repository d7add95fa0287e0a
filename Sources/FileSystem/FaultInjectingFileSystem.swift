import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``FileSystem`` for tests: real files under `root` (a temporary directory), plus a model of what the disk has
/// made durable, so that any call can be failed, any write torn, and the machine "crashed" or "powered off".
///
/// What it models:
/// - **Failures** (``inject(_:)``): any call through the seam fails with the rule's errno (EIO, ENOSPC, EDQUOT, …)
///   by operation kind, path substring, Nth matching call or seeded probability; a failed write may first write a
///   prefix of its bytes (a torn write), as a write that hits ENOSPC or a dying disk half way does.
/// - **Process crash** (``crash()``): every open file is closed and stale; the disk keeps everything written (the page
///   cache survives a kill -9).
/// - **Power cut** (``powerCut(keepingUnsyncedPrefixes:)``): a crash, then every file goes back to its durable
///   image (its contents at its last successful ``OpenFile/sync()``, empty for a file never synced), and every
///   directory to its durable entries (those present at its last ``FileSystem/syncDirectory(_:)``). So a file
///   created and synced but whose directory was never synced disappears, as POSIX allows. With
///   `keepingUnsyncedPrefixes`, each file instead keeps a seeded-random prefix of its unsynced contents over its
///   durable image, as when the kernel wrote some dirty pages back before the power went.
///
/// What it does not model:
/// - Stores through a writable ``OpenFile/map(length:writable:)`` mapping (the offset and time indexes) cannot be
///   failed or torn; at a power cut they are unsynced data like any other, so indexes come back empty or stale.
///   That is what Kafka assumes: indexes are rebuilt or sanity-checked on an unclean open.
/// - Reads through a mapping or sendfile(2) cannot be failed.
/// - After a failed ``OpenFile/sync()`` the durable image is unchanged, and a later successful sync makes the whole
///   file durable; the kernel's dropping of pages whose writeback failed (PostgreSQL's "fsyncgate") is not modelled.
///   The storage engines never sync a file again after a failed sync, which is what protects them from it.
/// - Files created or changed behind its back (not through it) under `root` are known only once it meets them, and
///   are then taken as durable.
/// - Metadata other than names and contents (permissions, times) and hard links.
///
/// Syncs are modelled, not performed: the real disk is never asked to flush (durability is the model's business, and
/// the tests stay fast on a busy disk). Deterministic: the only randomness is the seeded generator. Thread-safe.
public final class FaultInjectingFileSystem: FileSystem {
    public let root: String
    let real = PosixFileSystem()
    let state: Mutex<State>

    enum Entry: Equatable {
        case file(Int)
        case directory(Int)
    }

    struct Directory {
        var live: [String: Entry] = [:]
        var durable: [String: Entry] = [:]
    }

    struct WeakFile {
        weak var file: FaultFile?
    }

    struct State {
        var rules: [FaultRule] = []
        var generator: SeededGenerator
        var counts: [InjectedFault: Int] = [:]
        var crashes = 0
        var powerCuts = 0
        /// Bumped by each crash: files opened before it are stale.
        var generation = 0
        var calls: [(operation: FileOperation, path: String)] = []
        /// Durable contents of every file the model knows, by id.
        var files: [Int: [UInt8]] = [:]
        var directories: [Int: Directory] = [:]
        var nextID = 1
        let rootID = 0
        var openFiles: [WeakFile] = []
    }

    /// Takes `root` (created if missing) and everything already under it as durable.
    public init(root: String, seed: UInt64 = 0) throws(FileSystemError) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        try real.makeDirectory(self.root)
        var initial = State(generator: SeededGenerator(seed: seed))
        initial.directories[initial.rootID] = Directory()
        state = Mutex(initial)
        try state.withLock { (state) throws(FileSystemError) in
            for name in try real.listDirectory(self.root) {
                let entry = try adopt(self.root + "/" + name, into: &state)
                state.directories[state.rootID]!.live[name] = entry
                state.directories[state.rootID]!.durable[name] = entry
            }
        }
    }

    // MARK: Faults and their counts

    /// Adds a rule; rules are tried in the order added and the first that fires decides.
    public func inject(_ rule: FaultRule) {
        state.withLock { $0.rules.append(rule) }
    }

    public func removeAllFaults() {
        state.withLock { $0.rules.removeAll() }
    }

    /// Faults injected so far, by kind.
    public var injectedFaults: [InjectedFault: Int] { state.withLock { $0.counts } }
    public var crashCount: Int { state.withLock { $0.crashes } }
    public var powerCutCount: Int { state.withLock { $0.powerCuts } }

    /// Every call checked so far (operation and path), oldest first, for finding failure points.
    public var calls: [(operation: FileOperation, path: String)] { state.withLock { $0.calls } }

    public func clearCalls() {
        state.withLock { $0.calls.removeAll() }
    }

    /// How many calls seen so far a rule for `operations` and `pathContains` would have matched.
    public func callCount(_ operations: Set<FileOperation>, pathContains: String? = nil) -> Int {
        let probe = FaultRule(operations, pathContains: pathContains)
        return state.withLock { $0.calls.filter { probe.matches($0.operation, $0.path) }.count }
    }

    /// A draw from the seeded generator, for tests that want their own randomness on the same seed.
    public func random(below bound: Int) -> Int {
        state.withLock { Int($0.generator.next() % UInt64(bound)) }
    }

    /// Whether a call fails: nil to go ahead, else the errno and how many bytes of a write land first.
    func check(_ operation: FileOperation, _ path: String, generation: Int? = nil, size: Int = 0)
        -> (errno: Int32, tornBytes: Int)?
    {
        state.withLock { state in
            if let generation, generation != state.generation { return (EBADF, 0) }
            state.calls.append((operation, path))
            for index in state.rules.indices where state.rules[index].matches(operation, path) {
                state.rules[index].seen += 1
                let rule = state.rules[index]
                let fires: Bool
                switch rule.trigger {
                case .always: fires = true
                case .nth(let n): fires = rule.seen == n
                case .from(let n): fires = rule.seen >= n
                case .probability(let p): fires = Double(state.generator.next() >> 11) / Double(1 << 53) < p
                }
                guard fires else { continue }
                var torn = 0
                if operation == .write && size > 1 {
                    switch rule.tear {
                    case .nothing: torn = 0
                    case .prefix(let n): torn = min(max(n, 0), size - 1)
                    case .randomPrefix: torn = Int(state.generator.next() % UInt64(size))
                    }
                }
                state.counts[InjectedFault(operation: operation, errno: rule.errno, torn: torn > 0), default: 0] += 1
                return (rule.errno, torn)
            }
            return nil
        }
    }

    private func fail(_ operation: FileOperation, _ path: String, size: Int = 0) throws(FileSystemError) {
        if let fault = check(operation, path, size: size) {
            throw FileSystemError(operation: operation.systemCall, path: path, errno: fault.errno)
        }
    }

    // MARK: FileSystem

    public func open(_ path: String, _ mode: OpenMode) throws(FileSystemError) -> any OpenFile {
        try fail(.open, path)
        let existed = real.exists(path)
        let inner = try PosixFile.open(path, mode)
        let (id, generation) = try state.withLock { (state) throws(FileSystemError) -> (Int?, Int) in
            guard let (parent, name) = try locateParent(path, in: &state) else { return (nil, state.generation) }
            if case .file(let id) = state.directories[parent]!.live[name] { return (id, state.generation) }
            let entry = existed ? try adopt(path, into: &state) : newFile(in: &state)
            state.directories[parent]!.live[name] = entry
            guard case .file(let id) = entry else { return (nil, state.generation) }
            return (id, state.generation)
        }
        return register(FaultFile(system: self, inner: inner, id: id, generation: generation))
    }

    func register(_ file: FaultFile) -> FaultFile {
        state.withLock { state in
            if state.openFiles.count > 64 && state.openFiles.count.nonzeroBitCount == 1 {
                state.openFiles.removeAll { $0.file == nil }
            }
            state.openFiles.append(WeakFile(file: file))
        }
        return file
    }

    public func exists(_ path: String) -> Bool { real.exists(path) }
    public func isDirectory(_ path: String) -> Bool { real.isDirectory(path) }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        try fail(.createDirectory, path)
        try real.createDirectory(path)
        try state.withLock { (state) throws(FileSystemError) in
            guard let (parent, name) = try locateParent(path, in: &state), state.directories[parent]!.live[name] == nil else { return }
            let id = state.nextID
            state.nextID += 1
            state.directories[id] = Directory()
            state.directories[parent]!.live[name] = .directory(id)
        }
    }

    public func removeDirectory(_ path: String) throws(FileSystemError) {
        try fail(.removeDirectory, path)
        try real.removeDirectory(path)
        try unlinkInModel(path)
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        try fail(.listDirectory, path)
        return try real.listDirectory(path)
    }

    public func remove(_ path: String) throws(FileSystemError) {
        try fail(.remove, path)
        try real.remove(path)
        try unlinkInModel(path)
    }

    public func rename(_ from: String, _ to: String) throws(FileSystemError) {
        try fail(.rename, from)
        try real.rename(from, to)
        try state.withLock { (state) throws(FileSystemError) in
            guard let (fromParent, fromName) = try locateParent(from, in: &state),
                  let (toParent, toName) = try locateParent(to, in: &state)
            else { return }
            var entry = state.directories[fromParent]!.live.removeValue(forKey: fromName)
            if entry == nil { entry = try adopt(to, into: &state) }
            state.directories[toParent]!.live[toName] = entry
        }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        try fail(.syncDirectory, path)
        guard real.isDirectory(path) else { throw FileSystemError(operation: "open", path: path, errno: ENOENT) }
        try state.withLock { (state) throws(FileSystemError) in
            guard let id = try locateDirectory(path, in: &state) else { return }
            state.directories[id]!.durable = state.directories[id]!.live
        }
    }

    // MARK: The model

    private func newFile(in state: inout State) -> Entry {
        let id = state.nextID
        state.nextID += 1
        state.files[id] = []
        return .file(id)
    }

    /// Enters a file or directory tree found on disk into the model, as durable.
    private func adopt(_ path: String, into state: inout State) throws(FileSystemError) -> Entry {
        let id = state.nextID
        state.nextID += 1
        if real.isDirectory(path) {
            var directory = Directory()
            for name in try real.listDirectory(path) {
                directory.live[name] = try adopt(path + "/" + name, into: &state)
            }
            directory.durable = directory.live
            state.directories[id] = directory
            return .directory(id)
        }
        state.files[id] = try real.readFile(path)
        return .file(id)
    }

    /// Path components below the root, or nil for a path outside it (not modelled).
    func components(_ path: String) -> [Substring]? {
        guard path == root || path.hasPrefix(root + "/") else { return nil }
        return path.dropFirst(root.count).split(separator: "/")
    }

    /// The model's directory at `path` (adopting it if it exists only on disk), nil outside the root.
    private func locateDirectory(_ path: String, in state: inout State) throws(FileSystemError) -> Int? {
        guard let parts = components(path) else { return nil }
        var current = state.rootID
        var walked = root
        for part in parts {
            walked += "/" + part
            let name = String(part)
            switch state.directories[current]!.live[name] {
            case .directory(let id):
                current = id
            case .file:
                return nil
            case nil:
                guard real.isDirectory(walked) else { return nil }
                let entry = try adopt(walked, into: &state)
                state.directories[current]!.live[name] = entry
                guard case .directory(let id) = entry else { return nil }
                current = id
            }
        }
        return current
    }

    private func locateParent(_ path: String, in state: inout State) throws(FileSystemError) -> (Int, String)? {
        guard components(path)?.isEmpty == false, let parent = try locateDirectory(directoryName(path), in: &state) else {
            return nil
        }
        return (parent, String(path[path.index(after: path.lastIndex(of: "/")!)...]))
    }

    private func unlinkInModel(_ path: String) throws(FileSystemError) {
        try state.withLock { (state) throws(FileSystemError) in
            guard let (parent, name) = try locateParent(path, in: &state) else { return }
            state.directories[parent]!.live[name] = nil
        }
    }

    /// Records a successful sync of file `id`: `contents` is now durable.
    func synced(_ id: Int, contents: [UInt8], generation: Int) {
        state.withLock { state in
            if state.generation == generation, state.files[id] != nil { state.files[id] = contents }
        }
    }
}
