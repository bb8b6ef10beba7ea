"""The single training loop: every model trained by one `TrainSpec` (optimizer settings, batch
size, epochs, precision, threads) and its seed.

Why no framework: model-specific behaviour lives in each model's `loss`, so the loop is a few
lines that index one in-memory tensor per batch (no per-sample Python), and its speed is ours to
measure. A non-finite loss stops the cell with the epoch it happened in. After each epoch the
loop hands `after_epoch` a snapshot of everything it needs to go on (weights, optimizer, every
random stream); training resumed from a snapshot ends in the same weights as one that never
stopped (tests/test_checkpoints.py).

    history = train(model, x_train, TrainSpec(epochs=5).validated().resolved(False), seed=0)

TRAINING_VERSION names what this loop, the model base class, the shared layers and the FLOPs
counter compute: it is part of every cell's key. Bump it when a change alters trained weights;
`tests/test_training_version.py` fails on any change to their code (comments and docstrings
aside) until the author has decided.
"""
from __future__ import annotations

import contextlib
import logging
import random
import time
from typing import Callable

import numpy as np
import torch
from bench.errors import ConfigError
from bench.faults import reached
from bench.progress import status
from bench.train_spec import TrainSpec

log = logging.getLogger(__name__)
TRAINING_VERSION = 1


class DivergedError(RuntimeError):
    """The loss became NaN or infinite; carries the epoch for the failure record."""

    def __init__(self, epoch: int, values: dict[str, float]):
        self.epoch = epoch
        super().__init__(f"loss diverged in epoch {epoch}: "
                         + ", ".join(f"{k}={v}" for k, v in values.items()))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every global random stream a model's loss or an evaluator may draw from, in types that
    `torch.load(weights_only=True)` reads back (numpy's key array as a tensor)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss)}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {requested}: CUDA is not available on this machine "
                          "(use --device auto or cpu)")
    device = torch.device(requested)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"--device {requested}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 matrix products in hardware (AVX512-BF16 or AMX).
    Without either, oneDNN emulates bfloat16 and mixed precision is slower than float32."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def mixed_precision(precision: str, device: torch.device) -> bool:
    """Resolve `--precision` for the training device. `auto` is mixed precision where it was
    measured to pay at unchanged quality: a CPU with native bfloat16 (conv cells 1.5-1.9x faster
    with one thread, `recon_mse` and `probe_acc` within seed noise; README "Performance").
    On CUDA `auto` stays float32 until the float16 path is measured on a GPU."""
    if precision == "auto":
        return device.type == "cpu" and native_bfloat16()
    return precision == "mixed"


def precision_name(device: torch.device, amp: bool) -> str:
    """What the training forward pass computes in (run.json, the report)."""
    if not amp:
        return "float32"
    return "float16 autocast" if device.type == "cuda" else "bfloat16 autocast"


def autocast(device: torch.device, amp: bool):
    """Mixed precision for the forward pass and loss: float16 on CUDA (with gradient scaling),
    bfloat16 on CPU (no scaling needed: bfloat16 has float32's exponent range). The weights and
    the optimizer stay in float32."""
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16)


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """Train with `n` CPU threads (None: as the process is), restoring the count after."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def schedule(optimizer: torch.optim.Optimizer, spec: TrainSpec, steps: int):
    """The learning-rate schedule over the run's `steps` optimizer steps, or None (constant)."""
    if spec.lr_schedule == "constant":
        return None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / steps))


def train(model: torch.nn.Module, x_train: torch.Tensor, spec: TrainSpec, *, seed: int,
          desc: str = "train", y_train: torch.Tensor | None = None, resume: dict | None = None,
          after_epoch: Callable[[int, list[dict], Callable[[], dict]], None] | None = None,
          fused_adam: bool = True, threads: bool = True) -> list[dict]:
    """Train `model` in place on `x_train` (float images on the model's device) as `spec` (a
    cell's, precision resolved, epochs set) says.

    With `y_train` (the judge classifier), each batch's labels go to `model.loss(x, y)`. With
    mixed precision, see `autocast`. The data stays on the device; the only host-device
    transfer is the per-epoch loss summary. `resume` is a snapshot from `after_epoch(epoch,
    history, snapshot)`, which is called after every epoch (`snapshot()` builds one); the
    random streams are put back after it, so a hook that evaluates leaves no trace.
    `fused_adam=False` is torch's per-parameter AdamW, the same rule rounded differently: for
    weights that must be retrained bit for bit as they were before the fused update (the
    shipped judge). `threads=False` leaves the process's thread count as it is (the judge)."""
    with cpu_threads(spec.threads if threads else None):
        return _train(model, x_train, spec, seed, desc, y_train, resume, after_epoch, fused_adam)


def _train(model, x_train, spec, seed, desc, y_train, resume, after_epoch, fused_adam) -> list[dict]:
    epochs, batch_size, amp = spec.epochs, spec.batch_size, spec.mixed
    seed_everything(seed)
    device = x_train.device
    model.to(device).train()
    # fused: one kernel for all parameters instead of a Python loop over them, which on a CPU
    # (where torch does not default to it) was much of a small model's step; same update rule
    # AdamW with weight_decay 0 is Adam, bit for bit
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay,
                                  fused=fused_adam)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
    precision = autocast(device, amp)  # one context, entered per batch
    order = torch.Generator().manual_seed(seed)
    n = len(x_train)
    scheduler = schedule(optimizer, spec, epochs * -(-n // batch_size))
    history: list[dict] = []
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scaler.load_state_dict(resume["scaler"])
        if scheduler is not None:
            scheduler.load_state_dict(resume["scheduler"])
        order.set_state(resume["order"])
        set_rng_state(resume["rng"])
        history = list(resume["history"])

    def snapshot() -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(), "order": order.get_state(), "rng": streams,
                "history": list(history),
                **({"scheduler": scheduler.state_dict()} if scheduler is not None else {})}

    for epoch in range(len(history) + 1, epochs + 1):
        status(f"{desc}: epoch {epoch}/{epochs}")  # the run's progress display, if any
        reached("epoch")  # fault injection (tests): a kill mid-training
        start = time.perf_counter()
        sums: dict[str, torch.Tensor] = {}
        perm = torch.randperm(n, generator=order).to(device)
        for i in range(0, n, batch_size):
            xb = x_train.index_select(0, perm[i:i + batch_size])
            with precision:
                if y_train is None:
                    terms = model.loss(xb)
                else:
                    terms = model.loss(xb, y_train.index_select(0, perm[i:i + batch_size]))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(terms["loss"]).backward()
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.detach().float() * len(xb)
        means = {key: float(value) / n for key, value in sums.items()}
        if not all(np.isfinite(v) for v in means.values()):
            raise DivergedError(epoch, means)
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, **means, "seconds": seconds, "images_per_s": n / seconds})
        log.debug("%s epoch %d: %s", desc, epoch, means)
        if after_epoch is not None:
            streams = rng_state()  # whatever the hook draws, training goes on as without it
            after_epoch(epoch, history, snapshot)
            set_rng_state(streams)
            model.train()  # the hook may have evaluated the model
    model.eval()
    return history
