/// Whether the host's MPI can serve a container's program in place of its own, rule by rule (as Sarus checks
/// before its MPI hook swaps libraries): the same ABI family, the same soname major, for Open MPI a host version
/// whose major.minor is not older than the container's, host libraries that need no newer glibc than the
/// container's, and the same ELF machine.
public struct MPIVerdict: Sendable, Equatable, Codable {
    public enum Rule: String, Sendable, Codable, CaseIterable {
        case family, soname, version, glibc, machine
    }

    public var rule: Rule
    public var passed: Bool
    /// Both sides, e.g. "host Open MPI 4.1.4 (libmpi.so.40), container Open MPI 5.0.7 (libmpi.so.40)".
    public var detail: String

    /// `version: refused: the host's Open MPI 4.1.4 is older than the container's 5.0.7`.
    public var line: String { "\(rule.rawValue): \(passed ? "passed" : "refused"): \(detail)" }

    /// The verdict of every rule, in order.
    public static func check(host: HostMPI, container: ContainerMPI) -> [MPIVerdict] {
        guard let theirs = container.library else {
            let none = "the container has no MPI library for the host's to replace"
            return Rule.allCases.map { MPIVerdict(rule: $0, passed: false, detail: none) }
        }
        let ours = host.library
        var verdicts: [MPIVerdict] = []
        verdicts.append(MPIVerdict(rule: .family, passed: ours.family == theirs.family,
                                   detail: "host \(ours.description), container \(theirs.description)"))
        verdicts.append(MPIVerdict(rule: .soname, passed: ours.major == theirs.major,
                                   detail: "host \(ours.soname) (major \(ours.major)), container \(theirs.soname) (major \(theirs.major))"))
        verdicts.append(version(ours, theirs))
        // Symbol versions, not release numbers: a libc defines GLIBC_2.N only for releases that added symbols
        // (Debian 11's glibc 2.31 defines up to GLIBC_2.30), and that is what a library's needs are checked against.
        let needs = host.glibcLevel.map { "GLIBC_2.\($0)\(host.glibcNeededBy.map { " (" + $0 + ")" } ?? "")" } ?? "no glibc version"
        let provides = container.glibcLevel.map { "provides up to GLIBC_2.\($0)" } ?? "was not found"
        verdicts.append(MPIVerdict(rule: .glibc, passed: (host.glibcLevel ?? 0) <= (container.glibcLevel ?? -1),
                                   detail: "the host's MPI libraries need \(needs), the container's libc \(provides)"))
        verdicts.append(MPIVerdict(rule: .machine, passed: ours.machine == container.identity.machine,
                                   detail: "host library machine \(ours.machine), container program machine \(container.identity.machine)"))
        return verdicts
    }

    /// Open MPI keeps its ABI within a major.minor series and adds to it in later ones: the host's may be newer.
    static func version(_ ours: MPILibrary, _ theirs: MPILibrary) -> MPIVerdict {
        guard ours.family == .openMPI, theirs.family == .openMPI else {
            return MPIVerdict(rule: .version, passed: true, detail: "the MPICH ABI is the same across versions")
        }
        guard let host = ours.majorMinor, let container = theirs.majorMinor else {
            return MPIVerdict(rule: .version, passed: true, detail: "host \(ours.version ?? "version unknown"), "
                              + "container \(theirs.version ?? "version unknown"): not compared")
        }
        let passed = host >= container
        return MPIVerdict(rule: .version, passed: passed,
                          detail: "the host's Open MPI \(ours.version!) is \(passed ? "not older than" : "older than") the container's \(theirs.version!)")
    }
}
