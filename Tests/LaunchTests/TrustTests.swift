import Foundation
import Testing
import TestSupport
import CommandExpectations

/// What the launcher trusts on a node shared with other users (issue 16, items 1–5): the victim is the harness's
/// unprivileged user, the attacker a second one, and a sticky world-writable directory owned by root stands in
/// for /tmp. Each attack here worked before the launcher checked owners, modes and digests.
@Suite struct TrustTests {
    struct World {
        let node: LaunchNode
        let attacker: Sandbox
        /// Mode 1777, owned by root: the node's /tmp.
        let shared: String

        var victim: Sandbox { node.sandbox }
        var victimUID: uid_t { node.sandbox.user.uid }

        /// `udocker-launch --scratch=SCRATCH ARGUMENTS` as the victim (scratch: the shared directory by default).
        func launch(_ arguments: [String], scratch: String? = nil, env: [String: String] = [:]) throws -> CommandResult {
            try victim.run([node.launcher, "--scratch=" + (scratch ?? shared)] + arguments, env: env)
        }

        func asAttacker(_ script: String) throws -> CommandResult { try attacker.run(["/bin/sh", "-c", script]) }
    }

    /// Nil (and a line saying so) where no second user can be made: the tests need root for that.
    static func world(_ label: String = #function, victim images: [FixtureImage] = [], attacker attackerImages: [FixtureImage] = []) throws -> World? {
        guard let other = try TestUser.other() else {
            print("\(label): skipped, a second unprivileged user needs the tests to run as root")
            return nil
        }
        let node = try LaunchNode(label)
        for image in images { try node.sandbox.load(image) }
        let attacker = try Sandbox(label + "-attacker", user: other)
        for image in attackerImages { try attacker.load(image) }
        let shared = try node.sandbox.staging.makeDirectory(label + "-tmp")
        chmod(shared, 0o1777)
        return World(node: node, attacker: attacker, shared: shared)
    }

