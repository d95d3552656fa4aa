import Foundation

/// U1's in-process set-up: new user + mount namespace, binds, chroot. Implemented by the engines work item.
enum UserNamespace {
    static func enter(_ isolation: Isolation) throws {
        throw UdockerError(.unsupported, "execution mode U1 is not available in this build")
    }
}
