// kafka-protocol-gen: turns Sources/KafkaProtocol/Definitions/*.def into Sources/KafkaProtocol/Generated/*.swift, and
// into random-value factories for the codec tests in Tests/KafkaProtocolTests/Generated/*+Arbitrary.swift.
//
// Usage (from the package root):
//   swift run kafka-protocol-gen           regenerate the files
//   swift run kafka-protocol-gen --check   exit 1 if the committed files differ from what would be generated
//   swift run kafka-protocol-gen [--check] DEFINITIONS [OUTPUT [TEST_SUPPORT_OUTPUT]]   other directories
//
// The definition format is described in Sources/KafkaProtocol/Definitions/README.md. The generator is deliberately
// small: it knows the Kafka primitive types, arrays, nullability by version and the flexible encodings; anything
// special (record batches, headers) is hand-written in the KafkaProtocol module.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// MARK: - Model

struct VersionRange: Equatable {
    var min: Int
    var max: Int?  // nil = open-ended

    func contains(_ version: Int) -> Bool { version >= min && (max.map { version <= $0 } ?? true) }
}

indirect enum FieldType: Equatable {
    case bool, int8, int16, int32, int64, uuid, string, bytes, records
    case array(FieldType)
    case structArray(String)
    /// One struct (Kafka's non-array struct fields); nullable ones carry a presence byte (-1 null, 1 present).
    case structValue(String)
}

struct Field {
    var name: String
    var type: FieldType
    var versions: VersionRange
    var nullable: VersionRange?
    var defaultValue: String?
    var doc: [String]
    var children: [Field]
}

struct StructDef {
    var name: String
    var fields: [Field]
    var doc: [String]
}

struct ApiDef {
    var key: Int
    var name: String
    var versions: VersionRange
    var firstFlexible: Int?
    var doc: [String]
    var request: [Field] = []
    var response: [Field] = []
    var sourceFile: String
}

struct GenError: Error, CustomStringConvertible {
    var description: String
}

// MARK: - Parsing

func parseRange(_ text: String, file: String, line: Int) throws -> VersionRange {
    var t = text
    if t.hasPrefix("v") { t.removeFirst() }
    if t.hasSuffix("+") {
        guard let min = Int(t.dropLast()) else { throw GenError(description: "\(file):\(line): bad version '\(text)'") }
        return VersionRange(min: min, max: nil)
    }
    let parts = t.split(separator: "-")
    if parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) { return VersionRange(min: a, max: b) }
    if parts.count == 1, let a = Int(parts[0]) { return VersionRange(min: a, max: a) }
    throw GenError(description: "\(file):\(line): bad version range '\(text)'")
}

func parseType(_ text: String, file: String, line: Int) throws -> FieldType {
    switch text {
    case "bool": return .bool
    case "int8": return .int8
    case "int16": return .int16
    case "int32": return .int32
    case "int64": return .int64
    case "uuid": return .uuid
    case "string": return .string
    case "bytes": return .bytes
    case "records": return .records
    default:
        if text.hasPrefix("[]") {
            let inner = String(text.dropFirst(2))
            if let first = inner.first, first.isUppercase { return .structArray(inner) }
            return .array(try parseType(inner, file: file, line: line))
        }
        if let first = text.first, first.isUppercase { return .structValue(text) }
        throw GenError(description: "\(file):\(line): unknown type '\(text)'")
    }
}

