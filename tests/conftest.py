"""Shared fixtures. Tests run offline on small data the project makes (digits, tiny IDX files);
only tests/test_real_mnist.py goes through the real MNIST loader."""
import os

import pytest

os.environ.setdefault("AEBENCH_QUIET", "1")



@pytest.fixture
def scratch_registry():
    """Yield a function that registers a temporary model and removes it afterwards."""
    from bench.model_api import MODELS, load_all_models

    load_all_models()
    added = []

    def add(name, builder, **meta):
        MODELS.register(name, **meta)(builder)
        added.append(name)

    yield add
    for name in added:
        MODELS.remove(name)
