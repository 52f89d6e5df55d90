#!/usr/bin/env python3
"""Checks deq's cells against PyTorch autograd, and writes the reference fixtures the test suite
compares against (so CI needs no torch).

    pip install torch safetensors numpy      # the CPU wheel is enough
    python3 scripts/pytorch_check.py         # writes the fixtures, then runs the Swift comparison

What it builds, in float64 (torch.set_default_dtype(torch.float64)):
  * the DEQ tutorial's ResNetLayer (implicit-layers-tutorial.org, chapter 4: conv, GroupNorm,
    relu; conv1/conv2 without bias), inside a model laid out as the tutorial's (an input conv
    and BatchNorm in front, the layer as `deq.f`), saved whole with safetensors, so that deq
    loads the cell with the prefix `deq.f.` and the injection is the identity;
  * a tanh cell f(z, x) = tanh(linear(z) + injection(x)) (the tutorial's TanhFixedPointLayer
    with an input layer);
  * a monotone cell, locuslab/monotone_op_net's MONSingleFc (U, A, B as nn.Linear) followed by
    relu: f(z, x) = relu(((1 - m) I - AᵀA + B - Bᵀ) z + U x + b).

For each it stores x, a random point z with directions v and covectors u, and PyTorch's
f(z, x), J·v (torch.func.jvp), vᵀJ (torch.func.vjp), the parameter and input VJPs uᵀ∂f/∂θ,
uᵀ∂f/∂x, a fixed point z* (Newton's method on the dense Jacobian, to machine precision), an
upstream gradient c and the implicit gradient: y = (I − J(z*))⁻ᵀ c by a dense solve per sample,
then dL/dθ = yᵀ∂f/∂θ and dL/dx = yᵀ∂f/∂x by autograd. The Swift test
(PyTorchReferenceTests) recomputes all of it through the library (evaluate, the Jacobian
products, parameterGradients and ImplicitGradient) and requires a max relative difference
(‖a − b‖∞ / ‖b‖∞) ≤ 1e-12 for each array.

It also writes the format fixtures: every dtype safetensors and numpy know, in files written by
safetensors.torch.save_file, numpy.savez, numpy.savez_compressed and zipfile on a non-seekable
stream (data descriptors), with the values PyTorch/NumPy give in float64.

Options: --out DIR (default Tests/EquilibriumTests/Fixtures), --no-swift (only write).
"""
import argparse
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from safetensors.numpy import save_file as save_numpy

torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------------------------------------
# The cells, as their papers' code writes them


