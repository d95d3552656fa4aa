import Foundation

/// The parts of an image configuration (the `container.json` udocker keeps beside a container) that running
/// a container needs. Parsed leniently: Docker writes `null` or a bare string where a list is expected.
public struct ImageConfig: Sendable, Equatable {
    public var entrypoint: [String] = []
    public var cmd: [String] = []
    public var env: [String] = []
    public var workingDir: String = ""
    public var user: String = ""
    public var architecture: String = ""
    public var os: String = ""
    public var variant: String = ""

    public init() {}

    public init(json data: Data) throws {
        // JSONDecoder rather than JSONSerialization: `run` reads this on every start, and casting JSONSerialization's
        // Any values costs twice the instructions on first use in a process.
        guard let document = try? JSONDecoder().decode(Document.self, from: data) else {
            throw UdockerError(.invalidInput, "image configuration is not a JSON object")
        }
        let config = document.config ?? document.containerConfig ?? Section()
        entrypoint = config.entrypoint?.strings ?? []
        cmd = config.cmd?.strings ?? []
        env = config.env?.strings ?? []
        workingDir = config.workingDir ?? ""
        user = config.user ?? ""
        architecture = document.architecture ?? ""
        os = document.os ?? ""
        variant = document.variant ?? ""
    }

    /// The top level: any member of another type than expected reads as absent.
    private struct Document: Decodable {
        var config: Section?, containerConfig: Section?
        var architecture: String?, os: String?, variant: String?

        enum CodingKeys: String, CodingKey { case config, containerConfig = "container_config", architecture, os, variant }

        init(from decoder: any Decoder) throws {
            let members = try decoder.container(keyedBy: CodingKeys.self)
            config = try? members.decodeIfPresent(Section.self, forKey: .config)
            containerConfig = try? members.decodeIfPresent(Section.self, forKey: .containerConfig)
            architecture = try? members.decodeIfPresent(String.self, forKey: .architecture)
            os = try? members.decodeIfPresent(String.self, forKey: .os)
            variant = try? members.decodeIfPresent(String.self, forKey: .variant)
        }
    }

    /// `config` (or `container_config`), as leniently.
    private struct Section: Decodable {
        var entrypoint: StringList?, cmd: StringList?, env: StringList?
        var workingDir: String?, user: String?

        enum CodingKeys: String, CodingKey { case entrypoint = "Entrypoint", cmd = "Cmd", env = "Env", workingDir = "WorkingDir", user = "User" }

        init() {}

        init(from decoder: any Decoder) throws {
            let members = try decoder.container(keyedBy: CodingKeys.self)
            entrypoint = try? members.decodeIfPresent(StringList.self, forKey: .entrypoint)
            cmd = try? members.decodeIfPresent(StringList.self, forKey: .cmd)
            env = try? members.decodeIfPresent(StringList.self, forKey: .env)
            workingDir = try? members.decodeIfPresent(String.self, forKey: .workingDir)
            user = try? members.decodeIfPresent(String.self, forKey: .user)
        }
    }

    /// A list's strings (other elements dropped); a bare non-empty string is a shell command, as Docker reads it.
    private struct StringList: Decodable {
        var strings: [String]

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let list = try? value.decode([StringOrOther].self) {
                strings = list.compactMap(\.string)
            } else if let single = try? value.decode(String.self), !single.isEmpty {
                strings = ["/bin/sh", "-c", single]
            } else {
                strings = []
            }
        }
    }

    private struct StringOrOther: Decodable {
        var string: String?
        init(from decoder: any Decoder) throws { string = try? decoder.singleValueContainer().decode(String.self) }
    }

    /// The configuration's `rootfs.diff_ids`: the digest of each layer's uncompressed tar, bottom first; nil when
    /// it has none (v1 and schema 1 images).
    public static func diffIDs(json data: Data) throws -> [String]? {
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UdockerError(.invalidInput, "image configuration is not a JSON object")
        }
        return (top["rootfs"] as? [String: Any])?["diff_ids"] as? [String]
    }

    /// `os/arch[/variant]` as udocker prints it in `images -p`.
    public var platform: String {
        let base = "\(os.isEmpty ? "unknown" : os)/\(architecture.isEmpty ? "unknown" : architecture)"
        return variant.isEmpty ? base : base + "/" + variant
    }
}