func parseDefinition(path: String) throws -> ApiDef {
    let file = (path as NSString).lastPathComponent
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var api: ApiDef?
    var section: String?
    var pendingDoc: [String] = []
    // Stack of (depth, path to the field list being filled).
    var request: [Field] = []
    var response: [Field] = []

    func insert(_ field: Field, depth: Int, into list: inout [Field], lineNo: Int) throws {
        if depth == 1 {
            list.append(field)
            return
        }
        guard var last = list.popLast() else {
            throw GenError(description: "\(file):\(lineNo): field indented under nothing")
        }
        guard last.type.structName != nil else {
            throw GenError(description: "\(file):\(lineNo): field indented under non-struct field \(last.name)")
        }
        try insert(field, depth: depth - 1, into: &last.children, lineNo: lineNo)
        list.append(last)
    }

    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let lineNo = index + 1
        let line = String(rawLine).replacingOccurrences(of: "\t", with: "  ")
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { continue }
        if trimmed.hasPrefix("#") {
            pendingDoc.append(String(trimmed.dropFirst()).trimmingCharacters(in: .whitespaces))
            continue
        }
        let tokens = trimmed.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if tokens[0] == "api" {
            guard tokens.count >= 6, let key = Int(tokens[1]), tokens[3] == "versions", tokens[5] == "flexible" || tokens.count >= 7
            else { throw GenError(description: "\(file):\(lineNo): expected 'api KEY Name versions A-B flexible N+'") }
            let versions = try parseRange(tokens[4], file: file, line: lineNo)
            var firstFlexible: Int?
            if tokens.count >= 7 && tokens[5] == "flexible" && tokens[6] != "none" {
                firstFlexible = try parseRange(tokens[6], file: file, line: lineNo).min
            }
            api = ApiDef(key: key, name: tokens[2], versions: versions, firstFlexible: firstFlexible, doc: pendingDoc,
                         sourceFile: file)
            pendingDoc = []
            continue
        }
        if tokens == ["request"] || tokens == ["response"] {
            section = tokens[0]
            pendingDoc = []
            continue
        }
        guard let currentSection = section else {
            throw GenError(description: "\(file):\(lineNo): field outside request/response")
        }
        let indent = line.prefix(while: { $0 == " " }).count
        guard indent % 2 == 0, indent >= 2 else {
            throw GenError(description: "\(file):\(lineNo): indentation must be a multiple of two spaces")
        }
        guard tokens.count >= 2 else { throw GenError(description: "\(file):\(lineNo): expected 'Name type ...'") }
        var field = Field(
            name: tokens[0], type: try parseType(tokens[1], file: file, line: lineNo),
            versions: VersionRange(min: 0, max: nil), nullable: nil, defaultValue: nil, doc: pendingDoc, children: [])
        pendingDoc = []
        var i = 2
        while i < tokens.count {
            let token = tokens[i]
            if token.hasPrefix("v"), token.count > 1, token.dropFirst().first!.isNumber {
                field.versions = try parseRange(token, file: file, line: lineNo)
                i += 1
            } else if token == "nullable" {
                guard i + 1 < tokens.count else { throw GenError(description: "\(file):\(lineNo): nullable needs versions") }
                field.nullable = try parseRange(tokens[i + 1], file: file, line: lineNo)
                i += 2
            } else if token == "default" {
                guard i + 1 < tokens.count else { throw GenError(description: "\(file):\(lineNo): default needs a value") }
                field.defaultValue = tokens[i + 1]
                i += 2
            } else {
                throw GenError(description: "\(file):\(lineNo): unexpected '\(token)'")
            }
        }
        if currentSection == "request" {
            try insert(field, depth: indent / 2, into: &request, lineNo: lineNo)
        } else {
            try insert(field, depth: indent / 2, into: &response, lineNo: lineNo)
        }
    }
    guard var result = api else { throw GenError(description: "\(file): no 'api' line") }
    result.request = request
    result.response = response
    return result
}

extension FieldType {
    /// The struct a field declares or reuses, for struct arrays and single structs.
    var structName: String? {
        switch self {
        case .structArray(let name), .structValue(let name): name
        default: nil
        }
    }
}

// MARK: - Emission

let swiftKeywords: Set<String> = [
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
    "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct",
    "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else", "fallthrough",
    "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "Any", "catch", "false", "is",
    "nil", "super", "self", "Self", "throw", "throws", "true", "try", "Type",
]

func propertyName(_ name: String) -> String {
    var chars = Array(name)
    // Lower-case a leading acronym as a unit ("ISRNodes" -> "isrNodes"), otherwise just the first letter.
    var i = 0
    while i < chars.count, chars[i].isUppercase {
        let nextIsLower = i + 1 < chars.count && chars[i + 1].isLowercase
        if i > 0 && nextIsLower { break }
        chars[i] = Character(chars[i].lowercased())
        i += 1
    }
    let result = String(chars)
    return swiftKeywords.contains(result) ? "`\(result)`" : result
}

func bare(_ property: String) -> String { property.replacingOccurrences(of: "`", with: "") }

