/// The keys under which the built-in cells find their parameters in a weights file: their own
/// names first, then the names the PyTorch modules they mirror give them in a `state_dict`.
///
/// | cell | parameter | keys tried, in order | PyTorch module |
/// |---|---|---|---|
/// | ``TanhCell`` | W (d, d) | `W`, `linear.weight` | tutorial ch. 1–2 `TanhFixedPointLayer`: `self.linear = nn.Linear(d, d, bias=False)` |
/// | | U (d, p), optional | `U`, `injection.weight` | `self.injection = nn.Linear(p, d)` |
/// | | b (d,), optional | `b`, `injection.bias` | its bias |
/// | ``ResidualCell`` | W₁ (h, d), W₂ (d, h) | `W1`, `linear1.weight`; `W2`, `linear2.weight` | the MLP form of `ResNetLayer` with `nn.Linear(…, bias=False)` |
/// | | norms | `norm1.weight`, `norm1.bias`, … `norm3.bias` | `nn.GroupNorm` |
/// | ``ConvResidualCell`` | conv₁, conv₂, norms | `conv1.weight`, `conv2.weight`, `norm1.weight`, … | tutorial ch. 4 `ResNetLayer`, names unchanged |
/// | | conv_U, b, optional | `injection.weight`, `injection.bias` | absent from `ResNetLayer`, which receives x already injected: then conv_U is the identity kernel and b = 0 (x has C channels) |
/// | ``MonotoneCell`` | A, B (d, d) | `A`, `A.weight`; `B`, `B.weight` | monotone_op_net `MONSingleFc`: `self.A`, `self.B = nn.Linear(d, d, bias=False)` |
/// | | U (d, p), b (d,) | `U`, `U.weight`; `b`, `U.bias` | `self.U = nn.Linear(p, d)` |
///
/// A file that holds two keys for one parameter (`W` and `linear.weight`) is ambiguous and an
/// error. `nn.Linear(p, d).weight` has shape (d, p), which is U's shape here: no transposition.
/// With a prefix (``ArrayStore/prefix``) the keys are looked up under it, so the tutorial's
/// chapter-4 model `nn.Sequential(conv, bn, DEQFixedPoint(f, …), …)` loads its cell with prefix
/// `2.f.`.
///
/// References: Z. Kolter, D. Duvenaud, M. Johnson, "Deep Implicit Layers", NeurIPS 2020 tutorial
/// (chapters 1, 2 and 4); E. Winston, J. Z. Kolter, "Monotone operator equilibrium networks",
/// NeurIPS 2020 (code: locuslab/monotone_op_net, `mon.py`).
public enum StateDictNames {
    public static let tanh: [(parameter: String, keys: [String])] = [
        ("W", ["W", "linear.weight"]), ("U", ["U", "injection.weight"]), ("b", ["b", "injection.bias"]),
    ]
    public static let residual: [(parameter: String, keys: [String])] = [
        ("W1", ["W1", "linear1.weight"]), ("W2", ["W2", "linear2.weight"]),
    ] + norms
    public static let convResidual: [(parameter: String, keys: [String])] = [
        ("conv1.weight", ["conv1.weight"]), ("conv2.weight", ["conv2.weight"]),
    ] + norms + [("injection.weight", ["injection.weight"]), ("injection.bias", ["injection.bias"])]
    public static let monotone: [(parameter: String, keys: [String])] = [
        ("A", ["A", "A.weight"]), ("B", ["B", "B.weight"]), ("U", ["U", "U.weight"]), ("b", ["b", "U.bias"]),
    ]

    private static let norms: [(parameter: String, keys: [String])] = (1...3).flatMap { i in
        [("norm\(i).weight", ["norm\(i).weight"]), ("norm\(i).bias", ["norm\(i).bias"])]
    }

    /// The keys tried for `parameter` in `table`.
    public static func keys(_ parameter: String, in table: [(parameter: String, keys: [String])]) -> [String] {
        table.first { $0.parameter == parameter }?.keys ?? [parameter]
    }
}
