#!/usr/bin/env python3
"""Converts the UCI optical-recognition handwritten digits, as shipped in scikit-learn's wheel
(sklearn/datasets/data/digits.csv.gz), into the .npy files of Data/digits/.

Usage:
    pip download scikit-learn --no-deps --only-binary=:all: -d /tmp/sk
    python3 scripts/digits_to_npy.py /tmp/sk/scikit_learn-*.whl Data/digits

Each row of digits.csv.gz is 64 pixel counts (0..16, an 8 x 8 image in row-major order) and the
label (0..9); there are 1,797 rows. The split is stratified and fixed: for every class c, its
row indices (in file order) are permuted by numpy.random.RandomState(20261202 + c) and the first
round(0.2 * n_c) go to the test set, so 360 test and 1,437 training images (the largest-remainder
rule below makes the total exactly 360). Within each split, images keep their file order.

Writes train-images.npy (1437, 1, 8, 8) uint8, train-labels.npy (1437,) uint8, test-images.npy
(360, 1, 8, 8) uint8, test-labels.npy (360,) uint8 and prints their SHA-256. Needs only numpy.
"""
import gzip
import hashlib
import io
import sys
import zipfile

import numpy as np

MEMBER = "sklearn/datasets/data/digits.csv.gz"
TEST_COUNT = 360


def main(wheel, out):
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(MEMBER)
    print(f"{MEMBER}: {len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()}")
    table = np.loadtxt(io.StringIO(gzip.decompress(raw).decode("ascii")), delimiter=",")
    assert table.shape == (1797, 65), table.shape
    pixels = table[:, :64]
    labels = table[:, 64].astype(np.int64)
    assert pixels.min() >= 0 and pixels.max() <= 16 and np.all(pixels == np.round(pixels))
    assert set(labels.tolist()) == set(range(10))
    counts = np.bincount(labels, minlength=10)
    # Per-class test counts: 20 % of each class, rounded by the largest-remainder rule to sum to 360.
    quota = counts * TEST_COUNT / counts.sum()
    take = np.floor(quota).astype(int)
    for c in np.argsort(-(quota - take), kind="stable")[: TEST_COUNT - take.sum()]:
        take[c] += 1
    test = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        rows = np.flatnonzero(labels == c)
        chosen = np.random.RandomState(20261202 + c).permutation(rows)[: take[c]]
        test[chosen] = True
    assert test.sum() == TEST_COUNT
    images = pixels.reshape(-1, 1, 8, 8).astype(np.uint8)
    for name, mask in (("train", ~test), ("test", test)):
        for kind, array in (("images", images[mask]), ("labels", labels[mask].astype(np.uint8))):
            path = f"{out}/{name}-{kind}.npy"
            np.save(path, array)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            print(f"{path}: shape {array.shape} {array.dtype}, sha256 {digest}")
    print("test per class:", take.tolist(), "train per class:", (counts - take).tolist())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