func swiftType(_ type: FieldType) -> String {
    switch type {
    case .bool: return "Bool"
    case .int8: return "Int8"
    case .int16: return "Int16"
    case .int32: return "Int32"
    case .int64: return "Int64"
    case .uuid: return "KafkaUUID"
    case .string: return "String"
    case .bytes: return "ByteBuffer"
    case .records: return "Records"
    case .array(let inner): return "[\(swiftType(inner))]"
    case .structArray(let name): return "[\(name)]"
    case .structValue(let name): return name
    }
}

/// The versions of `range` that fall inside the message's implemented versions, or nil if none do.
func clip(_ range: VersionRange, to message: VersionRange) -> VersionRange? {
    let low = max(range.min, message.min)
    let high: Int? = {
        switch (range.max, message.max) {
        case (nil, nil): return nil
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (let a?, let b?): return min(a, b)
        }
    }()
    if let high, high < low { return nil }
    return VersionRange(min: low, max: high)
}

/// A Swift condition for "version is in `range`", simplified against the message's versions; nil means always.
func condition(_ range: VersionRange, message: VersionRange) -> String? {
    let needLow = range.min > message.min
    let needHigh: Bool = {
        guard let high = range.max else { return false }
        if let messageHigh = message.max { return high < messageHigh }
        return true
    }()
    switch (needLow, needHigh) {
    case (false, false): return nil
    case (true, false): return "version >= \(range.min)"
    case (false, true): return "version <= \(range.max!)"
    case (true, true):
        return range.min == range.max! ? "version == \(range.min)" : "version >= \(range.min) && version <= \(range.max!)"
    }
}

struct Emitter {
    var lines: [String] = []
    var indent = 0

    mutating func line(_ text: String = "") {
        lines.append(text.isEmpty ? "" : String(repeating: "    ", count: indent) + text)
    }

    mutating func doc(_ doc: [String]) {
        for d in doc { line(d.isEmpty ? "///" : "/// \(d)") }
    }
}

struct FieldPlan {
    var field: Field
    var property: String
    var presence: VersionRange  // clipped to the message range
    var nullableWhere: VersionRange?  // clipped to presence
    var isOptional: Bool { nullableWhere != nil }
    var type: String { swiftType(field.type) + (isOptional ? "?" : "") }
}

/// The fields that exist in at least one of the message's versions, with where they are present and nullable.
func fieldPlans(_ fields: [Field], message: VersionRange) -> [FieldPlan] {
    fields.compactMap { field in
        guard let presence = clip(field.versions, to: message) else { return nil }
        let nullableWhere = field.nullable.flatMap { clip($0, to: presence) }
        return FieldPlan(field: field, property: propertyName(field.name), presence: presence,
                         nullableWhere: nullableWhere)
    }
}

/// The struct fields among `fields` that declare a nested struct (not a bare reuse), each name once, in order.
func nestedStructFields(_ fields: [Field]) -> [Field] {
    var declared = Set<String>()
    return fields.filter { field in
        guard let name = field.type.structName, !field.children.isEmpty else { return false }
        return declared.insert(name).inserted
    }
}

func defaultExpression(_ plan: FieldPlan, file: String) throws -> String {
    if let value = plan.field.defaultValue {
        switch value {
        case "null":
            guard plan.isOptional else {
                throw GenError(description: "\(file): field \(plan.field.name) has default null but is never nullable")
            }
            return "nil"
        case "\"\"": return "\"\""
        case "true", "false": return value
        default:
            guard Int64(value) != nil else { throw GenError(description: "\(file): bad default '\(value)'") }
            return value
        }
    }
    if plan.isOptional { return "nil" }
    switch plan.field.type {
    case .bool: return "false"
    case .int8, .int16, .int32, .int64: return "0"
    case .uuid: return ".zero"
    case .string: return "\"\""
    case .bytes: return "ByteBuffer()"
    case .records: return ".empty"
    case .array, .structArray: return "[]"
    case .structValue(let name): return "\(name)()"
    }
}