class ResNetLayer(nn.Module):
    """The DEQ tutorial's ResNetLayer (chapter 4), unchanged but for the weight scale."""

    def __init__(self, n_channels, n_inner_channels, kernel_size=3, num_groups=8):
        super().__init__()
        self.conv1 = nn.Conv2d(n_channels, n_inner_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.conv2 = nn.Conv2d(n_inner_channels, n_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm1 = nn.GroupNorm(num_groups, n_inner_channels)
        self.norm2 = nn.GroupNorm(num_groups, n_channels)
        self.norm3 = nn.GroupNorm(num_groups, n_channels)
        self.conv1.weight.data.normal_(0, 0.01)
        self.conv2.weight.data.normal_(0, 0.01)

    def forward(self, z, x):
        y = self.norm1(F.relu(self.conv1(z)))
        return self.norm3(F.relu(z + self.norm2(x + self.conv2(y))))


class DEQFixedPoint(nn.Module):
    """Holds the cell as `f`, as the tutorial's DEQFixedPoint does (its solver is not needed here)."""

    def __init__(self, f):
        super().__init__()
        self.f = f


class TutorialModel(nn.Module):
    """The tutorial's CIFAR model up to the equilibrium layer: conv, BatchNorm, DEQ(f)."""

    def __init__(self, in_channels, channels, inner, groups):
        super().__init__()
        self.embed = nn.Conv2d(in_channels, channels, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(channels)
        self.deq = DEQFixedPoint(ResNetLayer(channels, inner, num_groups=groups))


class TanhCell(nn.Module):
    def __init__(self, d, p):
        super().__init__()
        self.linear = nn.Linear(d, d, bias=False)
        self.injection = nn.Linear(p, d)

    def forward(self, z, x):
        return torch.tanh(self.linear(z) + self.injection(x))


class MONSingleFc(nn.Module):
    """locuslab/monotone_op_net, mon.py: W z = (1 - m) z - AᵀA z + B z - Bᵀ z, bias U x."""

    def __init__(self, in_dim, out_dim, m=1.0):
        super().__init__()
        self.U = nn.Linear(in_dim, out_dim)
        self.A = nn.Linear(out_dim, out_dim, bias=False)
        self.B = nn.Linear(out_dim, out_dim, bias=False)
        self.m = m

    def multiply(self, z):
        ATAz = self.A(z) @ self.A.weight
        return (1 - self.m) * z - ATAz + self.B(z) - z @ self.B.weight

    def forward(self, z, x):  # followed by MONReLU, as in the splitting solvers
        return F.relu(self.U(x) + self.multiply(z))


# ---------------------------------------------------------------------------------------------
# References


def per_sample_jacobian(f, z, x):
    """J_i = ∂f(z_i, x_i)/∂z_i, (B, d, d), for a cell whose samples are independent."""
    out = []
    for i in range(z.shape[0]):
        zi, xi = z[i:i + 1], x[i:i + 1]
        J = torch.func.jacrev(lambda s: f(s, xi).reshape(-1))(zi).reshape(zi.numel(), zi.numel())
        out.append(J)
    return torch.stack(out)


def newton_fixed_point(f, z0, x, iterations=60):
    """z* = f(z*, x): damped forward iteration from 0 to a residual of 1e-6, then Newton's method
    on g(z) = f(z) − z with the dense Jacobian, per sample, to machine precision."""
    z = torch.zeros_like(z0)
    shape = z.shape
    with torch.no_grad():
        for _ in range(5000):
            fz = f(z, x)
            if (fz - z).abs().max() <= 1e-6:
                break
            z = 0.5 * z + 0.5 * fz
    for _ in range(iterations):
        fz = f(z, x)
        r = (fz - z).reshape(shape[0], -1)
        if r.abs().max() <= 1e-15 * max(1.0, fz.abs().max().item()):
            break
        J = per_sample_jacobian(f, z, x)
        eye = torch.eye(J.shape[1]).expand_as(J)
        step = torch.linalg.solve(eye - J, r.unsqueeze(-1)).squeeze(-1)
        z = z + step.reshape(shape)
    residual = (f(z, x) - z).abs().max().item()
    assert residual <= 1e-13, f"Newton did not converge: residual {residual}"
    return z


def reference(name, module, f, x, z, v, u, c, params):
    """Every quantity the Swift test recomputes, as numpy float64 arrays."""
    out = {}
    with torch.no_grad():
        out["f"] = f(z, x)
    _, out["jvp"] = torch.func.jvp(lambda s: f(s, x), (z,), (v,))
    _, pullback = torch.func.vjp(lambda s: f(s, x), z)
    (out["vjp"],) = pullback(u)
    # Parameter and input VJPs at z: uᵀ ∂f/∂θ (summed over the batch), uᵀ ∂f/∂x per sample.
    xg = x.clone().requires_grad_(True)
    grads = torch.autograd.grad(f(z, xg), [p for _, p in params] + [xg], grad_outputs=u)
    for (key, _), g in zip(params, grads[:-1]):
        out[f"vjp.{key}"] = g
    out["vjp.x"] = grads[-1]
    # Fixed point and implicit gradient.
    zstar = newton_fixed_point(f, z, x).detach()  # a constant: dL/dθ must not run through Newton's steps
    J = per_sample_jacobian(f, zstar, x).detach()
    eye = torch.eye(J.shape[1]).expand_as(J)
    y = torch.linalg.solve((eye - J).transpose(1, 2), c.reshape(c.shape[0], -1, 1)).squeeze(-1).reshape(c.shape)
    xg = x.clone().requires_grad_(True)
    grads = torch.autograd.grad(f(zstar, xg), [p for _, p in params] + [xg], grad_outputs=y)
    for (key, _), g in zip(params, grads[:-1]):
        out[f"grad.{key}"] = g
    out["grad.x"] = grads[-1]
    out["zstar"] = zstar
    out["adjoint"] = y
    rho = max(torch.linalg.eigvals(Ji).abs().max().item() for Ji in J)
    print(f"{name}: d = {z[0].numel()}, B = {z.shape[0]}, ρ(J(z*)) = {rho:.3f}")
    out.update(x=x, z=z, v=v, covector=u, upstream=c)
    return {k: t.detach().numpy().astype(np.float64) for k, t in out.items()}


def write_cells(folder):
    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(20201206)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, generator=g) * scale

    # --- conv: the tutorial's layout, a non-square grid to catch H/W mix-ups.
    cin, C, h, groups, H, W, B = 3, 8, 16, 4, 5, 7, 2
    model = TutorialModel(cin, C, h, groups)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(randn(*p.shape, scale=0.3))
        f_layer = model.deq.f
        # The tutorial's N(0, 0.01²) convolutions (ρ(J(z*)) ≈ 0.8; at 0.1 the fixed point is lost).
        f_layer.conv1.weight.copy_(randn(*f_layer.conv1.weight.shape, scale=0.01))
        f_layer.conv2.weight.copy_(randn(*f_layer.conv2.weight.shape, scale=0.01))
        for norm in (f_layer.norm1, f_layer.norm2, f_layer.norm3):
            norm.weight.copy_(1 + randn(*norm.weight.shape, scale=0.2))
            norm.bias.copy_(randn(*norm.bias.shape, scale=0.2))
        model.bn.running_mean.copy_(randn(C, scale=0.1))
        model.bn.running_var.copy_(1 + randn(C, scale=0.1).abs())
    model.eval()
    images = randn(B, cin, H, W)
    with torch.no_grad():
        x = model.bn(model.embed(images))  # the injection the tutorial's layer receives
    save_file(model.state_dict(), os.path.join(folder, "conv-model.safetensors"))
    f = model.deq.f
    params = [(k, p) for k, p in f.named_parameters()]
    ref = reference("conv (ResNetLayer)", f, f, x, randn(B, C, H, W), randn(B, C, H, W), randn(B, C, H, W),
                    randn(B, C, H, W), params)
    ref["groups"] = np.array([groups], dtype=np.float64)
    np.savez_compressed(os.path.join(folder, "conv-reference.npz"), **ref)

    # --- tanh
    d, p, B = 24, 10, 3
    cell = TanhCell(d, p)
    with torch.no_grad():
        w = randn(d, d)
        cell.linear.weight.copy_(0.9 * w / torch.linalg.matrix_norm(w, 2))
        cell.injection.weight.copy_(randn(d, p, scale=0.5))
        cell.injection.bias.copy_(randn(d, scale=0.5))
    save_file(cell.state_dict(), os.path.join(folder, "tanh-model.safetensors"))
    params = [(k, q) for k, q in cell.named_parameters()]
    ref = reference("tanh", cell, cell, randn(B, p), randn(B, d), randn(B, d), randn(B, d), randn(B, d), params)
    np.savez(os.path.join(folder, "tanh-reference.npz"), **ref)

    # --- monotone
    d, p, B, m = 20, 6, 3, 0.3
    cell = MONSingleFc(p, d, m=m)
    with torch.no_grad():
        cell.A.weight.copy_(randn(d, d, scale=0.4 / d ** 0.5))
        cell.B.weight.copy_(randn(d, d, scale=0.4 / d ** 0.5))
        cell.U.weight.copy_(randn(d, p, scale=0.5))
        cell.U.bias.copy_(randn(d, scale=0.5))
    save_file(cell.state_dict(), os.path.join(folder, "monotone-model.safetensors"))
    params = [(k, q) for k, q in cell.named_parameters()]
    ref = reference("monotone", cell, cell, randn(B, p), randn(B, d), randn(B, d), randn(B, d), randn(B, d), params)
    ref["monotonicity"] = np.array([m])
    save_numpy(ref, os.path.join(folder, "monotone-reference.safetensors"))


def write_formats(folder):
    """Every dtype, written by the reference writers, with its float64 values."""
    os.makedirs(folder, exist_ok=True)
    base = torch.tensor([[0.0, -0.0, 1.0, -2.5, 0.1], [3.0e-5, 65504.0, -448.0, 1.0 / 3.0, 7.0]])
    ints = torch.tensor([[0, 1, -1, 127, -128], [5, 42, -7, 100, -100]])
    tensors = {
        "f64": base.clone(), "f32": base.float(), "f16": base.half(), "bf16": base.bfloat16(),
        "f8_e4m3": base.clamp(-448, 448).to(torch.float8_e4m3fn), "f8_e5m2": base.to(torch.float8_e5m2),
        "i8": ints.to(torch.int8), "i16": (ints * 200).to(torch.int16), "i32": (ints * 100000).to(torch.int32),
        "i64": (ints * 10 ** 12).to(torch.int64), "u8": ints.abs().to(torch.uint8), "bool": ints > 0,
        "labels": torch.tensor([2, 0, 1, 1, 0, 2], dtype=torch.int64), "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(2.5),
    }
    save_file(tensors, os.path.join(folder, "dtypes.safetensors"), metadata={"format": "pt", "note": "deq fixture"})
    np.savez(os.path.join(folder, "dtypes-expected.npz"), **{k: t.double().numpy() for k, t in tensors.items()})

    b = base.numpy()
    i = ints.numpy()
    arrays = {
        "f8": b, "f4": b.astype(np.float32), "f2": b.astype(np.float16), "i1": i.astype(np.int8),
        "i2": (i * 200).astype(np.int16), "i4": (i * 100000).astype(np.int32), "i8": (i * 10 ** 12).astype(np.int64),
        "u1": np.abs(i).astype(np.uint8), "u2": np.abs(i * 300).astype(np.uint16), "u4": np.abs(i * 10 ** 7).astype(np.uint32),
        "u8": np.abs(i * 10 ** 13).astype(np.uint64), "b1": i > 0, "fortran": np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)),
    }
    np.savez(os.path.join(folder, "dtypes.npz"), **arrays)
    np.savez(os.path.join(folder, "dtypes-npz-expected.npz"), **{k: np.ascontiguousarray(a).astype(np.float64) for k, a in arrays.items()})
    np.savez_compressed(os.path.join(folder, "compressed.npz"), W=np.arange(60.0).reshape(6, 10) / 7, b=np.linspace(-1, 1, 6))

    # numpy.savez to a stream that cannot seek: zipfile then writes data descriptors (flag bit 3).
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buffer = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.buffer += data
            return len(data)

    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for key, a in (("W", np.arange(12.0).reshape(3, 4)), ("b", np.array([1.5, -2.0, 0.25]))):
            with z.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a)
    with open(os.path.join(folder, "descriptor.npz"), "wb") as out:
        out.write(stream.buffer)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(root, "Tests", "EquilibriumTests", "Fixtures"))
    parser.add_argument("--no-swift", action="store_true", help="only write the fixtures")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, numpy {np.__version__}")
    write_cells(os.path.join(args.out, "pytorch"))
    write_formats(os.path.join(args.out, "formats"))
    total = sum(os.path.getsize(os.path.join(dp, f)) for sub in ("pytorch", "formats")
                for dp, _, fs in os.walk(os.path.join(args.out, sub)) for f in fs)
    print(f"fixtures: {total / 1024:.0f} KiB in {args.out}/pytorch and {args.out}/formats")
    if args.no_swift:
        return 0
    env = dict(os.environ, EQUILIBRIUM_PYTORCH_FIXTURES=os.path.join(args.out, "pytorch"))
    return subprocess.call(["swift", "test", "-c", "release", "--filter", "PyTorchReferenceTests"], cwd=root, env=env)


if __name__ == "__main__":
    sys.exit(main())
