/// The passwd and group files a container sees. udocker 1.3 copies the container's files (or the host's with
/// --hostauth) and adds the user the command runs as, so that `id`, `ls -l` and shells know the name.
public struct AccountFiles: Sendable, Equatable {
    public var passwd: String
    public var group: String
    /// True with --hostauth: the files are the host's own (plus any added user).
    public var fromHost: Bool

    /// Marks the entries udocker added, so `setup --purge` can take them out again.
    public static let marker = "*UDOCKER*"

    public init(passwd: String, group: String, fromHost: Bool = false) {
        self.passwd = passwd; self.group = group; self.fromHost = fromHost
    }

    /// `base` files plus entries for each user whose uid (or group whose gid) they lack.
    public static func adding(_ usersToAdd: [ContainerRun.User], passwd base: String, group baseGroup: String,
                              fromHost: Bool = false) -> AccountFiles {
        var passwd = base, group = baseGroup
        if !passwd.isEmpty && !passwd.hasSuffix("\n") { passwd += "\n" }
        if !group.isEmpty && !group.hasSuffix("\n") { group += "\n" }
        // Each file parsed once; what is added joins the sets.
        var uids = ids(in: passwd, field: 2), users = names(in: passwd)
        var gids = ids(in: group, field: 2), groups = names(in: group)
        for user in usersToAdd {
            if !uids.contains(user.uid) && !users.contains(user.name) {
                passwd += "\(user.name):x:\(user.uid):\(user.gid):\(marker):\(user.home):\(user.shell)\n"
                uids.insert(user.uid); users.insert(user.name)
            }
            if !gids.contains(user.gid) && !groups.contains(user.name) {
                group += "\(user.name):x:\(user.gid):\n"
                gids.insert(user.gid); groups.insert(user.name)
            }
        }
        return AccountFiles(passwd: passwd, group: group, fromHost: fromHost)
    }

    /// Takes out the lines `adding` put in (passwd lines with the marker as GECOS; groups named after them).
    public static func removingAdded(passwd: String, group: String) -> (passwd: String, group: String) {
        let lines = passwd.split(separator: "\n", omittingEmptySubsequences: false)
        let added = lines.filter { $0.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first == Substring(marker) }
        let addedNames = Set(added.compactMap { $0.split(separator: ":").first.map(String.init) })
        let keptPasswd = lines.filter { !added.contains($0) }.joined(separator: "\n")
        let keptGroup = group.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            return !(f.count >= 4 && addedNames.contains(String(f[0])) && f[3].isEmpty)
        }.joined(separator: "\n")
        return (keptPasswd, keptGroup)
    }

    // These run on every start: split on an array of bytes, not on Characters (grapheme breaking) or a String's
    // UTF-8 view (whose generic split cost as much again).

    private static func ids(in text: String, field: Int) -> Set<UInt32> {
        Set(records(text).compactMap { f in f.count > field ? UInt32(String(decoding: f[field], as: UTF8.self)) : nil })
    }

    /// The first non-empty field of each line.
    private static func names(in text: String) -> Set<String> {
        Set(records(text).compactMap { f in f.first { !$0.isEmpty }.map { String(decoding: $0, as: UTF8.self) } })
    }

    /// Each non-empty line's colon-separated fields.
    private static func records(_ text: String) -> [[ArraySlice<UInt8>]] {
        Array(text.utf8).split(separator: UInt8(ascii: "\n")).map { $0.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false) }
    }
}