/// The reader call for one field; `nullable` selects the nullable variant.
func readExpression(_ type: FieldType, nullable: Bool) -> String {
    switch type {
    case .bool: return "try reader.readBool()"
    case .int8: return "try reader.readInt8()"
    case .int16: return "try reader.readInt16()"
    case .int32: return "try reader.readInt32()"
    case .int64: return "try reader.readInt64()"
    case .uuid: return "try reader.readUUID()"
    case .string:
        return nullable ? "try reader.readNullableString(compact: flexible)" : "try reader.readString(compact: flexible)"
    case .bytes:
        return nullable ? "try reader.readNullableBytes(compact: flexible)" : "try reader.readBytes(compact: flexible)"
    case .records:
        return nullable ? "try reader.readNullableRecords(compact: flexible)" : "try reader.readRecords(compact: flexible)"
    case .array(let inner):
        let call: String
        switch inner {
        case .int8: call = "try reader.readInt8Array(compact: flexible)"
        case .int32: call = "try reader.readInt32Array(compact: flexible)"
        case .int64: call = "try reader.readInt64Array(compact: flexible)"
        case .string: call = "try reader.readStringArray(compact: flexible)"
        default: fatalError("arrays of \(inner) are not supported")
        }
        return nullable ? call : "(\(call) ?? [])"
    case .structArray(let name):
        let call = "try reader.readArray(of: \(name).self, version: version, compact: flexible)"
        return nullable ? call : "(\(call) ?? [])"
    case .structValue(let name):
        return nullable
            ? "try reader.readInt8() < 0 ? nil : \(name)(from: &reader, version: version)"
            : "try \(name)(from: &reader, version: version)"
    }
}

func writeStatement(_ type: FieldType, value: String, nullable: Bool, optionalValue: Bool) -> String {
    // `value` is Optional when the property is optional; in non-nullable versions nil is written as empty.
    func unwrapped(_ empty: String) -> String { optionalValue ? "\(value) ?? \(empty)" : value }
    switch type {
    case .bool: return "writer.writeBool(\(value))"
    case .int8: return "writer.writeInt8(\(value))"
    case .int16: return "writer.writeInt16(\(value))"
    case .int32: return "writer.writeInt32(\(value))"
    case .int64: return "writer.writeInt64(\(value))"
    case .uuid: return "writer.writeUUID(\(value))"
    case .string:
        return nullable
            ? "writer.writeNullableString(\(value), compact: flexible)"
            : "writer.writeString(\(unwrapped("\"\"")), compact: flexible)"
    case .bytes:
        return nullable
            ? "writer.writeNullableBytes(\(value), compact: flexible)"
            : "writer.writeBytes(\(unwrapped("ByteBuffer()")), compact: flexible)"
    case .records:
        return nullable
            ? "writer.writeNullableRecords(\(value), compact: flexible)"
            : "writer.writeRecords(\(unwrapped(".empty")), compact: flexible)"
    case .array(let inner):
        let name: String
        switch inner {
        case .int8: name = "writeInt8Array"
        case .int32: name = "writeInt32Array"
        case .int64: name = "writeInt64Array"
        case .string: name = "writeStringArray"
        default: fatalError("arrays of \(inner) are not supported")
        }
        return nullable || !optionalValue
            ? "writer.\(name)(\(value), compact: flexible)"
            : "writer.\(name)(\(value) ?? [], compact: flexible)"
    case .structArray:
        return nullable || !optionalValue
            ? "writer.writeArray(\(value), version: version, compact: flexible)"
            : "writer.writeArray(\(value) ?? [], version: version, compact: flexible)"
    case .structValue(let name):
        if nullable {
            return "if let present = \(value) { writer.writeInt8(1); present.write(to: &writer, version: version) } "
                + "else { writer.writeInt8(-1) }"
        }
        return optionalValue
            ? "(\(value) ?? \(name)()).write(to: &writer, version: version)"
            : "\(value).write(to: &writer, version: version)"
    }
}

