import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Apache ZooKeeper 3.8 (Debian's `zookeeper` package) started for a test on a free loopback port, as
/// peers.md describes: minimal zoo.cfg, admin server off, every four-letter word enabled.
final class ApacheZooKeeper: @unchecked Sendable {
    // @unchecked: the Process is only touched by the test that owns this object.
    static let jar = "/usr/share/java/zookeeper.jar"
    static let logging = "/usr/share/java/slf4j-nop.jar"

    /// Why Apache ZooKeeper cannot run here, or nil if it can.
    static var unavailableReason: String? {
        if !FileManager.default.fileExists(atPath: jar) { return "Apache ZooKeeper is not installed (\(jar); Debian package zookeeper)" }
        if javaPath == nil { return "java is not installed" }
        return nil
    }

    static var javaPath: String? {
        ["/usr/bin/java", "/usr/lib/jvm/default-java/bin/java"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let directory = TemporaryDirectory("apache-zk")
    let port: Int
    private let process = Process()

    /// - Parameters:
    ///   - tickTimeMs: small ticks give small session timeouts (2 to 20 ticks).
    ///   - jvmFlags: system properties (`-Dzookeeper.authProvider.1=…`, `-Djava.security.auth.login.config=…`).
    init(tickTimeMs: Int = 250, jvmFlags: [String] = []) throws {
        port = try Self.freePort()
        let config = """
            tickTime=\(tickTimeMs)
            dataDir=\(directory.path)/data
            clientPort=\(port)
            clientPortAddress=127.0.0.1
            admin.enableServer=false
            4lw.commands.whitelist=*
            """
        try config.write(toFile: directory.path + "/zoo.cfg", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Self.javaPath!)
        process.arguments = ["-Xmx128m"] + jvmFlags + [
            "-cp", "\(directory.path):\(Self.jar):\(Self.logging)",
            "org.apache.zookeeper.server.ZooKeeperServerMain", directory.path + "/zoo.cfg",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            // `ruok` answers imok as soon as the process listens; `srvr` shows a Mode only once requests are served
            // (before that Java ZooKeeper closes every session handshake, which a loaded machine makes visible).
            if (try? RawSocket.fourLetterWord("srvr", port: port))?.contains("Mode:") == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw POSIXError(.ETIMEDOUT)
    }

    var connectString: String { "127.0.0.1:\(port)" }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        directory.remove()
    }

    /// A port nothing listens on right now (bind to 0, read it back, close).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Reads a subtree with kazoo (the Python client from PyPI), as an independent check of what our code wrote.
enum KazooInspector {
    static var unavailableReason: String? {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import kazoo"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return "python3 is not installed" }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? nil : "kazoo is not installed (pip install kazoo)"
    }

    struct Node: Decodable, Equatable {
        let data: String
        let ephemeralOwner: Int64
    }

    static let script = """
        import json, sys
        from kazoo.client import KazooClient
        zk = KazooClient(hosts=sys.argv[1], timeout=10)
        zk.start(timeout=10)
        out = {}
        def walk(path):
            data, stat = zk.get(path)
            out[path] = {"data": (data or b"").decode("utf-8", "replace"), "ephemeralOwner": stat.ephemeralOwner}
            for child in zk.get_children(path):
                walk(path.rstrip("/") + "/" + child)
        walk("/")
        zk.stop(); zk.close()
        print(json.dumps(out))
        """

    /// Every node below `connect`'s chroot, with its data and ephemeral owner.
    static func dump(_ connect: String) throws -> [String: Node] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, connect]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try JSONDecoder().decode([String: Node].self, from: bytes)
    }
}
