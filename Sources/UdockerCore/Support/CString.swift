extension String {
    /// The text of a NUL-terminated C character array (the archive code keeps path names as [CChar] for the
    /// *at() system calls).
    init(nulTerminated characters: [CChar]) {
        self = String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
