/// `seqrec-bench bandwidth`: the memory-bandwidth probe as JSON or a line of text.
public enum BandwidthCommand {
    public static func run(_ options: [String]) throws -> String {
        let arguments = try BenchArguments(options, known: ["rows", "dim", "repeats", "format"])
        let rows = try arguments.int("rows", default: 1_000_000, range: 1...100_000_000)
        let dim = try arguments.int("dim", default: 64, range: 8...4096)
        guard dim % 8 == 0 else { throw BenchUsageError("--dim must be a multiple of 8, got \(dim)") }
        let repeats = try arguments.int("repeats", default: 5, range: 1...1000)
        let format = try arguments.choice("format", default: "text", from: ["json", "text"])
        let result = BandwidthProbe.run(rows: rows, dim: dim, repeats: repeats)
        if format == "json" { return try ReportEncoding.json(result) }
        return "bandwidth \(rows)×\(dim) f32 (\(result.bytes / 1_000_000) MB): best "
            + ReportEncoding.decimal(result.gbPerS, 2) + " GB/s (read "
            + ReportEncoding.decimal(result.readBestGBPerS, 2) + ", score "
            + ReportEncoding.decimal(result.scoreBestGBPerS, 2) + "), median "
            + ReportEncoding.decimal(result.medianGBPerS, 2) + " GB/s → bound "
            + ReportEncoding.decimal(result.boundUs, 0) + " µs"
    }
}