func emitStruct(
    _ e: inout Emitter, name: String, fields: [Field], doc: [String], api: ApiDef, header: [String],
    conformances: String, trailer: [String], errorCodeStructs: [String: [Field]]? = nil
) throws {
    let message = api.versions
    let plans = fieldPlans(fields, message: message)
    e.doc(doc)
    e.line("public struct \(name): \(conformances) {")
    e.indent += 1
    for h in header { e.line(h) }
    if !header.isEmpty { e.line() }
    for plan in plans {
        e.doc(plan.field.doc)
        let versionNote = plan.presence == message ? "" : " // \(describe(plan.presence))"
        e.line("public var \(plan.property): \(plan.type)\(versionNote)")
    }
    if !plans.isEmpty { e.line() }

    // Memberwise initializer with defaults.
    if plans.isEmpty {
        e.line("public init() {}")
    } else {
        e.line("public init(")
        e.indent += 1
        for (i, plan) in plans.enumerated() {
            let comma = i == plans.count - 1 ? "" : ","
            e.line("\(plan.property): \(plan.type) = \(try defaultExpression(plan, file: api.sourceFile))\(comma)")
        }
        e.indent -= 1
        e.line(") {")
        e.indent += 1
        for plan in plans { e.line("self.\(bare(plan.property)) = \(plan.property)") }
        e.indent -= 1
        e.line("}")
    }
    e.line()

    // Decoder.
    var decode = Emitter(indent: e.indent + 1)
    for plan in plans {
        let target = "self.\(bare(plan.property))"
        let cond = condition(plan.presence, message: message)
        var body: [String] = []
        if let nullableWhere = plan.nullableWhere, let nullCond = condition(nullableWhere, message: plan.presence) {
            // Nullable only in some of the versions that have the field.
            let plain = readExpression(plan.field.type, nullable: false)
            body = ["if \(nullCond) {", "    \(target) = \(readExpression(plan.field.type, nullable: true))",
                    "} else {", "    \(target) = \(plain)", "}"]
        } else {
            body = ["\(target) = \(readExpression(plan.field.type, nullable: plan.isOptional))"]
        }
        if let cond {
            decode.line("if \(cond) {")
            for b in body { decode.line("    " + b) }
            decode.line("} else {")
            decode.line("    \(target) = \(try defaultExpression(plan, file: api.sourceFile))")
            decode.line("}")
        } else {
            for b in body { decode.line(b) }
        }
    }
    if api.firstFlexible != nil { decode.line("if flexible { try reader.skipTaggedFields() }") }

    var encode = Emitter(indent: e.indent + 1)
    for plan in plans {
        let value = "self.\(bare(plan.property))"
        let cond = condition(plan.presence, message: message)
        var body: [String]
        if let nullableWhere = plan.nullableWhere, let nullCond = condition(nullableWhere, message: plan.presence) {
            body = ["if \(nullCond) {",
                    "    " + writeStatement(plan.field.type, value: value, nullable: true, optionalValue: true),
                    "} else {",
                    "    " + writeStatement(plan.field.type, value: value, nullable: false, optionalValue: true),
                    "}"]
        } else {
            body = [writeStatement(plan.field.type, value: value, nullable: plan.isOptional,
                                   optionalValue: plan.isOptional)]
        }
        if let cond {
            encode.line("if \(cond) {")
            for b in body { encode.line("    " + b) }
            encode.line("}")
        } else {
            for b in body { encode.line(b) }
        }
    }
    if api.firstFlexible != nil { encode.line("if flexible { writer.writeEmptyTaggedFields() }") }

    let flexibleLet: String = {
        guard let first = api.firstFlexible else { return "let flexible = false" }
        return first <= message.min ? "let flexible = true" : "let flexible = version >= \(first)"
    }()
    e.line("public init(from reader: inout KafkaReader, version: Int16) throws(KafkaDecodingError) {")
    if decode.lines.joined().contains("flexible") { e.line("    " + flexibleLet) }
    e.lines += decode.lines
    e.line("}")
    e.line()
    e.line("public func write(to writer: inout KafkaWriter, version: Int16) {")
    if encode.lines.joined().contains("flexible") { e.line("    " + flexibleLet) }
    e.lines += encode.lines
    e.line("}")
    if let declared = errorCodeStructs, conformances == "KafkaResponse" || containsErrorCode(fields, declared: declared) {
        emitErrorCodeVisitor(&e, plans: plans, declared: declared)
    }

    // Nested struct types, each declared once.
    for field in nestedStructFields(fields) {
        guard let structName = field.type.structName else { continue }
        e.line()
        try emitStruct(&e, name: structName, fields: field.children, doc: [], api: api, header: [],
                       conformances: "KafkaCodable", trailer: [], errorCodeStructs: errorCodeStructs)
    }
    for t in trailer { e.line(t) }
    e.indent -= 1
    e.line("}")
}

// MARK: - Error codes of responses

/// Kafka names its error-code fields `ErrorCode` or `<Something>ErrorCode` (`PartitionErrorCode`), always INT16.
func isErrorCodeField(_ field: Field) -> Bool { field.type == .int16 && field.name.hasSuffix("ErrorCode") }

