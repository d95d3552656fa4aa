import ArgumentParser
import Foundation
import UdockerCore

struct LoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", _superCommandName: "udocker",
        abstract: "Check credentials with a registry and store them in the keystore.")

    @Option(name: .customLong("username"), help: "User name (asked for when missing).") var username: String?
    @Option(name: .customLong("password"), help: "Password (asked for when missing).") var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false
    @Option(name: .customLong("registry"), help: "Registry URL, e.g. quay.io (default: Docker Hub's).") var registry: String?

    func validate() throws {
        if passwordStdin && password != nil { throw ValidationError("--password and --password-stdin exclude each other") }
    }

    func run() throws {
        let context = try Context.get()
        let settings = RegistryAccess.settings(context, registry: registry)
        let url = settings.registryForUnqualifiedNames
        let user = try username ?? Prompt.line("username: ")
        let secret: String
        if passwordStdin {
            secret = try Prompt.line(nil)
        } else {
            secret = try password ?? Prompt.hidden("password: ")
        }
        guard !user.isEmpty, !secret.isEmpty else { throw UdockerError(.usage, "login needs a username and a password") }
        if secret.contains(where: \.isLetter) && secret == secret.uppercased() { Log.warning("password in uppercase: Caps Lock?") }

        let client = try RegistryClient(registry: url, settings: settings,
                                        credentials: KeyStore.encode(username: user, password: secret))
        if try !client.checkCredentials() {
            Log.warning("\(URLParts.hostPort(url)) asks for no authentication: the credentials are stored unchecked")
        }
        try RegistryAccess.keystore(context).store(username: user, password: secret, for: url)
        Log.info("credentials for \(url) stored")
    }
}

/// Reading what `login` asks for from the terminal or standard input.
enum Prompt {
    static func line(_ prompt: String?) throws -> String {
        if let prompt { Output.stderr(prompt) }
        guard let line = readLine(strippingNewline: true) else { throw UdockerError(.usage, "no input on standard input") }
        return line
    }

    /// A line read with the terminal's echo off.
    static func hidden(_ prompt: String) throws -> String {
        var saved = termios()
        let isTerminal = tcgetattr(0, &saved) == 0
        if isTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &quiet)
        }
        defer {
            if isTerminal { tcsetattr(0, TCSANOW, &saved); Output.stderr("\n") }
        }
        return try line(prompt)
    }
}
