import CCurl
import Foundation

/// A libcurl multi handle: runs several easy handles at once on the calling thread, sharing connections.
final class CurlMulti {
    private let handle: UnsafeMutableRawPointer
    private var members: [UnsafeMutableRawPointer: CurlEasy] = [:]

    init() throws {
        try CurlRuntime.load()
        guard let handle = curl_multi_init() else {
            throw UdockerError(.internalError, "cannot initialise libcurl")
        }
        self.handle = handle
    }

    deinit {
        for easy in members.keys { curl_multi_remove_handle(handle, easy) }
        curl_multi_cleanup(handle)
    }

    var isEmpty: Bool { members.isEmpty }

    func add(_ easy: CurlEasy) throws {
        let code = curl_multi_add_handle(handle, easy.handle)
        guard code == CURLM_OK else { throw Self.error(code) }
        members[easy.handle] = easy
    }

    func remove(_ easy: CurlEasy) {
        guard members.removeValue(forKey: easy.handle) != nil else { return }
        curl_multi_remove_handle(handle, easy.handle)
    }

    /// Moves every transfer forward as far as it can without blocking, then returns the handles that finished,
    /// each with its result. Finished handles are no longer members.
    func step() throws -> [(CurlEasy, TransferResult)] {
        var running: Int32 = 0
        let code = curl_multi_perform(handle, &running)
        guard code == CURLM_OK else { throw Self.error(code) }
        var finished: [(CurlEasy, TransferResult)] = []
        var queued: Int32 = 0
        while let message = curl_multi_info_read(handle, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let pointer = message.pointee.easy_handle,
                  let easy = members[pointer] else { continue }
            let result = easy.finish(message.pointee.data.result)
            remove(easy)
            finished.append((easy, result))
        }
        return finished
    }

    /// Waits until a member has something to do, at most `milliseconds`.
    func wait(milliseconds: Int32) throws {
        let code = curl_multi_poll(handle, nil, 0, milliseconds, nil)
        guard code == CURLM_OK else { throw Self.error(code) }
    }

    private static func error(_ code: CURLMcode) -> UdockerError {
        UdockerError(.internalError, "libcurl multi interface: " + String(cString: curl_multi_strerror(code)))
    }
}