/// Every struct a message declares, by name: a field that reuses a struct names it without its fields.
func structDeclarations(_ fields: [Field], into declared: inout [String: [Field]]) {
    for field in fields {
        guard let name = field.type.structName, !field.children.isEmpty else { continue }
        if declared[name] == nil { declared[name] = field.children }
        structDeclarations(field.children, into: &declared)
    }
}

/// Whether `fields`, or any struct below them, hold an error code.
func containsErrorCode(_ fields: [Field], declared: [String: [Field]], visiting: Set<String> = []) -> Bool {
    fields.contains { field in
        if isErrorCodeField(field) { return true }
        guard let name = field.type.structName, !visiting.contains(name) else { return false }
        let children = field.children.isEmpty ? declared[name] ?? [] : field.children
        return containsErrorCode(children, declared: declared, visiting: visiting.union([name]))
    }
}

/// `forEachErrorCode`: the broker's request-error metrics count every error code of a response, top-level and
/// per item (Kafka's `AbstractResponse.errorCounts`), without a hand-written walk per response type.
func emitErrorCodeVisitor(_ e: inout Emitter, plans: [FieldPlan], declared: [String: [Field]]) {
    var body: [String] = []
    for plan in plans {
        let value = "self.\(bare(plan.property))"
        if isErrorCodeField(plan.field) {
            body.append(plan.isOptional ? "if let code = \(value) { body(code) }" : "body(\(value))")
            continue
        }
        guard let name = plan.field.type.structName else { continue }
        let children = plan.field.children.isEmpty ? declared[name] ?? [] : plan.field.children
        guard containsErrorCode(children, declared: declared, visiting: [name]) else { continue }
        switch plan.field.type {
        case .structArray:
            body.append("for item in \(value)\(plan.isOptional ? " ?? []" : "") { item.forEachErrorCode(body) }")
        default:
            body.append("\(value)\(plan.isOptional ? "?" : "").forEachErrorCode(body)")
        }
    }
    e.line()
    e.line("/// Calls `body` with every error code of this message, nested ones included (for the request-error metrics).")
    if body.isEmpty {
        e.line("public func forEachErrorCode(_ body: (Int16) -> Void) {}")
        return
    }
    e.line("public func forEachErrorCode(_ body: (Int16) -> Void) {")
    for line in body { e.line("    " + line) }
    e.line("}")
}

func describe(_ range: VersionRange) -> String {
    if let max = range.max { return range.min == max ? "v\(max)" : "v\(range.min)-\(max)" }
    return "v\(range.min)+"
}

func generate(_ api: ApiDef) throws -> String {
    var e = Emitter()
    e.line("// AUTO-GENERATED by kafka-protocol-gen from Definitions/\(api.sourceFile). Do not edit.")
    e.line("// Regenerate with `swift run kafka-protocol-gen`.")
    e.line()
    e.line("import NIOCore")
    e.line()
    let flexibleText = api.firstFlexible.map { "\($0)" } ?? "nil"
    let versionsText = "\(api.versions.min)...\(api.versions.max ?? api.versions.min)"
    try emitStruct(
        &e, name: "\(api.name)Request", fields: api.request,
        doc: api.doc.isEmpty ? ["\(api.name) request (API key \(api.key))."] : api.doc, api: api,
        header: [
            "public typealias Response = \(api.name)Response",
            "public static let apiKey = ApiKey(rawValue: \(api.key))",
            "public static let supportedVersions: ClosedRange<Int16> = \(versionsText)",
            "public static let firstFlexibleVersion: Int16? = \(flexibleText)",
        ],
        conformances: "KafkaRequest", trailer: [])
    e.line()
    var responseStructs: [String: [Field]] = [:]
    structDeclarations(api.response, into: &responseStructs)
    try emitStruct(
        &e, name: "\(api.name)Response", fields: api.response,
        doc: ["\(api.name) response (API key \(api.key))."], api: api,
        header: ["public static let apiKey = ApiKey(rawValue: \(api.key))"],
        conformances: "KafkaResponse", trailer: [], errorCodeStructs: responseStructs)
    return e.lines.joined(separator: "\n") + "\n"
}

