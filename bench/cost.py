"""What a model costs, counted rather than timed where possible: parameters, FLOPs per image
(forward, and per training step), and the memory one training step needs.

Why counted: seconds depend on the machine and on what else runs on it; FLOPs and bytes do not,
so a FLOPs budget (`--budget-flops`) gives every machine the same cells. FLOPs are those of
matrix products and convolutions as `torch.utils.flop_counter` counts them (one
multiply-add = 2 FLOPs; elementwise work is not counted; see `FlopCount`), measured once per cell on one batch
of copies of the model, so training itself is untouched.

    cost = model_cost(model, x_train[:128])   # {"train_flops_per_image": ..., ...}
"""
from __future__ import annotations

import copy
import math

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ADAM_COPIES = 4  # weights, gradients and Adam's two moments, all float32


def model_cost(model: torch.nn.Module, batch: torch.Tensor) -> dict:
    """Counted costs of `model` on `batch` (its real training batch size): FLOPs per image of a
    forward pass (encode + decode, or encode alone without a decoder), of a training step
    (loss forward + backward; 0 for a fitted baseline) and the training memory (weights,
    gradients and Adam state, plus the activations autograd keeps for the backward pass)."""
    probe = copy.deepcopy(model)  # batch norm statistics and the like stay untouched
    n = len(batch)
    with FlopCount() as forward, torch.no_grad():
        probe.eval()
        z = probe.encode(batch)
        if probe.has_decoder:
            try:
                probe.decode(z)
            except NotImplementedError:  # a plugin that trains through `loss` alone
                pass
    cost = {"forward_flops_per_image": forward.flops / n,
            "train_flops_per_image": 0.0, "train_memory_mb": math.nan}
    if probe.trainable:
        probe.train()
        saved = _SavedBytes()
        rng = torch.get_rng_state()  # the loss may sample; the real run's stream is not moved
        with FlopCount() as step, torch.autograd.graph.saved_tensors_hooks(
                saved.pack, lambda t: t):
            probe.loss(batch)["loss"].backward()
        torch.set_rng_state(rng)
        cost["train_flops_per_image"] = step.flops / n
        trainable = sum(p.numel() * p.element_size() for p in probe.parameters() if p.requires_grad)
        cost["train_memory_mb"] = (ADAM_COPIES * trainable + saved.bytes) / 2**20
    return cost


class FlopCount(TorchDispatchMode):
    """FLOPs of every operator that `torch.utils.flop_counter` knows (matrix products and
    convolutions, forward and backward), by its own formulas. Why not its FlopCounterMode: that
    also tracks modules with backward hooks, which fail inside `torch.autograd.grad` (the
    contractive AE's Jacobian penalty); the totals are the same."""

    def __init__(self):
        from torch.utils.flop_counter import flop_registry  # imports triton: only when counting

        super().__init__()
        self.flops = 0
        self._registry = flop_registry

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = self._registry.get(func.overloadpacket)
        if count is not None:
            self.flops += count(*args, **kwargs, out_val=out)
        return out


class _SavedBytes:
    """Bytes of the distinct tensors autograd saves for the backward pass (the activations)."""

    def __init__(self):
        self.bytes = 0
        self._seen: set[tuple] = set()

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if key not in self._seen:
            self._seen.add(key)
            self.bytes += storage.nbytes()
        return tensor


def epochs_for_budget(budget_flops: float, train_flops_per_image: float, n_images: int) -> int:
    """Epochs that spend `budget_flops` of training (at least one): the nearest whole number,
    so every model's training FLOPs are within half an epoch's worth of the budget."""
    per_epoch = train_flops_per_image * n_images
    return max(1, round(budget_flops / per_epoch)) if per_epoch > 0 else 1
