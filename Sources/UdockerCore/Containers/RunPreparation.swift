import Foundation

/// Turns (container, run options, image metadata, invoking user) into a `ContainerRun` the engines consume.
/// Follows udocker 1.3: the image's Entrypoint/Cmd/Env/WorkingDir/User unless --nometa, udocker's container_*
/// variables, sysdirs bound unless --nosysdirs, the working directory defaulting to the user's home.
public struct RunPreparation: Sendable {
    public var store: ContainerStore
    public var hostUser: HostUser
    public var hostEnvironment: [String: String]
    public var sysDirs: [String]

    public init(store: ContainerStore, hostUser: HostUser = .current(),
                hostEnvironment: [String: String] = ProcessInfo.processInfo.environment, sysDirs: [String]) {
        self.store = store
        self.hostUser = hostUser
        self.hostEnvironment = hostEnvironment
        self.sysDirs = sysDirs
    }

    public func prepare(id: String, mode: ExecMode, options: RunOptions) throws -> ContainerRun {
        let repository = store.repository
        let root = repository.containerRoot(id)
        let image = options.noMeta ? ImageConfig() : try store.imageConfig(id)
        let user = try resolveUser(options.user ?? (image.user.isEmpty ? nil : image.user), root: root)
        let names = try store.names(of: id)

        var env = EnvironmentList()
        if options.hostEnv {
            for (key, value) in hostEnvironment.sorted(by: { $0.key < $1.key }) { env.set(key, value) }
        } else if let term = hostEnvironment["TERM"] {
            env.set("TERM", term)
        }
        for entry in image.env { env.set(entry) }
        env.setIfAbsent("PATH", user.uid == 0 ? repository.config["root_path"] ?? "/usr/sbin:/sbin:/usr/bin:/bin"
                                              : repository.config["user_path"] ?? "/usr/local/bin:/usr/bin:/bin")
        env.setIfAbsent("HOME", user.home)
        env.set("USER", user.name)
        env.set("LOGNAME", user.name)
        env.set("USERNAME", user.name)
        env.set("SHLVL", "0")
        env.set("container_ruser", hostUser.name)
        env.set("container_root", root)
        env.set("container_uuid", id)
        env.set("container_execmode", mode.rawValue)
        env.set("container_names", names.joined(separator: ","))
        for file in options.environmentFiles { for entry in try Self.readEnvFile(file) { env.set(entry) } }
        for entry in options.environment {
            if entry.contains("=") { env.set(entry) }
            else if let value = hostEnvironment[entry] { env.set(entry, value) }
        }

        var command = options.command
        var entrypoint = image.entrypoint
        if let override = options.entrypoint { entrypoint = override.isEmpty ? [] : [override] }
        if command.isEmpty { command = options.entrypoint == nil || !image.cmd.isEmpty ? image.cmd : [] }
        command = entrypoint + command
        if command.isEmpty {
            command = FileSystem.exists(root + "/bin/bash") ? ["bash", "-i"] : ["/bin/sh", "-i"]
        }

        var workdir = options.workingDirectory ?? (image.workingDir.isEmpty ? user.home : image.workingDir)
        if options.workingDirectory == nil && !FileSystem.isDirectoryFollowingLinks(root + workdir) { workdir = "/" }
        guard workdir.hasPrefix("/") else { throw UdockerError(.invalidInput, "working directory must be absolute: \(workdir)") }

        var binds: [RunOptions.Volume] = []
        if !options.noSysDirs {
            binds += sysDirs.filter(FileSystem.exists).map { RunOptions.Volume(hostPath: $0, containerPath: $0) }
        }
        if options.bindHome { binds.append(RunOptions.Volume(hostPath: hostUser.home, containerPath: hostUser.home)) }
        for volume in options.volumes where !options.noVolumes.contains(volume.containerPath) {
            guard FileSystem.exists(volume.hostPath) else {
                throw UdockerError(.notFound, "invalid host volume path: \(volume.hostPath)")
            }
            binds.append(volume)
        }

        return ContainerRun(id: id, names: names, root: root, containerDir: repository.containerDir(id), mode: mode,
                            command: command, environment: env.entries, workingDirectory: workdir, user: user,
                            binds: binds, options: options)
    }

    /// `-u` accepts a name, a uid, or uid:gid; names are looked up in the container's /etc/passwd.
    /// Without `-u` the invoking user runs with their own ids.
    func resolveUser(_ spec: String?, root: String) throws -> ContainerRun.User {
        guard let spec, !spec.isEmpty else {
            return .init(name: hostUser.name, uid: hostUser.uid, gid: hostUser.gid, home: hostUser.home, shell: hostUser.shell)
        }
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let entries = PasswdFile.entries(root + "/etc/passwd")
        let match = entries.first { $0.name == parts[0] || String($0.uid) == parts[0] }
        var user: ContainerRun.User
        if let match {
            user = .init(name: match.name, uid: match.uid, gid: match.gid, home: match.home, shell: match.shell)
        } else if let uid = UInt32(parts[0]) {
            user = .init(name: uid == 0 ? "root" : parts[0], uid: uid, gid: uid == 0 ? 0 : hostUser.gid, home: uid == 0 ? "/root" : "/")
        } else if parts[0] == "root" {
            user = .init(name: "root", uid: 0, gid: 0, home: "/root")
        } else {
            throw UdockerError(.invalidInput, "user not found in container: \(parts[0])")
        }
        if parts.count == 2 {
            guard let gid = UInt32(parts[1]) ?? PasswdFile.groupID(parts[1], in: root + "/etc/group") else {
                throw UdockerError(.invalidInput, "group not found in container: \(parts[1])")
            }
            user.gid = gid
        }
        return user
    }

    /// `--env-file`: KEY=VALUE lines; blank lines and # comments skipped.
    static func readEnvFile(_ path: String) throws -> [String] {
        let text = try FileSystem.readString(path)
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && $0.contains("=") }
    }
}

/// Reads /etc/passwd and /etc/group style files.
public enum PasswdFile {
    public struct Entry: Sendable, Equatable {
        public var name: String, uid: UInt32, gid: UInt32, home: String, shell: String
    }

    public static func entries(_ path: String) -> [Entry] {
        guard let text = try? FileSystem.readString(path) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return Entry(name: f[0], uid: uid, gid: gid, home: f[5], shell: f[6])
        }
    }

    public static func groupID(_ name: String, in path: String) -> UInt32? {
        guard let text = try? FileSystem.readString(path) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 3, f[0] == name { return UInt32(f[2]) }
        }
        return nil
    }
}
