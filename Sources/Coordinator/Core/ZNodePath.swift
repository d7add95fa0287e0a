/// Path rules of the znode namespace, as ZooKeeper's `PathUtils` and `PrepRequestProcessor` apply them.
package enum ZNodePath {
    package static let root = "/"

    /// The nodes ZooKeeper creates itself and refuses to delete (`ZKDatabase.isSpecialPath`).
    package static let special: Set<String> = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]

    /// The parent of an absolute path: "/a/b" → "/a", "/a" → "/". nil for "/" and for paths without a slash.
    package static func parent(of path: String) -> String? {
        guard path != root, let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        if slash == path.utf8.startIndex { return root }
        return String(path[..<slash])
    }

    /// The last component: "/a/b" → "b".
    package static func name(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    package static func child(_ name: String, of parent: String) -> String {
        parent == root ? root + name : parent + "/" + name
    }

    /// Whether `path` is a valid absolute znode path (`PathUtils.validatePath`): starts with '/', no trailing '/',
    /// no empty, "." or ".." components, no NUL and none of the control or reserved characters ZooKeeper refuses.
    package static func isValid(_ path: String) -> Bool {
        let scalars = Array(path.unicodeScalars)
        guard let first = scalars.first, first == "/" else { return false }
        if scalars.count == 1 { return true }
        guard scalars.last != "/" else { return false }
        var componentStart = 1
        for index in 1..<scalars.count {
            let c = scalars[index].value
            if c == 0 || (c > 0x00 && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) || (c >= 0xD800 && c <= 0xF8FF)
                || c >= 0xFFF0  // ZooKeeper checks UTF-16 units: characters above U+FFFF are surrogate pairs
            {
                return false
            }
            if scalars[index] == "/" {
                if !isValidComponent(scalars[componentStart..<index]) { return false }
                componentStart = index + 1
            }
        }
        return isValidComponent(scalars[componentStart...])
    }

    private static func isValidComponent(_ component: ArraySlice<Unicode.Scalar>) -> Bool {
        if component.isEmpty { return false }
        if component.count == 1 && component.first == "." { return false }
        if component.count == 2 && component.allSatisfy({ $0 == "." }) { return false }
        return true
    }

    /// The suffix of a sequential node: the parent's count of child creations formatted like Java's `%010d`
    /// (zero-padded to ten characters, a minus sign included, so −1 is "-000000001").
    package static func sequenceSuffix(_ counter: Int32) -> String {
        let digits = String(counter.magnitude)
        let width = counter < 0 ? 9 : 10
        let padding = String(repeating: "0", count: max(0, width - digits.count))
        return (counter < 0 ? "-" : "") + padding + digits
    }
}