    static func mode(_ path: String) -> (uid: uid_t, mode: mode_t)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (st.st_uid, st.st_mode & 0o7777)
    }

    // MARK: 1. per-user directories in a shared place

    /// The attack on R1: another user makes `$TMPDIR/udocker-<uid>-runc` first (mode 777) and swaps the
    /// victim's bundle for its own between the victim's writing config.json and runc's reading it.
    static let bundleSwapper = """
        dir=$1
        printf '{"ociVersion":"1.0.2","process":{"args":["/bin/sh","-c","touch /tmp/pwned"]}}' > "$HOME/evil.json"
        while :; do
          for bundle in "$dir"/bundles/udocker-*; do
            [ -f "$bundle/config.json" ] || continue
            mv "$bundle" "$dir/.taken" 2>/dev/null && mkdir "$bundle" && cp "$HOME/evil.json" "$bundle/config.json"
          done
        done
        """

    @Test func anR1RuntimeDirectoryAnotherUserMadeFirstIsRefusedAndNothingIsWrittenInIt() throws {
        guard let world = try Self.world(victim: [Fixtures.busybox()]) else { return }
        let runtimeDir = world.shared + "/udocker-\(world.victimUID)-runc"
        try requireSuccess(world.asAttacker("mkdir -m 777 \(runtimeDir)"))
        try Files.write(Self.bundleSwapper, to: world.attacker.directory + "/swap.sh")
        let swapper = try Command.start(["/bin/sh", world.attacker.directory + "/swap.sh", runtimeDir], env: world.attacker.environment,
                                        as: world.attacker.user, directory: world.attacker.home, timeout: .seconds(120))
        defer { swapper.kill(); _ = swapper.wait() }
        let run = try world.launch(["--execmode=R1", "fixtures/busybox:latest", "--", "echo", "hello"], scratch: world.node.scratch,
                                   env: ["TMPDIR": world.shared])
        expectOneLineError(run)
        #expect(run.err.contains(runtimeDir) && run.err.contains("uid \(world.attacker.user.uid)") && run.err.contains("mode 0777"), "\(run)")
        #expect(Files.list(runtimeDir).isEmpty, "the victim wrote into the attacker's directory: \(Files.list(runtimeDir))")

        // A symlink planted in its place is refused too, and nothing is written where it points.
        swapper.kill()
        let target = world.attacker.directory + "/runtime"
        try requireSuccess(world.asAttacker("rm -rf \(runtimeDir) && mkdir -m 777 \(target) && ln -s \(target) \(runtimeDir)"))
        let linked = try world.launch(["--execmode=R1", "fixtures/busybox:latest", "--", "echo", "hello"], scratch: world.node.scratch,
                                      env: ["TMPDIR": world.shared])
        expectOneLineError(linked)
        #expect(linked.err.contains(runtimeDir) && linked.err.contains("symlink"), "\(linked)")
        #expect(Files.list(target).isEmpty, "\(Files.list(target))")
    }

    @Test func aStageAreaAnotherUserSquattedIsRefusedBeforeAnythingIsWrittenInIt() throws {
        guard let world = try Self.world(victim: [Fixtures.busybox()]) else { return }
        let area = world.shared + "/udocker-\(world.victimUID)"
        try requireSuccess(world.asAttacker("mkdir -m 777 \(area)"))
        let squatted = try world.launch(["fixtures/busybox:latest", "--", "true"])
        expectOneLineError(squatted)
        #expect(squatted.err.contains(area) && squatted.err.contains("uid \(world.attacker.user.uid)") && squatted.err.contains("mode 0777"),
                "\(squatted)")
        #expect(Files.list(area).isEmpty, "written into the squatted directory: \(Files.list(area))")

        let target = world.attacker.directory + "/area"
        try requireSuccess(world.asAttacker("rmdir \(area) && mkdir -m 777 \(target) && ln -s \(target) \(area)"))
        let linked = try world.launch(["fixtures/busybox:latest", "--", "true"])
        expectOneLineError(linked)
        #expect(linked.err.contains(area) && linked.err.contains("symlink"), "\(linked)")
        #expect(Files.list(target).isEmpty, "written through the symlink: \(Files.list(target))")

        // Once the squatter is gone the victim's own directory is made private, and works.
        try requireSuccess(world.asAttacker("rm \(area)"))
        let run = try world.launch(["fixtures/busybox:latest", "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
        let made = try #require(Self.mode(area))
        #expect(made.uid == world.victimUID && made.mode == 0o700, "\(made)")

        // A scratch directory others can write without the sticky bit lets them rename the area away: refused.
        let open = try world.victim.makeDirectory("open-scratch")
        chmod(open, 0o777)
        let refused = try world.launch(["fixtures/busybox:latest", "--", "true"], scratch: open)
        expectOneLineError(refused)
        #expect(refused.err.contains("sticky"), "\(refused)")
        #expect(Files.list(open).isEmpty, "\(Files.list(open))")
    }

    // MARK: publishing helpers

    /// `udocker-launch publish` as `sandbox` into `dir`; returns the manifest's path.
    @discardableResult
    static func publish(_ sandbox: Sandbox, _ image: String, name: String, to dir: String) throws -> String {
        try requireSuccess(sandbox.run([sandbox.staging.udockerLaunch, "publish", "--format=tar.gz", "--to", dir, "--name", name, image]))
        return dir + "/" + name + ".json"
    }

    static func readManifest(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// Writes `manifest` as both the version's and the name's manifest, mode 0644, owned by `owner`.
    static func writeManifest(_ manifest: [String: Any], name: String, in dir: String, owner: TestUser) throws {
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        let archive = try #require(manifest["archive"] as? String)
        for file in [String(archive.dropLast(".tar.gz".count)) + ".json", name + ".json"] {
            try Files.write(data, to: dir + "/" + file, mode: 0o644, owner: owner)
        }
    }

    /// A hostile publisher's version of `name` in `dir`: the published container directory unpacked, changed by
    /// `change`, packed again and described by a manifest that matches it (digest, size, archive name).
    static func forge(_ sandbox: Sandbox, name: String, in dir: String, change: (String) throws -> Void) throws {
        var manifest = try readManifest(dir + "/" + name + ".json")
        let work = try sandbox.makeDirectory("forge-" + name)
        let packed = sandbox.directory + "/forged.tar.gz"
        try requireSuccess(Command.run(["tar", "-xzf", dir + "/" + (try #require(manifest["archive"] as? String)), "-C", work]))
        try change(work)
        try requireSuccess(Command.run(["tar", "-czf", packed, "-C", work, "."]))
        let sum = try Command.run(["sha256sum", packed])
        try requireSuccess(sum)
        let hex = String(sum.out.prefix(64))
        let archive = name + "@" + hex.prefix(12) + ".tar.gz"
        try requireSuccess(Command.run(["mv", packed, dir + "/" + archive]))
        try sandbox.user.own(dir + "/" + archive)
        chmod(dir + "/" + archive, 0o644)
        manifest["archive"] = archive
        manifest["archiveDigest"] = "sha256:" + hex
        manifest["archiveSize"] = Files.size(dir + "/" + archive)
        try writeManifest(manifest, name: name, in: dir, owner: sandbox.user)
    }

    /// Prints whether the container holds busybox-extra's /extra.txt: the attacker's image, not the victim's.
    static let whichImage = ["--", "sh", "-c", "test -e /extra.txt && echo attacker || echo victim"]

    // MARK: 2. the stage key

    @Test func aPublishedManifestCannotChooseTheStageItBecomes() throws {
        guard let world = try Self.world(victim: [Fixtures.busybox()], attacker: [Fixtures.busyboxExtra()]) else { return }
        // The key of the victim's image stage (learnt in a scratch of its own).
        try requireSuccess(world.node.launch(["fixtures/busybox:latest", "--", "true"]))
        let imageKey = try #require(world.node.stages.first { $0.hasPrefix("image-") })
        let dir = try world.attacker.makeDirectory("published")
        let manifestPath = try Self.publish(world.attacker, "fixtures/busybox-extra:latest", name: "tool", to: dir)

        // A key equal to the image's: running the published container first must not poison the image's stage.
        var manifest = try Self.readManifest(manifestPath)
        manifest["stageKey"] = imageKey
        try Self.writeManifest(manifest, name: "tool", in: dir, owner: world.attacker.user)
        try requireSuccess(world.launch([manifestPath] + Self.whichImage))
        let image = try world.launch(["fixtures/busybox:latest"] + Self.whichImage)
        try requireSuccess(image)
        #expect(image.out == "victim\n", "the image ran from the stage the published container chose: \(image)")

        // A key leading out of the stage area, to a "stage" the attacker made: it must not be reused.
        let evil = world.attacker.directory + "/evilstage"
        try requireSuccess(world.asAttacker("mkdir -p \(evil)/ROOT/bin && cp /bin/busybox \(evil)/ROOT/bin/ && ln -s busybox \(evil)/ROOT/bin/sh "
                                            + "&& ln -s busybox \(evil)/ROOT/bin/echo && touch \(evil)/ROOT/evil \(evil)/stage.done"))
        let stagesDir = world.shared + "/udocker-\(world.victimUID)/stages"
        manifest["stageKey"] = String(repeating: "../", count: stagesDir.split(separator: "/").count) + evil.dropFirst()
        try Self.writeManifest(manifest, name: "tool", in: dir, owner: world.attacker.user)
        let escaped = try world.launch([manifestPath, "--", "sh", "-c", "test -e /evil && echo escaped || echo staged"])
        try requireSuccess(escaped)
        #expect(escaped.out == "staged\n", "\(escaped)")
        let stages = Files.list(stagesDir)
        #expect(stages.filter { $0.hasPrefix("published-") }.count == 1, "\(stages)")
    }

    // MARK: 3. owner and mode of published files

    @Test func publishedFilesAnotherUserCouldHaveWrittenAreRefused() throws {
        guard let world = try Self.world(victim: [Fixtures.busybox()], attacker: [Fixtures.busyboxExtra()]) else { return }
        let own = try world.attacker.makeDirectory("published")
        try Self.publish(world.attacker, "fixtures/busybox-extra:latest", name: "bb", to: own)

        // A world-writable publish directory without the sticky bit: the attacker renames its manifest over the
        // victim's, with its own archive beside it.
        let open = try world.victim.makeDirectory("published-open")
        try Self.publish(world.victim, "fixtures/busybox:latest", name: "bb", to: open)
        chmod(open, 0o777)
        try requireSuccess(world.asAttacker("cp \(own)/bb@*.tar.gz \(own)/bb@*.json \(open)/ && cp \(own)/bb.json \(open)/.new && mv \(open)/.new \(open)/bb.json"))
        let repointed = try world.launch([open + "/bb.json"] + Self.whichImage)
        expectOneLineError(repointed)
        #expect(repointed.err.contains(open + "/bb.json") && repointed.err.contains("sticky") && repointed.err.contains("mode 0777"),
                "\(repointed)")

        // A sticky directory (as /tmp): anyone may add files, so only the victim's, root's or the directory owner's count.
        try Self.publish(world.victim, "fixtures/busybox:latest", name: "mine", to: world.shared)
        try requireSuccess(world.asAttacker("cp \(own)/bb@*.tar.gz \(own)/bb@*.json \(own)/bb.json \(world.shared)/"))
        let planted = try world.launch([world.shared + "/bb.json"] + Self.whichImage)
        expectOneLineError(planted)
        #expect(planted.err.contains(world.shared + "/bb.json") && planted.err.contains("uid \(world.attacker.user.uid)"), "\(planted)")
        let mine = try world.launch([world.shared + "/mine.json"] + Self.whichImage)
        try requireSuccess(mine)
        #expect(mine.out == "victim\n", "\(mine)")

        // The victim's own files, made writable by others: the manifest, then the archive.
        let dir = try world.victim.makeDirectory("published")
        let manifest = try Self.publish(world.victim, "fixtures/busybox:latest", name: "bb", to: dir)
        chmod(manifest, 0o666)
        let writable = try world.launch([manifest, "--", "true"])
        expectOneLineError(writable)
        #expect(writable.err.contains(manifest) && writable.err.contains("writable by others") && writable.err.contains("mode 0666"), "\(writable)")
        chmod(manifest, 0o644)
        let archive = dir + "/" + (try #require(Self.readManifest(manifest)["archive"] as? String))
        chmod(archive, 0o646)
        let writableArchive = try world.launch([manifest, "--", "true"])
        expectOneLineError(writableArchive)
        #expect(writableArchive.err.contains(archive) && writableArchive.err.contains("mode 0646"), "\(writableArchive)")
    }

    // MARK: 4. the broadcast copy

    @Test func aFileAnotherUserPlantsInScratchIsNeverStagedFrom() throws {
        guard let world = try Self.world(victim: [Fixtures.busybox()]) else { return }
        let dir = try world.victim.makeDirectory("published")
        let manifest = try Self.publish(world.victim, "fixtures/busybox:latest", name: "bb", to: dir)
        let archiveName = try #require(Self.readManifest(manifest)["archive"] as? String)
        // Where the launcher used to look: the scratch root, open to every user.
        try requireSuccess(world.asAttacker("echo planted > \(world.shared)/\(archiveName)"))
        let run = try world.launch([manifest, "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
    }

    /// 64 MiB of zeros in 64 KiB of gzip, under a file-size limit of 32 MiB: extracting any of it kills the launcher.
    @Test func aBroadcastCopyIsVerifiedWholeBeforeAnythingIsExtracted() throws {
        guard let world = try Self.world(victim: [Fixtures.busybox()]) else { return }
        let dir = try world.victim.makeDirectory("published")
        let manifest = try Self.publish(world.victim, "fixtures/busybox:latest", name: "bb", to: dir)
        let archiveName = try #require(Self.readManifest(manifest)["archive"] as? String)
        let bomb = world.victim.directory + "/bomb.tar.gz"
        try requireSuccess(world.victim.run(["/bin/sh", "-c", "mkdir -p bomb/ROOT && head -c 67108864 /dev/zero > bomb/ROOT/zeros "
                                             + "&& tar -czf \(bomb) -C bomb . && rm -r bomb"]))
        let broadcast = try world.launch(["broadcast-dir"])
        try requireSuccess(broadcast)
        let broadcastDir = broadcast.out.trimmingCharacters(in: .newlines)
        #expect(broadcastDir == world.shared + "/udocker-\(world.victimUID)/broadcast", "\(broadcast)")
        #expect(Self.mode(broadcastDir)?.mode == 0o700)
        // The copy an interrupted broadcast (or another job's) left, and the same where the launcher used to look.
        for copy in [broadcastDir + "/" + archiveName, world.shared + "/" + archiveName] {
            try requireSuccess(world.victim.run(["cp", bomb, copy]))
        }
        let run = try world.victim.run(["prlimit", "--fsize=33554432", "--", world.node.launcher, "--scratch=" + world.shared,
                                        manifest, "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
        #expect(run.err.contains("broadcast copy \(broadcastDir)/\(archiveName) has digest"), "\(run)")
    }

    @Test func theBroadcastCopyInThePrivateDirectoryIsStagedFromAndCleanRemovesIt() throws {
        guard let world = try Self.world(victim: [Fixtures.busybox()]) else { return }
        let dir = try world.victim.makeDirectory("published")
        let manifest = try Self.publish(world.victim, "fixtures/busybox:latest", name: "bb", to: dir)
        let archiveName = try #require(Self.readManifest(manifest)["archive"] as? String)
        let broadcast = try world.launch(["broadcast-dir"])
        try requireSuccess(broadcast)
        let copy = broadcast.out.trimmingCharacters(in: .newlines) + "/" + archiveName
        try requireSuccess(world.victim.run(["cp", dir + "/" + archiveName, copy]))
        // The shared copy gone: only the broadcast one can be staged from.
        try requireSuccess(world.victim.run(["mv", dir + "/" + archiveName, dir + "/moved-away"]))
        let run = try world.launch([dir + "/" + archiveName, "--", "cat", "/etc/fixture-release"])
        try requireSuccess(run)
        #expect(run.out == "busybox fixture\n", "\(run)")
        let clean = try world.launch(["clean"])
        try requireSuccess(clean)
        #expect(clean.out.contains("removed broadcast copy \(archiveName)\n"), "\(clean)")
        #expect(!Files.exists(copy))
    }

    // MARK: 5. what an archive may hold

    @Test func anArchiveWithEntriesBesideRootThatAreNotThePublishersFilesIsRefused() throws {
        guard let world = try Self.world(attacker: [Fixtures.busybox()]) else { return }
        let dir = try world.attacker.makeDirectory("published")
        let outside = world.shared + "/made-by-the-victim"
        let hostile: [(String, String, (String) throws -> Void)] = [
            ("inuse", ".inuse", { try requireSuccess(Command.run(["ln", "-s", outside, $0 + "/.inuse"])) }),
            ("done", "stage.done", { try Files.write("key whatever\n", to: $0 + "/stage.done") }),
            ("config", "container.json", { work in
                try requireSuccess(Command.run(["sh", "-c", "rm -f \(work)/container.json && ln -s /etc/passwd \(work)/container.json"]))
            }),
        ]
        for (name, member, change) in hostile {
            try Self.publish(world.attacker, "fixtures/busybox:latest", name: name, to: dir)
            try Self.forge(world.attacker, name: name, in: dir, change: change)
            let run = try world.launch([dir + "/" + name + ".json", "--", "true"])
            expectOneLineError(run)
            #expect(run.err.contains(member) && run.err.contains("refused"), "\(name): \(run)")
            #expect(!Files.exists(outside), "\(name): the victim created \(outside)")
        }
        let stages = Files.list(world.shared + "/udocker-\(world.victimUID)/stages")
        #expect(stages.isEmpty, "left in the stage area: \(stages)")
    }
}
