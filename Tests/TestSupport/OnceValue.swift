import Foundation

/// A value computed once per process, on first use, under a lock (other callers wait for it).
/// A failure is remembered too, so a broken fixture fails every test that needs it. The first caller gets the
/// original error; later ones a `TestSupportError` quoting it, because Swift Testing records no issue for a
/// rethrown `#require` failure and those tests would otherwise pass without having run.
public final class OnceValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Result<Value, TestSupportError>?

    public init() {}

    public func get(_ make: () throws -> Value) throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let stored { return try stored.get() }
        do {
            let value = try make()
            stored = .success(value)
            return value
        } catch {
            stored = .failure(TestSupportError("shared set-up failed in an earlier test: \(error)"))
            throw error
        }
    }
}
