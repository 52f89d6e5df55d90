import Equilibrium
import Foundation

extension GradientStudy.Outcome {
    /// A file-safe name for an estimator configuration, e.g. `phantom-k5-damping0.8`.
    public static func folderName(_ entry: GradientEntry) -> String {
        var parts = [entry.estimator]
        if let solver = entry.backwardSolver { parts.append(solver) }
        if entry.estimator == "phantom" || entry.estimator == "neumann" {
            if let k = entry.k { parts.append("k\(k)") }
            if let damping = entry.damping { parts.append("damping\(formatCompact(damping))") }
        }
        if let refine = entry.refine, refine > 0 { parts.append("refine\(refine)") }
        return parts.joined(separator: "-")
    }

    /// Every estimator's gradients, the reference's and the upstream gradient, written to `url`
    /// in the format its path names (``ArrayStore/write(_:to:as:compression:)``):
    ///
    /// - a folder (no extension): `NAME/d<parameter>.npy` and `NAME/dx.npy` per estimator,
    ///   `reference/…`, and `upstream.npy`;
    /// - one `.safetensors` or `.npz` file: the same arrays under the keys `NAME.d<parameter>`,
    ///   `NAME.dx`, `reference.…` and `upstream` (PyTorch's `state_dict` style).
    ///
    /// Returns estimator label → where its arrays are (a folder, or a key prefix in the file).
    public func save(upstream: Matrix, to url: URL) throws -> [String: String] {
        let labelled = zip(record.entries, results).map { (label: $0.label, name: Self.folderName($0), result: $1) }
            + [(label: "reference", name: "reference", result: reference)]
        func arrays(_ result: GradientResult) throws -> [NamedArray] {
            try result.parameters.map { try NamedArray("d\($0.name)", shape: $0.shape, values: $0.values) }
                + [try NamedArray("dx", shape: [result.input.rows, result.input.columns], values: result.input.storage)]
        }
        let upstreamArray = try NamedArray("upstream", shape: [upstream.rows, upstream.columns], values: upstream.storage)
        var places: [String: String] = [:]
        switch url.pathExtension {
        case "safetensors", "npz":
            var all = [upstreamArray]
            for entry in labelled {
                all += try arrays(entry.result).map { try NamedArray("\(entry.name).\($0.name)", shape: $0.shape, values: $0.values) }
                places[entry.label] = "\(url.path) keys \(entry.name).*"
            }
            try ArrayStore.write(all, to: url)
        case "":
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try ArrayStore.write([upstreamArray], to: url.appendingPathComponent("upstream.npy"))
            for entry in labelled {
                let folder = url.appendingPathComponent(entry.name)
                try ArrayStore.write(try arrays(entry.result), to: folder)
                places[entry.label] = folder.path
            }
        default:
            throw UsageError("save", "path", got: url.path, expected: "a folder (no extension), a .safetensors or a .npz file")
        }
        return places
    }
}
