import Foundation

/// The NVIDIA Container Toolkit's hooks that `nvidia-ctk cdi generate` writes into a spec (`nvidia-ctk hook NAME`
/// or `nvidia-cdi-hook NAME`), done by udocker itself where no OCI runtime runs them, with the same effect:
/// - create-symlinks --link TARGET::LINK: the link is made in ROOT (recorded, and removed by a later run that
///   does not ask for it); in F modes an absolute target is made to lead into ROOT, as fakechroot needs;
/// - update-ldcache --folder DIR: the directories go first on LD_LIBRARY_PATH, so the container's own loader
///   finds the libraries there before its cache (no ldconfig is run inside an unprivileged container);
/// - enable-cuda-compat --host-driver-version V: /usr/local/cuda/compat first on LD_LIBRARY_PATH when the image's
///   forward-compatibility libcuda is newer than the host's driver;
/// - chmod and disable-device-node-modification: nothing to do where the container's /dev is the host's (or a
///   runtime's own): udocker never creates device nodes, so the driver never needs to change them.
struct CDIKnownHook {
    enum Action {
        case createSymlinks([(target: String, link: String)])
        case updateLdcache([String])
        case enableCudaCompat(hostDriverVersion: String?)
        case nothingToDo(String)
    }

    var action: Action

    static let programs: Set<String> = ["nvidia-ctk", "nvidia-cdi-hook"]

    /// nil for a hook that is not one of these.
    init?(_ hook: CDISpec.Hook) {
        guard Self.programs.contains(Paths.basename(hook.path)) else { return nil }
        var words = Array((hook.args ?? []).dropFirst())
        if words.first == "hook" { words.removeFirst() }   // nvidia-ctk hook NAME …
        guard let name = words.first else { return nil }
        let options = Self.options(Array(words.dropFirst()))
        switch name {
        case "create-symlinks":
            let links = options.filter { $0.0 == "link" }.compactMap { option -> (String, String)? in
                let parts = option.1.components(separatedBy: "::")
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }
            action = .createSymlinks(links)
        case "update-ldcache":
            action = .updateLdcache(options.filter { $0.0 == "folder" }.map(\.1))
        case "enable-cuda-compat":
            action = .enableCudaCompat(hostDriverVersion: options.first { $0.0 == "host-driver-version" }?.1)
        case "chmod", "disable-device-node-modification":
            action = .nothingToDo(name)
        default:
            return nil
        }
    }

    /// `--name VALUE` and `--name=VALUE`, in order.
    static func options(_ words: [String]) -> [(String, String)] {
        var result: [(String, String)] = []
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--") else { continue }
            let body = word.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                result.append((String(body[..<equals]), String(body[body.index(after: equals)...])))
            } else if index < words.count, !words[index].hasPrefix("--") {
                result.append((String(body), words[index]))
                index += 1
            }
        }
        return result
    }

    /// `envApplies`: false for another rank's device in a shared namespace (its links, not its library path).
    /// `recorded`: the links an earlier run made (`cdi.links`), which may be replaced.
    func apply(to application: inout CDIApplication, mode: ExecMode, root: String, envApplies: Bool, recorded: Set<String>,
               item: CDIEdits.Item<CDISpec.Hook>) throws {
        switch action {
        case .createSymlinks(let links):
            for (target, link) in links {
                guard CDISpecLoading.isCleanAbsolute(link), !target.isEmpty else {
                    throw CDISpecLoading.problem(item.file, "\(item.owner): create-symlinks link \(target)::\(link) is not TARGET::/ABSOLUTE/LINK")
                }
                // fakechroot does not see the kernel follow a link: an absolute target must be a host path.
                let linkTarget = mode.family == .fakechroot && target.hasPrefix("/") ? root + target : target
                if application.links.contains(where: { $0.containerPath == link }) { continue }
                // A link or file the image has there itself is the image's (nvidia-ctk leaves an existing link too).
                if FileSystem.exists(root + link) && !recorded.contains(link) { continue }
                application.links.append(VolumeLinks.Link(hostPath: linkTarget, containerPath: link))
            }
        case .updateLdcache(let folders):
            if envApplies { for folder in folders where !application.libraryDirectories.contains(folder) { application.libraryDirectories.append(folder) } }
        case .enableCudaCompat(let hostVersion):
            guard envApplies, let compat = Self.compatDirectory(root: root, hostDriverVersion: hostVersion) else { return }
            application.libraryDirectories.insert(compat, at: 0)
        case .nothingToDo(let name):
            Log.debug("CDI hook \(name) (\(item.owner)): nothing to do in mode \(mode.rawValue)")
        }
    }

    /// /usr/local/cuda/compat when its libcuda.so.MAJOR.… is of a newer driver than the host's.
    static func compatDirectory(root: String, hostDriverVersion: String?) -> String? {
        let directory = "/usr/local/cuda/compat"
        guard let host = hostDriverVersion.flatMap({ Int($0.split(separator: ".").first ?? "") }) else { return nil }
        let names = (try? FileSystem.list(root + directory)) ?? []
        let majors = names.compactMap { name -> Int? in
            guard name.hasPrefix("libcuda.so.") else { return nil }
            return Int(name.dropFirst("libcuda.so.".count).split(separator: ".").first ?? "")
        }
        return majors.contains { $0 > host } ? directory : nil
    }
}
