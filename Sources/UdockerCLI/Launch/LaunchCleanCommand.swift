import ArgumentParser
import Foundation
import UdockerCore

/// `udocker-launch clean [--older-than AGE]`: remove this user's stages and broadcast copies from this node's scratch.
struct LaunchCleanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean", _superCommandName: "udocker-launch",
        abstract: "Remove stages (never one in use) and broadcast copies from this node's scratch.")

    @OptionGroup var general: LaunchGeneralOptions
    @Option(name: .customLong("older-than"), help: "Only stages finished longer ago than AGE (e.g. 90s, 30m, 12h, 7d).") var olderThan: String?

    func run() throws {
        _ = try general.context()
        let age = try olderThan.map(StageCleaner.parseAge)
        let area = try StageArea.choose(explicit: general.scratch, environment: ProcessInfo.processInfo.environment)
        let outcome = try StageCleaner(area: area).clean(olderThan: age)
        for name in outcome.removed { Output.stdout("removed \(name)\n") }
        for name in outcome.inUse { Output.stdout("in use, kept \(name)\n") }
        for name in try area.removeBroadcastCopies(olderThan: age) { Output.stdout("removed broadcast copy \(name)\n") }
    }
}
