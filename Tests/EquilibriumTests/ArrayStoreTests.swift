import Foundation
import Testing
import Equilibrium

/// One abstraction over a directory of `.npy`, an `.npz` and a `.safetensors`: the same arrays
/// read back the same from each, prefixes, missing keys listed, single-array paths, writing by
/// extension, and cells loaded from a `state_dict`.
@Suite struct ArrayStoreTests {
    static let arrays = [NamedArray(name: "deq.f.W1", shape: [3, 2], values: [1, 2, 3, 4, 5, 6]),
                         NamedArray(name: "deq.f.norm1.weight", shape: [3], values: [0.5, 1, 2]),
                         NamedArray(name: "head.weight", shape: [1, 2], values: [-1, 1])]

    @Test(arguments: ["w.safetensors", "w.npz", "w"])
    func everyFormatReadsBackTheSame(name: String) throws {
        let dir = try ScratchDirectory("ArrayStoreTests")
        defer { dir.cleanUp() }
        let url = dir.file(name)
        try ArrayStore.write(Self.arrays, to: url)
        let store = try ArrayStore(contentsOf: url)
        #expect(store.format == (name.hasSuffix(".safetensors") ? .safetensors : name.hasSuffix(".npz") ? .npz : .npyDirectory))
        #expect(Set(store.keys) == Set(Self.arrays.map(\.name)))
        for a in Self.arrays { #expect(try store.array(a.name) == NumPyArray(shape: a.shape, values: a.values)) }

        let sub = try ArrayStore(contentsOf: url, prefix: "deq.f.")
        #expect(Set(sub.keys) == ["W1", "norm1.weight"])
        #expect(try sub.array("W1").values == [1, 2, 3, 4, 5, 6])
        // A missing key lists the keys found, with the prefix applied.
        do {
            _ = try sub.array("W2")
            Issue.record("W2 should be missing")
        } catch {
            #expect(error.description.contains("deq.f.W2"), "\(error)")
            if store.format == .npyDirectory {
                #expect(error.reason.contains("no such file") && error.reason.contains("deq.f.W1.npy"), "\(error)")
            } else {
                #expect(error.reason.contains("the keys with the prefix 'deq.f.' are 2 arrays: deq.f.W1, deq.f.norm1.weight")
                        || error.reason.contains("deq.f.norm1.weight, deq.f.W1"), "\(error)")
            }
        }
        let none = try ArrayStore(contentsOf: url, prefix: "model.")
        #expect(none.keys.isEmpty)
        if store.format != .npyDirectory {
            #expect(none.missing("W1").reason.contains("no key starts with the prefix 'model.'"))
        }
    }