func generateRegistry(_ apis: [ApiDef]) -> String {
    var e = Emitter()
    e.line("// AUTO-GENERATED by kafka-protocol-gen from Definitions/. Do not edit.")
    e.line("// Regenerate with `swift run kafka-protocol-gen`.")
    e.line()
    e.line("extension ApiKey {")
    e.indent += 1
    for api in apis {
        e.line("public static let \(propertyName(api.name)) = ApiKey(rawValue: \(api.key))")
    }
    e.line()
    e.line("/// Every API ledgerstream implements, with the versions it implements.")
    e.line("public static let schemas: [Int16: ApiSchema] = [")
    e.indent += 1
    for api in apis {
        let flexibleText = api.firstFlexible.map { "\($0)" } ?? "nil"
        e.line("\(api.key): ApiSchema(name: \"\(api.name)\", versions: \(api.versions.min)...\(api.versions.max ?? api.versions.min), firstFlexibleVersion: \(flexibleText)),")
    }
    e.indent -= 1
    e.line("]")
    e.line()
    e.line("/// The request message of every API ledgerstream implements, for decoding a frame whose API is known only at run")
    e.line("/// time (the fuzz targets; the broker dispatches on the key itself).")
    e.line("public static let requestTypes: [Int16: any KafkaRequest.Type] = [")
    e.indent += 1
    for api in apis {
        e.line("\(api.key): \(api.name)Request.self,")
    }
    e.indent -= 1
    e.line("]")
    e.indent -= 1
    e.line("}")
    return e.lines.joined(separator: "\n") + "\n"
}

// MARK: - Test support: random values

// For every generated struct, the test target gets `static func arbitrary(version:using:) -> Self`: a random value
// that sets exactly the fields `version` carries (nil only where that version allows null) and leaves every other
// field at its default, so that decode(encode(x)) == x holds at every version. The value helpers (`Arbitrary.int32`,
// `Arbitrary.array`, ...) and the `ArbitraryCodable` protocol are hand-written in the test target.

/// A Swift expression for a random value of `type`, drawing from the generator `rng`.
func arbitraryExpression(_ type: FieldType) -> String {
    switch type {
    case .bool: return "Arbitrary.bool(using: &rng)"
    case .int8: return "Arbitrary.int8(using: &rng)"
    case .int16: return "Arbitrary.int16(using: &rng)"
    case .int32: return "Arbitrary.int32(using: &rng)"
    case .int64: return "Arbitrary.int64(using: &rng)"
    case .uuid: return "Arbitrary.uuid(using: &rng)"
    case .string: return "Arbitrary.string(using: &rng)"
    case .bytes: return "Arbitrary.bytes(using: &rng)"
    case .records: return "Arbitrary.records(using: &rng)"
    case .array(let inner): return "Arbitrary.array(using: &rng) { rng in \(arbitraryExpression(inner)) }"
    // The element type is inferred from the property, so nested and reused structs need no qualified name.
    case .structArray: return "Arbitrary.array(using: &rng) { rng in .arbitrary(version: version, using: &rng) }"
    case .structValue(let name): return "\(name).arbitrary(version: version, using: &rng)"
    }
}

/// Emits the `ArbitraryCodable` conformance of the struct `path` and, recursively, of its nested structs.
func emitArbitrary(_ e: inout Emitter, path: String, fields: [Field], api: ApiDef) {
    let plans = fieldPlans(fields, message: api.versions)
    e.line()
    e.line("extension \(path): ArbitraryCodable {")
    e.indent += 1
    e.line("static func arbitrary(version: Int16, using rng: inout some RandomNumberGenerator) -> Self {")
    e.indent += 1
    if plans.isEmpty {
        e.line("return Self()")
    } else {
        e.line("var value = Self()")
        for plan in plans {
            let target = "value.\(bare(plan.property))"
            let plain = arbitraryExpression(plan.field.type)
            let nullable = "Arbitrary.nullable(using: &rng) { rng in \(plain) }"
            var body: [String]
            if let nullableWhere = plan.nullableWhere {
                if let nullCond = condition(nullableWhere, message: plan.presence) {
                    body = ["if \(nullCond) {", "    \(target) = \(nullable)",
                            "} else {", "    \(target) = \(plain)", "}"]
                } else {
                    body = ["\(target) = \(nullable)"]
                }
            } else {
                body = ["\(target) = \(plain)"]
            }
            if let cond = condition(plan.presence, message: api.versions) {
                e.line("if \(cond) {")
                for b in body { e.line("    " + b) }
                e.line("}")
            } else {
                for b in body { e.line(b) }
            }
        }
        e.line("return value")
    }
    e.indent -= 1
    e.line("}")
    e.indent -= 1
    e.line("}")
    for field in nestedStructFields(fields) {
        guard let name = field.type.structName else { continue }
        emitArbitrary(&e, path: "\(path).\(name)", fields: field.children, api: api)
    }
}

