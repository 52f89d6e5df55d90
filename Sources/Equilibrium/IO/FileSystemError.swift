import Foundation

/// A file-system failure as one sentence naming the path and the reason
/// ("cannot write /tmp/ro/x: permission denied"), in place of Foundation's raw
/// `NSCocoaErrorDomain` dumps. Made from any `Error` Foundation's file APIs throw.
public struct FileSystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var action: String
    public var reason: String

    public var description: String { "cannot \(action) \(path): \(reason)" }

    /// The sentence for a Foundation file error, or nil when `error` is not one.
    public init?(_ error: any Error) {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
        let url = ns.userInfo[NSURLErrorKey] as? URL
        path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? url?.path ?? "a file"
        let code = CocoaError.Code(rawValue: ns.code)
        let isRead = ns.domain == NSCocoaErrorDomain && (256..<512).contains(ns.code)
        action = isRead ? "read" : "write"
        let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
        if let underlying, underlying.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(underlying.code))).lowercased()
        } else if ns.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(ns.code))).lowercased()
        } else {
            switch code {
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file or folder"
            case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
            case .fileWriteOutOfSpace: reason = "no space left on the device"
            case .fileWriteVolumeReadOnly: reason = "the file system is read-only"
            case .fileWriteFileExists: reason = "something else is already there"
            case .fileReadCorruptFile: reason = "the file is damaged or not in the expected format"
            case .fileReadInapplicableStringEncoding: reason = "the file is not valid text in the expected encoding"
            default: reason = "the operation failed (\(ns.domain) code \(ns.code))"
            }
        }
    }
}