    @Test func singleArrayPathsAndKeys() throws {
        let dir = try ScratchDirectory("ArrayStoreTests")
        defer { dir.cleanUp() }
        try ArrayStore.write([NamedArray(name: "x", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])], to: dir.file("x.safetensors"))
        try ArrayStore.write(Self.arrays, to: dir.file("all.npz"))
        #expect(try ArrayStore.singleArray(at: dir.file("x.safetensors")).array.shape == [2, 3])
        let keyed = try ArrayStore.singleArray(at: URL(fileURLWithPath: dir.file("all.npz").path + ":head.weight"))
        #expect(keyed.array.values == [-1, 1] && keyed.key == "head.weight")
        do {
            _ = try ArrayStore.singleArray(at: dir.file("all.npz"))
            Issue.record("several arrays need a key")
        } catch {
            #expect(error.reason.contains("expected exactly one array, or name one as all.npz:KEY"), "\(error)")
        }
        // Starts and batches read through the same path.
        let start = try Initialization.load(contentsOf: dir.file("x.safetensors"), batchSize: 2, dimension: 3)
        guard case .explicit(let z) = start else { Issue.record("expected an explicit start"); return }
        #expect(z.storage == [1, 2, 3, 4, 5, 6])
    }

    @Test func writingByExtension() throws {
        let dir = try ScratchDirectory("ArrayStoreTests")
        defer { dir.cleanUp() }
        #expect(throws: ArrayFileError.self) { try ArrayStore.write(Self.arrays, to: dir.file("z.npy")) }
        try ArrayStore.write([Self.arrays[0]], to: dir.file("z.npy"))
        #expect(try NumPyArray.read(contentsOf: dir.file("z.npy")).values == [1, 2, 3, 4, 5, 6])
        try ArrayStore.write(Self.arrays, to: dir.file("c.npz"), compression: .deflated)
        #expect(try ArrayStore(contentsOf: dir.file("c.npz")).array("head.weight").values == [-1, 1])
        // Atomic: no temporary files are left beside the results.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "\(left)")
        // Unknown or missing inputs are named.
        do { _ = try ArrayStore(contentsOf: dir.file("nothing.safetensors")) } catch {
            #expect(error.reason.contains("no such file"), "\(error)")
        }
        try Data("x".utf8).write(to: dir.file("w.h5"))
        do { _ = try ArrayStore(contentsOf: dir.file("w.h5")) } catch {
            #expect(error.reason.contains("unknown format '.h5'"), "\(error)")
        }
    }

    @Test func cellsLoadFromAStateDictWithAPrefix() throws {
        let dir = try ScratchDirectory("ArrayStoreTests")
        defer { dir.cleanUp() }
        let cell = try ResidualCell.random(.init(dimension: 6, innerDimension: 8, batchSize: 2, groups: 2, seed: 3))
        // PyTorch's names for the MLP weights, under a submodule prefix, beside other modules' keys.
        let renamed = cell.parameters.map { p in
            NamedArray(name: "deq.f." + (p.name == "W1" ? "linear1.weight" : p.name == "W2" ? "linear2.weight" : p.name), shape: p.shape, values: p.values)
        }
        try ArrayStore.write(renamed + [NamedArray(name: "head.bias", shape: [1], values: [0])], to: dir.file("model.safetensors"))
        let store = try ArrayStore(contentsOf: dir.file("model.safetensors"), prefix: "deq.f.")
        let loaded = try ResidualCell.load(weights: store, groups: 2, injection: .gaussian(batchSize: 2, scale: 1, seed: 0))
        #expect(loaded.parameters == cell.parameters)

        // A missing parameter names the file, the key tried and the keys found.
        try ArrayStore.write(renamed.filter { !$0.name.hasSuffix("norm2.bias") }, to: dir.file("partial.safetensors"))
        let partial = try ArrayStore(contentsOf: dir.file("partial.safetensors"), prefix: "deq.f.")
        do {
            _ = try ResidualCell.load(weights: partial, groups: 2, injection: .gaussian(batchSize: 2, scale: 1, seed: 0))
            Issue.record("norm2.bias is missing")
        } catch let error as CellLoadingError {
            #expect(error.file == dir.file("partial.safetensors").path && error.key == "deq.f.norm2.bias", "\(error)")
            #expect(error.description.contains("no such key; the keys with the prefix 'deq.f.' are 7 arrays"), "\(error)")
            #expect(error.description.contains("expected an array of shape (6,) = (d,)"), "\(error)")
        }
        // Two keys for one parameter are ambiguous.
        try ArrayStore.write(renamed + [NamedArray(name: "deq.f.W1", shape: [8, 6], values: cell.parameters[0].values)], to: dir.file("both.npz"))
        let both = try ArrayStore(contentsOf: dir.file("both.npz"), prefix: "deq.f.")
        do {
            _ = try ResidualCell.load(weights: both, groups: 2, injection: .gaussian(batchSize: 2, scale: 1, seed: 0))
            Issue.record("W1 is ambiguous")
        } catch let error as CellLoadingError {
            #expect(error.reason.contains("both 'deq.f.W1' and 'deq.f.linear1.weight' are present"), "\(error)")
        }
    }

    @Test func mismatchedShapeInAnArchiveNamesTheKey() throws {
        let dir = try ScratchDirectory("ArrayStoreTests")
        defer { dir.cleanUp() }
        let cell = try MonotoneCell.random(.init(dimension: 4, batchSize: 2, monotonicity: 0.1, seed: 1))
        var parameters = cell.parameters
        parameters[1] = NamedArray(name: "B", shape: [4, 3], values: Array(repeating: 0, count: 12))
        try ArrayStore.write(parameters, to: dir.file("mon.npz"))
        let store = try ArrayStore(contentsOf: dir.file("mon.npz"))
        do {
            _ = try MonotoneCell.load(weights: store, monotonicity: 0.1, injection: .gaussian(batchSize: 1, scale: 1, seed: 0))
            Issue.record("B is mis-shaped")
        } catch let error as CellLoadingError {
            #expect(error.description == "\(dir.file("mon.npz").path)[B]: matrix B: shape (4, 3) does not fit: expected (4, 4) = (d, d), d from A", "\(error)")
        }
    }
}
