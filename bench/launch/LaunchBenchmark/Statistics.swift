import Foundation

func note(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Median half round-trips (µs) per message size, one column per configuration, for gnuplot: the first line names
/// the columns (its columnheader); a size a configuration lacks is NaN.
func writeTable(_ results: [String: [Int: Double]], columns names: [String], to path: String) throws {
    let sizes = Set(results.values.flatMap(\.keys)).sorted()
    var text = "size " + names.map { "\"\($0)\"" }.joined(separator: " ") + "\n"
    for size in sizes {
        text += "\(size) " + names.map { results[$0]?[size].map { String(format: "%.3f", $0) } ?? "NaN" }.joined(separator: " ") + "\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
}
