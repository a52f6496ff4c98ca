// A small SVG line chart, written by hand: axes with ticks, one polyline per series, a legend.
// Used for the load generator's latency plots (percentile spectrum, latency vs offered load).

#if canImport(Glibc)
import Glibc
#endif

public struct SVGChart {
    public enum Scale: Sendable {
        case linear
        /// log10 axis; non-positive values are dropped from the plot.
        case logarithmic
        /// The percentile axis of latency spectra: x = number of nines, −log10(1 − p/100).
        case percentileNines
    }

    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: Scale
    public var yScale: Scale
    public var series: [Series] = []
    public var width = 900.0
    public var height = 540.0

    private let margin = (left: 80.0, right: 200.0, top: 50.0, bottom: 60.0)
    private static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String, xScale: Scale = .linear,
                yScale: Scale = .linear) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.yScale = yScale
    }

    private static func transform(_ value: Double, _ scale: Scale) -> Double? {
        switch scale {
        case .linear: return value
        case .logarithmic: return value > 0 ? log10(value) : nil
        case .percentileNines: return value < 100 ? -log10(1 - value / 100) : nil
        }
    }

    private static func label(_ value: Double, _ scale: Scale) -> String {
        switch scale {
        case .percentileNines:
            let nines = Int(value.rounded())
            return "p" + decimal(100 * (1 - pow(10, -value)), digits: max(0, nines - 2))
        case .logarithmic:
            let exponent = Int(value.rounded())
            return decimal(pow(10, value), digits: max(0, -exponent))
        case .linear:
            return decimal(value, digits: value == value.rounded() ? 0 : 2)
        }
    }

    /// `value` rounded to `digits` decimals, without Foundation's formatter.
    private static func decimal(_ value: Double, digits: Int) -> String {
        if digits == 0 { return String(Int(value.rounded())) }
        let factor = pow(10, Double(digits))
        return String((value * factor).rounded() / factor)
    }

    private static func ticks(low: Double, high: Double, scale: Scale) -> [Double] {
        if case .linear = scale {
            let span = max(high - low, 1e-9)
            let raw = span / 6
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
            return stride(from: (low / step).rounded(.up) * step, through: high, by: step).map { $0 }
        }
        return stride(from: low.rounded(.up), through: high, by: 1).map { $0 }
    }

    private static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// The chart as a complete SVG document.
    public func render() -> String {
        let transformed = series.map { line in
            line.points.compactMap { point -> (Double, Double)? in
                guard let x = Self.transform(point.x, xScale), let y = Self.transform(point.y, yScale),
                      x.isFinite, y.isFinite else { return nil }
                return (x, y)
            }
        }
        let all = transformed.flatMap { $0 }
        var (xLow, xHigh) = (all.map(\.0).min() ?? 0, all.map(\.0).max() ?? 1)
        var (yLow, yHigh) = (all.map(\.1).min() ?? 0, all.map(\.1).max() ?? 1)
        if case .linear = yScale { yLow = min(yLow, 0) }
        if case .logarithmic = yScale { yLow = yLow.rounded(.down); yHigh = yHigh.rounded(.up) }
        if case .percentileNines = xScale { xLow = 0; xHigh = max(xHigh.rounded(.up), 1) }
        if xHigh - xLow < 1e-9 { xHigh = xLow + 1 }
        if yHigh - yLow < 1e-9 { yHigh = yLow + 1 }
        if case .linear = yScale { yHigh += (yHigh - yLow) * 0.05 }
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom
        func px(_ x: Double) -> Double { margin.left + (x - xLow) / (xHigh - xLow) * plotWidth }
        func py(_ y: Double) -> Double { margin.top + plotHeight - (y - yLow) / (yHigh - yLow) * plotHeight }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(svgNumber(width / 2))" y="24" text-anchor="middle" font-size="16">\(Self.escape(title))</text>

        """
        for tick in Self.ticks(low: xLow, high: xHigh, scale: xScale) {
            let x = svgNumber(px(tick))
            svg += "<line x1=\"\(x)\" y1=\"\(svgNumber(margin.top))\" x2=\"\(x)\" y2=\"\(svgNumber(margin.top + plotHeight))\" stroke=\"#e0e0e0\"/>\n"
            svg += "<text x=\"\(x)\" y=\"\(svgNumber(margin.top + plotHeight + 18))\" text-anchor=\"middle\">\(Self.escape(Self.label(tick, xScale)))</text>\n"
        }
        for tick in Self.ticks(low: yLow, high: yHigh, scale: yScale) {
            let y = svgNumber(py(tick))
            svg += "<line x1=\"\(svgNumber(margin.left))\" y1=\"\(y)\" x2=\"\(svgNumber(margin.left + plotWidth))\" y2=\"\(y)\" stroke=\"#e0e0e0\"/>\n"
            svg += "<text x=\"\(svgNumber(margin.left - 8))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Self.escape(Self.label(tick, yScale)))</text>\n"
        }
        svg += "<rect x=\"\(svgNumber(margin.left))\" y=\"\(svgNumber(margin.top))\" width=\"\(svgNumber(plotWidth))\" height=\"\(svgNumber(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg += "<text x=\"\(svgNumber(margin.left + plotWidth / 2))\" y=\"\(svgNumber(height - 16))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(20 \(svgNumber(margin.top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        for (index, points) in transformed.enumerated() where !points.isEmpty {
            let color = Self.palette[index % Self.palette.count]
            let path = points.map { "\(svgNumber(px($0.0))),\(svgNumber(py($0.1)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            for point in points {
                svg += "<circle cx=\"\(svgNumber(px(point.0)))\" cy=\"\(svgNumber(py(point.1)))\" r=\"2.5\" fill=\"\(color)\"/>\n"
            }
            let legendY = margin.top + 10 + Double(index) * 20
            let legendX = margin.left + plotWidth + 16
            svg += "<line x1=\"\(svgNumber(legendX))\" y1=\"\(svgNumber(legendY))\" x2=\"\(svgNumber(legendX + 24))\" y2=\"\(svgNumber(legendY))\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(svgNumber(legendX + 30))\" y=\"\(svgNumber(legendY))\" dominant-baseline=\"middle\">\(Self.escape(series[index].name))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }
}

/// A coordinate with one decimal: enough for screen pixels, short files.
private func svgNumber(_ value: Double) -> String {
    String((value * 10).rounded() / 10)
}
