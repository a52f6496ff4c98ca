import Foundation
import Testing
@testable import SeqRecBench
#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct OutputTests {
    @Test func svgChartIsWellFormedXMLWithOneLinePerSeries() throws {
        var chart = SVGChart(title: "p99 < 1 ms & more", xLabel: "percentile", yLabel: "µs",
                             xScale: .percentileNines, yScale: .logarithmic)
        chart.series.append(.init(name: "rate=1000", points: [(0, 80), (90, 120), (99, 400), (99.9, 2000)]))
        chart.series.append(.init(name: "rate=<2000>", points: [(0, 90), (90, 300), (99, 900)]))
        let svg = chart.render()
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "SVG must parse as XML: \(parser.parserError.map { "\($0)" } ?? "")")
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.contains("p99.9"), "percentile axis labels the nines")
        #expect(svg.contains("&lt;2000&gt;") && svg.contains("&amp; more"))
    }

    @Test func svgChartDropsPointsALogAxisCannotShow() {
        var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: .linear, yScale: .logarithmic)
        chart.series.append(.init(name: "s", points: [(1, 0), (2, 10), (3, 100)]))
        let svg = chart.render()
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
    }

    @Test func csvQuotesFieldsThatNeedIt() {
        let text = ReportEncoding.csv(header: ["a", "b"], rows: [["plain", "with,comma"], ["say \"hi\"", "x"]])
        #expect(text == "a,b\nplain,\"with,comma\"\n\"say \"\"hi\"\"\",x\n")
    }

    @Test func argumentsValidateRangesAndNames() throws {
        let known: Set<String> = ["batch", "kernels", "batches"]
        let arguments = try BenchArguments(["--batch", "32", "--kernels", "simd", "--verbose"], known: known,
                                           flagNames: ["verbose"])
        #expect(try arguments.int("batch", default: 1, range: 1...64) == 32)
        #expect(arguments.flag("verbose"))
        #expect(throws: BenchUsageError.self) { try arguments.int("batch", default: 1, range: 1...8) }
        #expect(throws: BenchUsageError.self) { try arguments.choice("kernels", default: "auto", from: ["blas"]) }
        #expect(throws: BenchUsageError.self) { try BenchArguments(["--batch"], known: known) }
        #expect(throws: BenchUsageError.self) { try BenchArguments(["batch", "1"], known: known) }
        // A misspelt option is an error that lists the right ones, not silently ignored.
        #expect {
            try BenchArguments(["--bacth", "32"], known: known)
        } throws: { error in
            "\(error)".contains("unknown option '--bacth'") && "\(error)".contains("--batch, --batches, --kernels")
        }
        #expect(try arguments.intList("batches", default: [1, 8], range: 1...64) == [1, 8])
    }

    @Test func sessionsMatchThePythonFormula() {
        // Benchmarks/pycompare/workloads.py: 1 + (position·7919 + batch·104729 + 17) mod (N − 1)
        #expect(BenchSessions.item(session: 0, position: 0, itemCount: 1682, firstItem: 1) == 18)
        let raw: Int = 49 * 7919 + 3 * 104_729 + 17
        let expected = Int32(1 + raw % 1682)
        let item = BenchSessions.item(session: 3, position: 49, itemCount: 1682, firstItem: 1)
        #expect(item == expected)
    }
}
