import Foundation

/// A labelled image set read from two `.npy` files: `PREFIX-images.npy`, N × C × H × W (or
/// N × H × W for one channel) in any real or integer dtype the reader knows (widened exactly to
/// float64), and `PREFIX-labels.npy`, N integers in 0 … K−1. The bundled UCI digits
/// (`Data/digits/`, see its README) are 8 × 8 with one channel and 10 classes; MNIST or CIFAR-10
/// exported with `numpy.save` in the same layout load unchanged.
///
/// Every problem is an error naming the file: a missing file, a wrong rank, a label count
/// different from the image count, a non-finite pixel, a label that is not an integer in range,
/// or a file larger than the memory budget (checked from its size before it is read).
public struct ImageDataset: Sendable, Equatable {
    /// N × (C·H·W), one image per row, channel-major (NCHW without N).
    public var images: Matrix
    public var labels: [Int]
    public var channels: Int
    public var height: Int
    public var width: Int
    /// K: one more than the largest label the caller allows (``load(from:split:classes:)``).
    public var classes: Int

    public var count: Int { labels.count }
    public var pixels: Int { channels * height * width }

    /// Reads `directory/split-images.npy` and `directory/split-labels.npy`. `classes` bounds the
    /// labels (nil: one more than the largest label found).
    public static func load(from directory: URL, split: String, classes: Int? = nil,
                            budget: MemoryBudget = .current) throws -> ImageDataset {
        let imageURL = directory.appendingPathComponent("\(split)-images.npy")
        let labelURL = directory.appendingPathComponent("\(split)-labels.npy")
        for url in [imageURL, labelURL] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw TrainingError("\(url.path): not found; expected \(split)-images.npy (N × C × H × W) and \(split)-labels.npy (N integers) in \(directory.path)")
            }
            // The values are widened to 8 bytes each: at most 8× the file's size.
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
            do { try budget.check(Size.product([size, 8]), for: "the array in this file, widened to float64", source: url.path) } catch {
                throw TrainingError(error.description)
            }
        }
        let imageArray: NumPyArray, labelArray: NumPyArray
        do { imageArray = try NumPyArray.read(contentsOf: imageURL) } catch { throw TrainingError(error.description) }
        do { labelArray = try NumPyArray.read(contentsOf: labelURL) } catch { throw TrainingError(error.description) }
        var shape = imageArray.shape
        if shape.count == 3 { shape.insert(1, at: 1) }
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else {
            throw TrainingError("\(imageURL.path): shape \(imageArray.shape); expected N × C × H × W (or N × H × W) with every extent ≥ 1")
        }
        let n = shape[0]
        guard labelArray.shape == [n] else {
            throw TrainingError("\(labelURL.path): shape \(labelArray.shape); expected [\(n)], one label per image of \(imageURL.lastPathComponent)")
        }
        if let bad = imageArray.values.firstIndex(where: { !$0.isFinite }) {
            throw TrainingError("\(imageURL.path): value \(imageArray.values[bad]) at flat index \(bad); expected finite pixels")
        }
        var labels = [Int]()
        labels.reserveCapacity(n)
        for (i, v) in labelArray.values.enumerated() {
            guard v >= 0, v < 1e6, v == v.rounded() else {
                throw TrainingError("\(labelURL.path): label \(v) at index \(i); expected a non-negative integer class")
            }
            labels.append(Int(v))
        }
        let k = classes ?? ((labels.max() ?? 0) + 1)
        if let bad = labels.firstIndex(where: { $0 >= k }) {
            throw TrainingError("\(labelURL.path): label \(labels[bad]) at index \(bad); expected a class in 0 … \(k - 1)")
        }
        guard k >= 2 else { throw TrainingError("\(labelURL.path): every label is 0; expected at least 2 classes") }
        let pixels = shape[1] * shape[2] * shape[3]
        return ImageDataset(images: Matrix(rows: n, columns: pixels, storage: imageArray.values), labels: labels,
                            channels: shape[1], height: shape[2], width: shape[3], classes: k)
    }

    /// The training and test sets of `directory` (`train-*.npy`, `test-*.npy`), checked to agree
    /// on C × H × W; K from the training labels (a test label outside them is an error).
    public static func loadSplits(from directory: URL) throws -> (train: ImageDataset, test: ImageDataset) {
        let train = try load(from: directory, split: "train")
        let test = try load(from: directory, split: "test", classes: train.classes)
        guard (test.channels, test.height, test.width) == (train.channels, train.height, train.width) else {
            throw TrainingError("\(directory.appendingPathComponent("test-images.npy").path): images of \(test.channels) × \(test.height) × \(test.width); expected \(train.channels) × \(train.height) × \(train.width) as in train-images.npy")
        }
        return (train, test)
    }

    /// As a ``Dataset`` of one group with one position (inputs C·H·W wide).
    public var dataset: Dataset {
        Dataset(groups: [Dataset.Group(positions: 1, inputs: images, targets: labels)], inputChannels: pixels, classes: classes)
    }

    /// The images `indices` as one batch.
    func batch(_ indices: [Int]) -> (inputs: Matrix, targets: [Int]) {
        let w = pixels
        var x = Matrix(rows: indices.count, columns: w)
        for (r, i) in indices.enumerated() {
            x.storage.replaceSubrange((r * w)..<((r + 1) * w), with: images.storage[(i * w)..<((i + 1) * w)])
        }
        return (x, indices.map { labels[$0] })
    }
}
