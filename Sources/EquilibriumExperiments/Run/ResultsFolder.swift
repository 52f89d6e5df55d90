import Equilibrium
import Foundation

/// Operations on existing results folders: reading their spec back, merging shards.
public enum ResultsFolder {
    /// The experiment spec recorded in `DIR/manifest.json`.
    public static func spec(in directory: URL) throws(ExperimentError) -> ExperimentSpec {
        let file = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: file) else {
            throw ExperimentError(file: file.path, line: nil, message: "no manifest.json here; expected a results folder written by deq run")
        }
        do {
            return try JSONFormat.decoder().decode(RunManifest.self, from: data).spec
        } catch {
            throw ExperimentError(file: file.path, line: nil, message: "not a manifest written by this toolkit (\(error))")
        }
    }

    /// Combines shard folders of one experiment into `destination`: copies every point file
    /// (atomically), writes a manifest without a shard, and rebuilds the summary, curves and
    /// pictures. Merged shards give the same files as one run (times aside).
    @discardableResult
    public static func merge(_ sources: [URL], into destination: URL, renderPictures: Bool = true) throws -> ResultsWriter.Summary {
        guard let first = sources.first else {
            throw ExperimentError(file: "deq merge", line: nil, message: "no results folders given; expected one or more shard folders")
        }
        let spec = try spec(in: first)
        var comparable = spec
        comparable.baseDirectory = ""
        let fileManager = FileManager.default
        // A destination that already holds anything must hold this very experiment (a re-merge):
        // leftover points of another run would fill a missing shard and enter the tables.
        let existing = (try? fileManager.contentsOfDirectory(atPath: destination.path)) ?? []
        if !existing.isEmpty {
            var there: ExperimentSpec
            do { there = try self.spec(in: destination) } catch {
                throw ExperimentError(file: destination.path, line: nil,
                                      message: "--out is not empty and holds no results of this experiment; expected a new or empty folder (or an earlier merge of the same shards)")
            }
            there.baseDirectory = ""
            guard there == comparable else {
                throw ExperimentError(file: destination.appendingPathComponent("manifest.json").path, line: nil,
                                      message: "--out holds results of a different experiment spec; expected a new or empty folder")
            }
        }
        try fileManager.createDirectory(at: destination.appendingPathComponent("points"), withIntermediateDirectories: true)
        for source in sources {
            var other = try self.spec(in: source)
            other.baseDirectory = ""
            guard other == comparable else {
                throw ExperimentError(file: source.appendingPathComponent("manifest.json").path, line: nil,
                                      message: "this folder ran a different experiment spec than \(first.path); only shards of one spec merge")
            }
            let points = source.appendingPathComponent("points")
            let files = (try? fileManager.contentsOfDirectory(at: points, includingPropertiesForKeys: nil)) ?? []
            for file in files where file.pathExtension == "json" && !file.lastPathComponent.hasPrefix(".") {
                guard let record = PointRecord.read(from: file) else { continue }
                try record.write(to: destination.appendingPathComponent("points/\(record.id).json"))
            }
        }
        var manifest = RunManifest(spec: spec, shard: nil, started: Date())
        // The points came from the shards' runs: keep their provenance beside the merge's own.
        manifest.sources = sources.map { source in
            let shardManifest = RunManifest.read(from: source)
            return .init(folder: source.path, shard: shardManifest?.shard, provenance: shardManifest?.provenance,
                         earlierRuns: shardManifest?.earlierRuns)
        }
        if let earlier = RunManifest.read(from: destination) {
            manifest.earlierRuns = (earlier.earlierRuns ?? []) + (earlier.provenance.map { [$0] } ?? [])
            if manifest.earlierRuns?.isEmpty == true { manifest.earlierRuns = nil }
        }
        try manifest.write(to: destination)
        let summary = try ResultsWriter(spec: spec, directory: destination, renderPictures: renderPictures).writeAll()
        manifest.pointsPresent = summary.pointsPresent
        if summary.complete { manifest.ended = Date() }
        try manifest.write(to: destination)
        return summary
    }
}
