#!/usr/bin/env python3
"""Algorithm 1 of GPED (Vadera et al., UAI 2020) written plainly in PyTorch: eager mode, CPU.

The reference point for gped's speed: the same loop, with the same settings as
benches/pytorch/gped_loop.toml (each setting below names the gped config key it mirrors), so
that `compare.py` can time the two one after the other on the same machine.

    for t = 0 .. T - 1, T = B + D:
        S  <- M training examples (a fresh shuffle of D each epoch)             # teacher batch
        theta <- theta - eta/2 (N g_bar + tau theta) + sqrt(eta) xi              # SGLD, Eq. 7
        if t > B (and t mod H = 0, H = 1):
            S' <- M' training inputs drawn with replacement, plus N(0, 0.001^2) noise
            target <- softmax(teacher(S'))                                       # U_s, Eq. 9
            phi <- Adam step on cross-entropy(target, student(S'))               # Eq. 8

B burn-in iterations t < B (teacher only), then D distillation iterations t >= B, of which
all but the first (t = B, as in gped: the condition is t > B) take a student step; nothing
else runs inside the timed loops (no evaluation pass, no logging). After the loop, one teacher
pass over the 10,000 test images (batches of eval.test_batch, each batch's softmax added to float64 ensemble
sums as gped's streamed ensemble does) is timed on its own, a few times.

Where this loop and gped's must differ:
- gped runs the student's Adam step of iteration t on one core *beside* the teacher's SGLD step
  of iteration t + 1 on the other (same result, see src/distill/pipeline.rs), and splits the
  teacher's burn-in gradient and large forward passes into two halves on two cores. Eager
  PyTorch runs one op at a time, each op using up to --threads intra-op threads. That is the
  difference being measured, not a setting.
- Random streams differ (gped's counter-based Gaussian stream vs torch's generator), so the
  two chains are different samples of the same posterior: only the time is comparable.
- gped's loop time (see compare.py) also holds, per B iterations, one metrics.jsonl record
  (which scores nothing before the ensemble's first sample, but takes the staged student step
  at once instead of beside the next SGLD step), and a per-step check that the teacher's NLL
  is finite; and at the end, writing the student's weights. Milliseconds in all.

Usage:
    python3 gped_loop.py --arch fcnn --burn-in 1000 --iterations 2000 --threads 2
    python3 gped_loop.py --arch cnn --synthetic            # random data of MNIST's shape
Prints the time per iteration (burn-in, distillation, overall) and of one 10k test pass, and
a last line `JSON {...}` with the same numbers for scripts.
"""

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- Settings, each mirroring a key of gped's config (src/config/schema.rs defaults, and
# ---- benches/pytorch/gped_loop.toml, which compare.py checks against these values).
SETTINGS = {
    # [sampler] step_size: eta, the fixed SGLD step size (paper, MNIST).
    "sampler.step_size": 4e-6,
    # [sampler] prior_precision: tau, precision of the N(0, I/tau) prior.
    "sampler.prior_precision": 10.0,
    # [sampler] batch_size: M, the teacher's minibatch size.
    "sampler.batch_size": 100,
    # [data] train_subset = 0: the teacher sees all of D, so N = 60,000.
    "data.train_subset": 0,
    # [pool] batch_size: M', the distillation minibatch size.
    "pool.batch_size": 100,
    # [pool] input_noise_std: Gaussian noise added to each distillation input.
    "pool.input_noise_std": 0.001,
    # [pool] clamp: clamp noisy inputs to [0, 1] (gped's default is false for every arch).
    "pool.clamp": False,
    # [[students]]: one predictive student, U_s, cross-entropy, H = 1 ...
    "students.0.target": "predictive",
    "students.0.estimator": "sample",
    "students.0.loss": "cross-entropy",
    "students.0.thinning": 1,
    # ... of the teacher's architecture at width K1 = K2 = 1 (gped's default width) ...
    "students.0.width": [1.0, 1.0],
    # ... with dropout 0.5 after each hidden fully connected layer (gped's default student;
    # the paper uses 0 for the CNN students, which changes nothing measurable in the time) ...
    "students.0.dropout": 0.5,
    # ... trained by Adam (PyTorch's semantics: L2 weight decay added to the gradient) ...
    "students.0.learning_rate": 1e-3,
    "students.0.weight_decay": 1e-4,
    # ... at a constant learning rate (no StepLR).
    "students.0.lr_decay_every": 0,
    # [eval] test_batch: the batch size of a test-set pass.
    "eval.test_batch": 1000,
}

