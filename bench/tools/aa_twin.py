"""An A/A twin of `dense_ae`: the same model, its initial weights drawn from another random
stream. A plugin file for the A/A calibration check (docs/statistics.md):

    python run_all.py --plugin bench/tools/aa_twin.py --models dense_ae,dense_ae_twin \\
        --seeds 0,1,2 --out reports/aa
    python -m bench.tools.calibration aa reports/aa

Why it is a fair A/A pair: the runner seeds every stream with the cell's seed before building
the model, and the training loop seeds them again before its first step, so the twin differs
from `dense_ae` only in where its initial weights come from; any separation the report calls
between them is a false one.
"""
import torch

from bench.model_api import register_model
from models.dense_ae import dense_ae

STREAM = 0x5EED  # xored into the cell's seed: another stream, as far from it as any seed


@register_model("dense_ae_twin", description="dense_ae with its initial weights from another "
                "random stream (an A/A check)", family="dense")
def dense_ae_twin(input_shape, latent_dim):
    torch.manual_seed(torch.initial_seed() ^ STREAM)
    return dense_ae(input_shape, latent_dim)
