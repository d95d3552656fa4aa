import ArgumentParser
import UdockerCore

/// How the launcher stages and which mode it runs in (shared by the run and stage commands).
struct LaunchStagingFlags: ParsableArguments {
    @Option(name: .customLong("stage"), help: "auto (mount a SquashFS where FUSE works, else extract it; stage containers on a network file system), mount (the SquashFS where it is), copy (the SquashFS copied to the node, then mounted), extract (always), never.")
    var stage: String = "auto"
    @Option(name: .customLong("write"), help: "U1: layer (writes go to a layer in memory, gone with the step) or none (a read-only root with tmpfs /tmp, /var/tmp, /run).")
    var write: String = "layer"
    @Option(name: .customLong("stage-timeout"), help: "Seconds a rank waits for another to finish staging.") var stageTimeout: Double = 600
    @Option(name: .customLong("execmode"), help: "Execution mode (default: the fastest that works here for MPI).") var execmode: String?

    var values: LaunchStagingValues { LaunchStagingValues(stage: stage, write: write, stageTimeout: stageTimeout, execmode: execmode) }

    func apply(to request: inout LaunchRequest) throws { try values.apply(to: &request) }
}

/// LaunchStagingFlags as plain values, at the same defaults (what LaunchCommandLine fills).
struct LaunchStagingValues: Equatable {
    var stage = "auto"
    var write = "layer"
    var stageTimeout: Double = 600
    var execmode: String?

    func apply(to request: inout LaunchRequest) throws {
        request.stage = try LaunchRequest.StagePolicy.parse(stage)
        request.write = try LaunchRequest.WritePolicy.parse(write)
        guard stageTimeout >= 0 else { throw UdockerError(.invalidInput, "invalid --stage-timeout: \(stageTimeout)") }
        request.stageTimeout = stageTimeout
        request.execMode = try execmode.map(ExecMode.parse)
    }

    static var plainOptions: [PlainOption<LaunchStagingValues>] {
        [
            .value("--stage") { $0.stage = $1 },
            .value("--write") { $0.write = $1 },
            .converted("--stage-timeout", as: { Double($0) }) { $0.stageTimeout = $1 },
            .value("--execmode") { $0.execmode = $1 },
        ]
    }
}