func generateArbitrary(_ api: ApiDef) -> String {
    var e = Emitter()
    e.line("// AUTO-GENERATED by kafka-protocol-gen from Definitions/\(api.sourceFile). Do not edit.")
    e.line("// Regenerate with `swift run kafka-protocol-gen`.")
    e.line("// Random values for the round-trip tests (see ArbitraryCodable in Support/Arbitrary.swift).")
    e.line()
    e.line("import KafkaProtocol")
    emitArbitrary(&e, path: "\(api.name)Request", fields: api.request, api: api)
    emitArbitrary(&e, path: "\(api.name)Response", fields: api.response, api: api)
    return e.lines.joined(separator: "\n") + "\n"
}

// MARK: - Main

/// A directory whose `.swift` files all belong to the generator, and what they must contain.
struct OutputDirectory {
    var path: String
    var files: [String: String]

    /// Files that differ from what would be generated, or that would not be generated at all.
    func staleFiles() -> [String] {
        var stale: [String] = []
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            let existing = try? String(contentsOfFile: "\(path)/\(name)", encoding: .utf8)
            if existing != content { stale.append("\(path)/\(name)") }
        }
        let present = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in present.sorted() where name.hasSuffix(".swift") && files[name] == nil {
            stale.append("\(path)/\(name) (orphan)")
        }
        return stale
    }

    /// Writes every file and removes orphans.
    func write() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: path) where name.hasSuffix(".swift") && files[name] == nil {
            try fm.removeItem(atPath: "\(path)/\(name)")
        }
        for (name, content) in files {
            try content.write(toFile: "\(path)/\(name)", atomically: true, encoding: .utf8)
        }
    }
}

func run() throws -> Int32 {
    var arguments = Array(CommandLine.arguments.dropFirst())
    let check = arguments.contains("--check")
    arguments.removeAll { $0 == "--check" }
    let definitions = arguments.first ?? "Sources/KafkaProtocol/Definitions"
    var sources = OutputDirectory(
        path: arguments.count > 1 ? arguments[1] : "Sources/KafkaProtocol/Generated", files: [:])
    var testSupport = OutputDirectory(
        path: arguments.count > 2 ? arguments[2] : "Tests/KafkaProtocolTests/Generated", files: [:])
    let names = try FileManager.default.contentsOfDirectory(atPath: definitions)
        .filter { $0.hasSuffix(".def") }.sorted()
    guard !names.isEmpty else { throw GenError(description: "no .def files in \(definitions)") }
    var apis: [ApiDef] = []
    for name in names {
        let api = try parseDefinition(path: "\(definitions)/\(name)")
        guard api.versions.max != nil else {
            throw GenError(description: "\(name): 'versions' must be a closed range")
        }
        apis.append(api)
        sources.files["\(api.name).swift"] = try generate(api)
        testSupport.files["\(api.name)+Arbitrary.swift"] = generateArbitrary(api)
    }
    sources.files["ApiKey+Generated.swift"] = generateRegistry(apis.sorted { $0.key < $1.key })
    let outputs = [sources, testSupport]
    let total = outputs.reduce(0) { $0 + $1.files.count }

    if check {
        let stale = outputs.flatMap { $0.staleFiles() }
        if stale.isEmpty {
            print("kafka-protocol-gen: \(total) generated files are up to date")
            return 0
        }
        FileHandle.standardError.write(Data(
            "kafka-protocol-gen: out of date: \(stale.joined(separator: ", ")); run `swift run kafka-protocol-gen`\n".utf8))
        return 1
    }
    for output in outputs {
        try output.write()
        print("kafka-protocol-gen: wrote \(output.files.count) files to \(output.path)")
    }
    return 0
}

do {
    exit(try run())
} catch {
    FileHandle.standardError.write(Data("kafka-protocol-gen: \(error)\n".utf8))
    exit(2)
}
