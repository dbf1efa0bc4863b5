"""The Hinton MNIST experiment in plain PyTorch, timed as bench/train.bench.ts times ours.

Run by `npm run bench:train` (its `pytorch` variant) on the data our loader produced, so both
sides train on the same 8,000 / 2,000 split in the same run on the same cores. It is what a user
of RepDistiller-style research code would run: the recipe of examples/hinton-mnist.distill.json
written the usual PyTorch way.

  teacher   784-1200-1200-10 ReLU, dropout 0.2 on the inputs and 0.5 after each hidden layer,
            max-norm 3.5 on every layer's incoming weights, ±2 px jitter (zero fill)
  baseline  784-800-800-10 ReLU, nothing else
  student   the baseline's net, loss 0.1·CE + 0.9·T²·KL(teacher ‖ student) at T = 20, the frozen
            teacher run forward (no grad, eval mode) on every batch, as RepDistiller's train_distill
  all       SGD lr 0.05, momentum 0.9, batch 128, a new shuffle every epoch; He-normal hidden
            weights, Glorot-uniform logits, zero biases (tfjs's and our defaults)

  python3 bench/pytorch_hinton.py --data FILE --train N --test N --epochs E [--full] [--threads 2]

FILE holds the training images (N·784 float32), the test images, then the training and test
labels (int32), as written by train.bench.ts. Prints one JSON line: each stage's epoch times and
median step (wall and process CPU ms), or with --full the whole 30 + 30 + 30 experiment's wall time
and test errors; and torch's own sgemm at the teacher step's shapes (its roofline).
"""

import argparse
import json
import re
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--train", type=int, required=True)
p.add_argument("--test", type=int, required=True)
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--full", action="store_true")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=1)
args = p.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

raw = np.fromfile(args.data, dtype=np.uint8)
n_tr, n_te, D = args.train, args.test, 784
off = 0


def take(count, dtype):
    global off
    size = count * np.dtype(dtype).itemsize
    a = np.frombuffer(raw[off : off + size].tobytes(), dtype=dtype)
    off += size
    return torch.from_numpy(a.copy())


x_train = take(n_tr * D, np.float32).view(n_tr, D)
x_test = take(n_te * D, np.float32).view(n_te, D)
y_train = take(n_tr, np.int32).long()
y_test = take(n_te, np.int32).long()
BATCH, LR, MOMENTUM, T = 128, 0.05, 0.9, 20.0


class MLP(torch.nn.Module):
    def __init__(self, hidden, input_dropout=0.0, dropout=0.0):
        super().__init__()
        widths = [D, *hidden, 10]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(i, o) for i, o in zip(widths, widths[1:]))
        for i, layer in enumerate(self.layers):
            if i + 1 < len(self.layers):
                torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        self.input_dropout, self.dropout = input_dropout, dropout

    def forward(self, x):
        x = F.dropout(x, self.input_dropout, self.training)
        for layer in self.layers[:-1]:
            x = F.dropout(F.relu(layer(x)), self.dropout, self.training)
        return self.layers[-1](x)

    def max_norm(self, limit):
        # Each unit's incoming weight vector (a row of PyTorch's [out, in] weight) to L2 norm ≤ limit.
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.copy_(torch.renorm(layer.weight, 2, 0, limit))


RANGE = torch.arange(28)


def jitter(x, shift=2):
    # Each image moved by (dy, dx) ∈ [−2, 2]², the uncovered border zero: one gather from a padded copy.
    b = x.shape[0]
    padded = F.pad(x.view(b, 28, 28), (shift, shift, shift, shift))
    dy = torch.randint(0, 2 * shift + 1, (b,))
    dx = torch.randint(0, 2 * shift + 1, (b,))
    rows = (dy[:, None] + RANGE)[:, :, None]
    cols = (dx[:, None] + RANGE)[:, None, :]
    return padded[torch.arange(b)[:, None, None], rows, cols].reshape(b, D)


def test_errors(net):
    net.eval()
    with torch.no_grad():
        return int((net(x_test).argmax(1) != y_test).sum())


def train(stage, net, epochs, teacher=None, max_norm=None, jitter_px=0):
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    if teacher is not None:
        teacher.eval()
    epoch_seconds, step_ms, step_cpu_ms = [], [], []
    for epoch in range(epochs):
        net.train()
        t_epoch = time.perf_counter()
        order = torch.randperm(n_tr)
        for start in range(0, n_tr, BATCH):
            t0, c0 = time.perf_counter(), time.process_time()
            idx = order[start : start + BATCH]
            x, y = x_train[idx], y_train[idx]
            if jitter_px:
                x = jitter(x, jitter_px)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            if teacher is not None:
                with torch.no_grad():
                    t_logits = teacher(x)
                kl = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean")
                loss = 0.1 * loss + 0.9 * T * T * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if max_norm is not None:
                net.max_norm(max_norm)
            if epoch > 0 and len(idx) == BATCH:
                step_ms.append(1000 * (time.perf_counter() - t0))
                step_cpu_ms.append(1000 * (time.process_time() - c0))
        epoch_seconds.append(time.perf_counter() - t_epoch)
    widths = [D, *[l.out_features for l in net.layers]]
    flops = sum(6 * BATCH * i * o for i, o in zip(widths, widths[1:])) - 2 * BATCH * widths[0] * widths[1]
    return {
        "stage": stage,
        "epochSeconds": epoch_seconds,
        "stepMs": statistics.median(step_ms) if step_ms else float("nan"),
        "stepCpuMs": statistics.median(step_cpu_ms) if step_cpu_ms else float("nan"),
        "stepFlops": flops,
        "steps": (n_tr + BATCH - 1) // BATCH,
    }


def roofline():
    # The teacher step's products alone (as train.bench.ts's), through torch.mm: fastest of 30 rounds.
    shapes = []
    widths = [D, 1200, 1200, 10]
    for l, (i, o) in enumerate(zip(widths, widths[1:])):
        shapes.append((torch.rand(BATCH, i), torch.rand(i, o)))  # forward
        shapes.append((torch.rand(BATCH, i).t(), torch.rand(BATCH, o)))  # dW = xᵀ·dy
        if l > 0:
            shapes.append((torch.rand(BATCH, o), torch.rand(i, o).t()))  # dx = dy·Wᵀ
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in shapes)
    best = float("inf")
    for r in range(35):
        t0 = time.perf_counter()
        for a, b in shapes:
            torch.mm(a, b)
        if r >= 5:
            best = min(best, time.perf_counter() - t0)
    return {"gflops": flops / best / 1e9, "stepMs": best * 1000, "flops": flops}


def details():
    blas = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas = blas.group(1) if blas else "?"
    return f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas}"


def main():
    teacher = MLP([1200, 1200], input_dropout=0.2, dropout=0.5)
    baseline = MLP([800, 800])
    student = MLP([800, 800])
    regularised = {"max_norm": 3.5, "jitter_px": 2}
    if args.full:
        t0 = time.perf_counter()
        train("teacher", teacher, 30, **regularised)
        train("baseline", baseline, 30)
        train("student", student, 30, teacher=teacher)
        seconds = time.perf_counter() - t0
        errors = {name: test_errors(net) for name, net in [("teacher", teacher), ("baseline", baseline), ("student", student)]}
        print(json.dumps({"full": {"seconds": seconds, "errors": errors, "backendDetails": details()}}))
        return
    stages = [
        train("teacher", teacher, args.epochs, **regularised),
        train("baseline", baseline, args.epochs),
        train("student", student, args.epochs, teacher=teacher),
    ]
    print(json.dumps({"backendDetails": details(), "roofline": roofline(), "stages": stages}))


main()
