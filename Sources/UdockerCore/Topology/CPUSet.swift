/// `--cpuset-cpus` lists such as `0-3,8`.
public enum CPUSet {
    public static func parse(_ text: String) throws -> [Int] {
        var cpus: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                .map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let low = bounds.first ?? nil, bounds.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw UdockerError(.invalidInput, "invalid --cpuset-cpus: \(text)")
            }
            let high = bounds.count == 2 ? bounds[1]! : low
            guard high >= low else { throw UdockerError(.invalidInput, "invalid --cpuset-cpus: \(text)") }
            cpus += Array(low...high)
        }
        guard !cpus.isEmpty else { throw UdockerError(.invalidInput, "invalid --cpuset-cpus: \(text)") }
        return cpus
    }

    /// The list, checked against the CPUs the host has: a CPU that is not there is named, with what there is.
    public static func parse(_ text: String, on topology: HostTopology) throws -> [Int] {
        let cpus = try parse(text)
        let present = Set(topology.processingUnits)
        if let missing = cpus.first(where: { !present.contains($0) }) {
            throw UdockerError(.invalidInput, "--cpuset-cpus: CPU \(missing) is not on this host (CPUs \(format(topology.processingUnits)))")
        }
        return cpus
    }

    /// `0-3,8`: the inverse of `parse`.
    public static func format(_ cpus: [Int]) -> String {
        var ranges: [String] = []
        var index = 0
        let sorted = Array(Set(cpus)).sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            ranges.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return ranges.joined(separator: ",")
    }
}