# MNIST: 60,000 training and 10,000 test images of 28 x 28, 10 classes.
N_TRAIN, N_TEST, SIDE, CLASSES = 60_000, 10_000, 28, 10


# ---- Networks: gped's `fcnn` and `mnist-cnn` (src/model/arch.rs), PyTorch's default init.

def fcnn(dropout):
    """784-400-400-10, ReLU; dropout after each hidden layer when > 0 (gped arch `fcnn`)."""
    layers = [nn.Linear(SIDE * SIDE, 400), nn.ReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(400, 400), nn.ReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(400, CLASSES))
    return nn.Sequential(*layers)


def mnist_cnn(dropout):
    """Conv(10, k4)-MaxPool2-ReLU-Conv(20, k4)-MaxPool2-ReLU-FC80-ReLU-[dropout]-FC10
    (gped arch `mnist-cnn`: 28 -k4-> 25 -pool-> 12 -k4-> 9 -pool-> 4, so fc1 takes 320).
    gped fuses each pool into its convolution; pool-then-ReLU equals ReLU-then-pool."""
    layers = [
        nn.Conv2d(1, 10, kernel_size=4), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(10, 20, kernel_size=4), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(320, 80), nn.ReLU(),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(80, CLASSES))
    return nn.Sequential(*layers)


def build(arch, dropout):
    return fcnn(dropout) if arch == "fcnn" else mnist_cnn(dropout)


# ---- Data: the IDX files as gped reads them (src/data/idx.rs): pixels / 255 in [0, 1].

def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    # Header: magic 2051, count, rows, cols (big-endian u32), then one byte per pixel.
    count = int.from_bytes(data[4:8], "big")
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16)
    return pixels.reshape(count, SIDE * SIDE).astype(np.float32) / 255.0


def read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    # Header: magic 2049, count; then one byte per label.
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)


