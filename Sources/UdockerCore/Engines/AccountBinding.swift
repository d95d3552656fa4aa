/// For engines that bind files (P, R, S, U1): the passwd/group copies are written beside ROOT in the
/// container's directory and bound over /etc/passwd and /etc/group.
enum AccountBinding {
    static func steps(_ accounts: AccountFiles, containerDir: String) -> [PreparationStep] {
        [.writeFile(path: containerDir + "/" + ContainerFile.passwd.rawValue, contents: accounts.passwd, mode: 0o644),
         .writeFile(path: containerDir + "/" + ContainerFile.group.rawValue, contents: accounts.group, mode: 0o644)]
    }

    static func binds(containerDir: String) -> [RunOptions.Volume] {
        [RunOptions.Volume(hostPath: containerDir + "/" + ContainerFile.passwd.rawValue, containerPath: "/etc/passwd"),
         RunOptions.Volume(hostPath: containerDir + "/" + ContainerFile.group.rawValue, containerPath: "/etc/group")]
    }
}
