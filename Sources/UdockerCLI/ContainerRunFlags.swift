import ArgumentParser
import UdockerCore

/// The options `udocker run` and `udocker-launch` share, with the same meaning in both.
struct ContainerRunFlags: ParsableArguments {
    @Option(name: [.customShort("w"), .customLong("workdir")], help: "Working directory inside the container.") var workdir: String?
    @Option(name: [.customShort("u"), .customLong("user")], help: "User: name, uid or uid:gid.") var user: String?
    @Option(name: [.customShort("v"), .customLong("volume")], help: "Bind HOST[:CONTAINER] (repeatable).") var volumes: [String] = []
    @Option(name: .customLong("novol"), help: "Drop a volume given elsewhere (repeatable).") var noVolumes: [String] = []
    @Option(name: [.customShort("e"), .customLong("env")], help: "Set NAME=VALUE, or NAME from the host (repeatable).") var env: [String] = []
    @Option(name: .customLong("env-file"), help: "Read NAME=VALUE lines from a file (repeatable).") var envFiles: [String] = []
    @Option(name: .customLong("entrypoint"), help: "Override the image's Entrypoint (\"\" clears it).") var entrypoint: String?
    @Flag(name: .customLong("nosysdirs"), help: "Do not bind /dev /proc /sys and the host's resolv.conf/host.conf.") var noSysDirs = false
    @Flag(name: .customLong("nometa"), help: "Ignore the image's Entrypoint/Cmd/Env/WorkingDir/User.") var noMeta = false
    @Flag(name: .customLong("hostenv"), help: "Pass the host's environment.") var hostEnv = false
    @Flag(name: .customLong("hostauth"), help: "Use the host's passwd and group.") var hostAuth = false
    @Flag(name: .customLong("containerauth"), help: "Use the container's passwd and group as they are.") var containerAuth = false
    @Flag(name: .customLong("bindhome"), help: "Bind the invoking user's home directory.") var bindHome = false
    @Option(name: .customLong("device"), help: "A CDI device VENDOR/CLASS=NAME (NAME may be all; every mode), or a host device /dev/X[:/dev/Y] (R modes); repeatable.")
    var devices: [String] = []
    @Option(name: .customLong("cdi-spec-dir"), help: "Read CDI specs from DIR instead of /etc/cdi and /var/run/cdi (repeatable).")
    var cdiSpecDirs: [String] = []

    var values: ContainerRunValues {
        ContainerRunValues(workdir: workdir, user: user, volumes: volumes, noVolumes: noVolumes, env: env, envFiles: envFiles,
                           entrypoint: entrypoint, noSysDirs: noSysDirs, noMeta: noMeta, hostEnv: hostEnv, hostAuth: hostAuth,
                           containerAuth: containerAuth, bindHome: bindHome, devices: devices, cdiSpecDirs: cdiSpecDirs)
    }
}

/// ContainerRunFlags as plain values, at the same defaults (what RunCommandLine fills without ArgumentParser).
struct ContainerRunValues: Equatable {
    var workdir: String?
    var user: String?
    var volumes: [String] = []
    var noVolumes: [String] = []
    var env: [String] = []
    var envFiles: [String] = []
    var entrypoint: String?
    var noSysDirs = false
    var noMeta = false
    var hostEnv = false
    var hostAuth = false
    var containerAuth = false
    var bindHome = false
    var devices: [String] = []
    var cdiSpecDirs: [String] = []

    /// These flags as run options (the command and everything else stay as RunOptions' defaults).
    func options() throws -> RunOptions {
        var options = RunOptions()
        options.entrypoint = entrypoint
        options.environment = env
        options.environmentFiles = envFiles
        options.volumes = try volumes.map(RunOptions.Volume.parse)
        options.noVolumes = noVolumes
        options.workingDirectory = workdir
        options.user = user
        options.noSysDirs = noSysDirs
        options.noMeta = noMeta
        options.hostEnv = hostEnv
        options.hostAuth = hostAuth
        options.containerAuth = containerAuth
        options.bindHome = bindHome
        for device in devices {
            if device.hasPrefix("/") {
                options.devices.append(device)
            } else if let name = CDIDeviceName(device) {
                if !options.cdiDevices.contains(name) { options.cdiDevices.append(name) }
            } else {
                throw UdockerError(.invalidInput, "invalid --device: \(device) (a CDI device VENDOR/CLASS=NAME, or /dev/X[:/dev/Y])")
            }
        }
        options.cdiSpecDirs = try cdiSpecDirs.map { directory in
            guard FileSystem.isDirectoryFollowingLinks(directory) else { throw UdockerError(.notFound, "invalid --cdi-spec-dir, not a directory: \(directory)") }
            return Paths.absolute(directory)
        }
        return options
    }
}

extension ContainerRunValues {
    /// ContainerRunFlags' options, for the plain readers (RunCommandLine, LaunchCommandLine).
    static var plainOptions: [PlainOption<ContainerRunValues>] {
        [
            .value("-w", "--workdir") { $0.workdir = $1 },
            .value("-u", "--user") { $0.user = $1 },
            .value("-v", "--volume") { $0.volumes.append($1) },
            .value("--novol") { $0.noVolumes.append($1) },
            .value("-e", "--env") { $0.env.append($1) },
            .value("--env-file") { $0.envFiles.append($1) },
            .value("--entrypoint") { $0.entrypoint = $1 },
            .flag("--nosysdirs") { $0.noSysDirs = true },
            .flag("--nometa") { $0.noMeta = true },
            .flag("--hostenv") { $0.hostEnv = true },
            .flag("--hostauth") { $0.hostAuth = true },
            .flag("--containerauth") { $0.containerAuth = true },
            .flag("--bindhome") { $0.bindHome = true },
            .value("--device") { $0.devices.append($1) },
            .value("--cdi-spec-dir") { $0.cdiSpecDirs.append($1) },
        ]
    }
}