def load_mnist(data_dir):
    folder = os.path.join(data_dir, "mnist")
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx_images(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
        labels = read_idx_labels(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
        parts[split] = (torch.from_numpy(images), torch.from_numpy(labels))
    return parts


def synthetic_mnist():
    """Random pixels and labels of MNIST's shape (the speed does not depend on the values)."""
    g = torch.Generator().manual_seed(1)
    return {
        "train": (torch.rand(N_TRAIN, SIDE * SIDE, generator=g),
                  torch.randint(0, CLASSES, (N_TRAIN,), generator=g)),
        "test": (torch.rand(N_TEST, SIDE * SIDE, generator=g),
                 torch.randint(0, CLASSES, (N_TEST,), generator=g)),
    }


def shaped(x, arch):
    """Flat rows for the FCNN, [n, 1, 28, 28] images for the CNN (a view, no copy)."""
    return x if arch == "fcnn" else x.view(-1, 1, SIDE, SIDE)


# ---- The loop.

class TeacherBatches:
    """Minibatches S of M indices from a fresh shuffle of D each epoch (gped's EpochSampler)."""

    def __init__(self, n, m):
        self.n, self.m = n, m
        self.order = torch.randperm(n)
        self.next = 0

    def batch(self):
        if self.next + self.m > self.n:
            # N = 60,000 is a multiple of M = 100: an epoch ends exactly on a batch.
            self.order = torch.randperm(self.n)
            self.next = 0
        idx = self.order[self.next:self.next + self.m]
        self.next += self.m
        return idx


def sgld_step(teacher, x, y, decay, grad_scale, noise_scale):
    """theta <- theta - eta/2 (N g_bar + tau theta) + sqrt(eta) xi, written as
    theta <- decay theta - grad_scale g_bar + noise_scale xi with decay = 1 - eta tau / 2,
    grad_scale = eta N / 2, noise_scale = sqrt(eta) (as gped's SgldCoefficients)."""
    teacher.zero_grad(set_to_none=False)
    loss = F.cross_entropy(teacher(x), y)  # g_bar: gradient of the mean minibatch NLL
    loss.backward()
    with torch.no_grad():
        for p in teacher.parameters():
            p.mul_(decay).add_(p.grad, alpha=-grad_scale)
            p.add_(torch.randn_like(p), alpha=noise_scale)
    return loss


def distill_step(teacher, student, optimizer, pool_x, arch, s):
    """One U_s distillation step: S' drawn with replacement from D' (all training inputs),
    input noise, the teacher's current softmax as the target, one Adam step of the student on
    the cross-entropy to it (mean over S')."""
    m = s["pool.batch_size"]
    idx = torch.randint(0, pool_x.shape[0], (m,))
    x = pool_x[idx] + s["pool.input_noise_std"] * torch.randn(m, pool_x.shape[1])
    if s["pool.clamp"]:
        x.clamp_(0.0, 1.0)
    x = shaped(x, arch)
    with torch.no_grad():
        target = F.softmax(teacher(x), dim=1)  # g(x, theta_t) = p(y | x, theta_t)
    optimizer.zero_grad(set_to_none=False)
    loss = F.cross_entropy(student(x), target)  # soft targets: -mean_i sum_y t_iy log f_iy
    loss.backward()
    optimizer.step()
    return loss


def test_pass(teacher, test_x, arch, batch, prob_sums, entropy_sums):
    """The teacher's predictions on every test image, added to the streamed ensemble sums
    (float64, as gped's Ensemble::add_rows): probabilities and entropies."""
    with torch.no_grad():
        for start in range(0, test_x.shape[0], batch):
            p = F.softmax(teacher(shaped(test_x[start:start + batch], arch)), dim=1)
            prob_sums[start:start + batch] += p.double()
            entropy_sums[start:start + batch] -= (p * torch.log(p.clamp_min(1e-30))).sum(1).double()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=["fcnn", "cnn", "mnist-cnn"], default="fcnn",
                    help="teacher and student architecture (teacher.arch: fcnn or mnist-cnn)")
    ap.add_argument("--burn-in", type=int, default=1000,
                    help="B: teacher-only iterations (schedule.burn_in)")
    ap.add_argument("--iterations", type=int, default=2000,
                    help="D: distillation iterations after burn-in "
                         "(gped's schedule.iterations = B + D)")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch.set_num_threads (gped's `threads`)")
    ap.add_argument("--test-repeats", type=int, default=10,
                    help="timed 10k test passes (after one untimed warm-up)")
    ap.add_argument("--synthetic", action="store_true",
                    help="random data of MNIST's shape instead of the IDX files")
    ap.add_argument("--data-dir", default=os.environ.get("GPED_DATA_DIR") or "data",
                    help="folder holding mnist/*.gz (default $GPED_DATA_DIR, else ./data)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--print-settings", action="store_true",
                    help="print the mirrored gped settings as JSON and exit")
    args = ap.parse_args()
    s = SETTINGS
    if args.print_settings:
        print(json.dumps(s))
        return
    arch = "fcnn" if args.arch == "fcnn" else "mnist-cnn"

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = synthetic_mnist() if args.synthetic else load_mnist(args.data_dir)
    train_x, train_y = data["train"]
    test_x, _ = data["test"]
    # data.train_subset = 0: D is the whole training set, and so is the pool D'.
    n = train_x.shape[0]
    eta, tau = s["sampler.step_size"], s["sampler.prior_precision"]
    decay, grad_scale, noise_scale = 1.0 - 0.5 * eta * tau, 0.5 * eta * n, eta ** 0.5

    teacher = build(arch, dropout=0.0)  # the teacher has no dropout (ModelSpec::teacher)
    student = build(arch, dropout=s["students.0.dropout"])
    student.train()
    teacher.train()  # no dropout in the teacher: train/eval mode do the same thing
    optimizer = torch.optim.Adam(student.parameters(), lr=s["students.0.learning_rate"],
                                 weight_decay=s["students.0.weight_decay"])
    batches = TeacherBatches(n, s["sampler.batch_size"])
    # Views of the right shape; the gather x[idx] inside the loop copies, as gped's does.
    train_shaped = shaped(train_x, arch)

    def teacher_iteration():
        idx = batches.batch()
        return sgld_step(teacher, train_shaped[idx], train_y[idx], decay, grad_scale,
                         noise_scale)

    total = args.burn_in + args.iterations  # T, gped's schedule.iterations

    # Burn-in: B iterations, teacher only.
    start = time.perf_counter()
    for _ in range(args.burn_in):
        teacher_iteration()
    burn_s = time.perf_counter() - start

    # Distillation: D iterations t = B .. T-1, each an SGLD step and, for t > B, a student
    # step (H = 1; gped's Student::is_due is t > burn_in && t % thinning == 0).
    start = time.perf_counter()
    for t in range(args.burn_in, total):
        teacher_iteration()
        if t > args.burn_in:
            distill_step(teacher, student, optimizer, train_x, arch, s)
    distill_s = time.perf_counter() - start
    with torch.no_grad():
        loss = float(F.cross_entropy(teacher(train_shaped[:1000]), train_y[:1000]))
    if not np.isfinite(loss):
        sys.exit("the teacher diverged (non-finite NLL): the timing is not meaningful")

    # One teacher pass over the 10k test images, timed on its own (after one warm-up).
    prob_sums = torch.zeros(test_x.shape[0], CLASSES, dtype=torch.float64)
    entropy_sums = torch.zeros(test_x.shape[0], dtype=torch.float64)
    test_times = []
    for r in range(args.test_repeats + 1):
        start = time.perf_counter()
        test_pass(teacher, test_x, arch, s["eval.test_batch"], prob_sums, entropy_sums)
        if r > 0:
            test_times.append(1e3 * (time.perf_counter() - start))

    result = {
        "side": "pytorch",
        "torch": torch.__version__,
        "arch": arch,
        "threads": args.threads,
        "data": "synthetic" if args.synthetic else "mnist",
        "burn_in": args.burn_in,
        "distill_iterations": args.iterations,
        "burn_in_ms_per_iteration": 1e3 * burn_s / max(args.burn_in, 1),
        "distill_ms_per_iteration": 1e3 * distill_s / max(args.iterations, 1),
        "ms_per_iteration": 1e3 * (burn_s + distill_s) / max(total, 1),
        "test_pass_ms_median": statistics.median(test_times) if test_times else None,
        "test_pass_ms_mean": statistics.fmean(test_times) if test_times else None,
        "test_pass_repeats": len(test_times),
        "teacher_train_nll_1k": loss,
        "python": platform.python_version(),
        # The SIMD level PyTorch's CPU kernels dispatch to (e.g. AVX512, AVX2, DEFAULT).
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    print(f"PyTorch {torch.__version__} (CPU kernels {result['torch_cpu_capability']}), {arch}, "
          f"{args.threads} threads, {result['data']} data")
    print(f"burn-in       {args.burn_in:6d} it  {result['burn_in_ms_per_iteration']:8.3f} ms/it")
    print(f"distillation  {args.iterations:6d} it  {result['distill_ms_per_iteration']:8.3f} ms/it")
    print(f"overall       {total:6d} it  {result['ms_per_iteration']:8.3f} ms/it")
    if test_times:
        print(f"10k test pass (batch {s['eval.test_batch']}): median "
              f"{result['test_pass_ms_median']:.2f} ms, mean {result['test_pass_ms_mean']:.2f} ms "
              f"over {len(test_times)}")
    print("JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
