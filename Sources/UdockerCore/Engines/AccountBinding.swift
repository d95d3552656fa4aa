/// For engines that bind files (P, R, S, U1): the passwd/group copies are written beside ROOT in the
/// container's directory and bound over /etc/passwd and /etc/group.
enum AccountBinding {
    static func steps(_ accounts: AccountFiles, containerDir: String) -> [PreparationStep] {
        [.writeFile(path: containerDir + "/" + ContainerFile.passwd.rawValue, contents: accounts.passwd, mode: 0o644),
         .writeFile(path: containerDir + "/" + ContainerFile.group.rawValue, contents: accounts.group, mode: 0o644)]
    }

    static func binds(containerDir: String) -> [RunOptions.Volume] {
        [RunOptions.Volume(hostPath: containerDir + "/" + ContainerFile.passwd.rawValue, containerPath: "/etc/passwd"),
         RunOptions.Volume(hostPath: containerDir + "/" + ContainerFile.group.rawValue, containerPath: "/etc/group")]
    }
}

/// `--cpuset-cpus` lists such as `0-3,8`.
public enum CPUSet {
    public static func parse(_ text: String) throws -> [Int] {
        var cpus: [Int] = []
        for item in text.split(separator: ",") {
            let bounds = item.split(separator: "-", maxSplits: 1).map { Int($0.trimmingCharacters(in: .whitespaces)) }
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
}
