/// Little-endian encoder for the writer (FORMAT.md §1).
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// f32 values as little-endian IEEE-754 bytes (tensor data, FORMAT.md §1).
    mutating func floats(_ values: [Float]) {
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for value in values { u32(value.bitPattern) }
    }

    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    mutating func f64(_ value: Double) { u64(value.bitPattern) }

    /// A `Str`: u64 byte length, then the UTF-8 bytes.
    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u64(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func value(_ value: HyperparameterValue) {
        u8(value.typeCode)
        switch value {
        case .int(let number): i64(number)
        case .float(let number): f64(number)
        case .bool(let flag): u8(flag ? 1 : 0)
        case .string(let text): string(text)
        case .ints(let numbers):
            u64(UInt64(numbers.count))
            for number in numbers { i64(number) }
        }
    }
}
