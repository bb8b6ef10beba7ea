"""Every run option declared once: its field (of `RunConfig`, or of the `TrainSpec` every model
trains with), command-line flag, TOML key, kind and help. `bench.cli` builds its parser from this
list and `bench.config` its TOML reader, so adding an option is a field plus one `Option` here
(a test checks that the two agree).

    Option("epochs", "--epochs", "int", "training epochs, every model")
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from bench.train_spec import LR_SCHEDULES, PRECISIONS, SPEC_FIELDS


@dataclass(frozen=True)
class Option:
    field: str                 # the RunConfig or TrainSpec field it sets
    flag: str                  # the command-line flag
    kind: str                  # a key of PARSE, or "bool" (a switch)
    help: str = ""
    in_toml: bool = True       # also a TOML key: the flag without dashes, "-" as "_"
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    env: str | None = None     # an environment variable that overrides the default
    cli_default: object = None  # the command line's default where it is not RunConfig's

    @property
    def toml_key(self) -> str | None:
        return self.flag.lstrip("-").replace("-", "_") if self.in_toml else None


OPTIONS = [
    Option("models", "--models", "patterns", "comma-separated fnmatch patterns (default: all)"),
    Option("exclude", "--exclude", "patterns", "comma-separated patterns to leave out"),
    Option("evaluators", "--evaluators", "patterns",
           "comma-separated evaluator patterns; 'default' is every evaluator not marked opt-in "
           "(e.g. default,anomaly_oneclass)"),
    Option("epochs", "--epochs", "int", "training epochs, every model (default 8)"),
    Option("budget_flops", "--budget-flops", "flops",
           "instead of --epochs: every model trains for as many epochs as this many training "
           "FLOPs buy it (e.g. 2e14), so cheap models get more epochs", metavar="FLOPS"),
    Option("batch_size", "--batch-size", "int", "training batch size, every model"),
    Option("lr", "--lr", "float", "AdamW learning rate, every model"),
    Option("weight_decay", "--weight-decay", "float",
           "AdamW's decoupled weight decay, every model (default 0: plain Adam)"),
    Option("lr_schedule", "--lr-schedule", "str",
           "constant (default: epoch e of a run is an e-epoch run, so checkpoints are comparable) "
           "or linear (decay to zero over the run, for studies that end at one budget)",
           choices=LR_SCHEDULES),
    Option("latent_dims", "--latent-dim", "ints", "latent size(s), e.g. 32 or 8,16,32"),
    Option("seeds", "--seeds", "ints", "e.g. 0,1,2"),
    Option("datasets", "--dataset", "patterns",
           "mnist, fashion_mnist, kmnist, emnist_digits or digits; several (comma-separated) run "
           "one grid per dataset under --out"),
    Option("limit", "--limit", "int", "first N train and N test images"),
    Option("device", "--device", "str", "auto (CUDA when present), cpu or cuda"),
    Option("workers", "--workers", "workers",
           "cells run in parallel CPU processes, one thread each; 'auto' (default, or "
           "$AEBENCH_WORKERS): one per core, 1 on CUDA", env="AEBENCH_WORKERS", cli_default="auto"),
    Option("executor", "--executor", "str",
           "local (default): cells in this machine's processes; ray: every cell a Ray task",
           choices=("local", "ray")),
    Option("ray_address", "--ray-address", "str",
           "join this Ray cluster (default with --executor ray: a local instance on 127.0.0.1)"),
    Option("precision", "--precision", "str",
           "training precision: mixed (bfloat16 autocast on CPU, float16 with gradient scaling "
           "on CUDA), float32, or auto (default): mixed on a CPU with native bfloat16 "
           "(AVX512-BF16 or AMX), float32 elsewhere", choices=PRECISIONS),
    Option("against", "--against", "str",
           "a published reference run (e.g. reports/example): train and evaluate only the models "
           "--models names, under the reference's protocol, and report them with its models",
           metavar="DIR"),
    Option("tune", "--tune", "int",
           "tune every trainable model first: K configurations each (an equal budget) drawn over "
           "its declared knobs and the learning rate, trained on 5/6 of the training set and "
           "scored on the other 1/6; the best (or the default, if better) is then trained with "
           "--seeds and evaluated as usual", metavar="K"),
    Option("tune_select", "--tune-select", "str",
           "what picks the tuned configuration: recon (default: validation reconstruction "
           "error, label-free) or probe (validation linear-probe accuracy, uses labels)",
           choices=("recon", "probe")),
    Option("tune_ranges", "--tune-ranges", "str",
           "a TOML file of search ranges: [model] knob = [low, high], [\"*\"] for every model",
           metavar="FILE"),
    Option("out", "--out", "str", "results directory (default reports/<run-name>)"),
    Option("data_root", "--data-root", "str", "data cache (default $AEBENCH_DATA or ~/.cache/aebench)"),
    Option("force", "--force", "bool", "recompute cells even if finished", in_toml=False),
    Option("report_only", "--report-only", "bool", "rebuild the report from --out, no training",
           in_toml=False),
    Option("diff", "--diff", "str", "with --report-only: also write diff.html and diff.md in --out, "
           "comparing it with this earlier run (same test images): what differs in configuration "
           "and environment, and each shared model's paired change per metric", in_toml=False,
           metavar="DIR"),
]
TOML_OPTIONS = {o.toml_key: o for o in OPTIONS if o.toml_key}
SPEC_OPTIONS = {o.field for o in OPTIONS if o.field in SPEC_FIELDS}  # go into RunConfig.train


def _number(convert, expected: str):
    """A command-line number parser whose error names what was expected."""
    def parse(text: str):
        try:
            return convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    return parse


parse_int = _number(int, "an integer")
parse_flops = _number(float, "a number of FLOPs such as 2e14")


def parse_patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def parse_ints(text: str) -> tuple[int, ...]:
    return tuple(parse_int(part) for part in parse_patterns(text))


def parse_workers(text: str) -> int | str:
    return "auto" if text == "auto" else parse_int(text)


# kind -> how a command-line string becomes the field's value, and what a TOML value must be
# (lists may also be comma strings there)
PARSE = {"patterns": parse_patterns, "ints": parse_ints, "int": parse_int, "float": float,
         "flops": parse_flops, "str": str, "workers": parse_workers}
TOML_TYPES = {"patterns": "patterns", "ints": "ints", "int": int, "float": float, "flops": float,
              "str": str, "bool": bool, "workers": (int, str)}


def add_to_parser(parser: argparse.ArgumentParser, defaults) -> None:
    """One argument per option, its default from `defaults` (a RunConfig) or its variable."""
    for o in OPTIONS:
        owner = defaults.train if o.field in SPEC_OPTIONS else defaults
        default = getattr(owner, o.field) if o.cli_default is None else o.cli_default
        if o.env and os.environ.get(o.env):
            default = PARSE[o.kind](os.environ[o.env])
        if o.kind == "bool":
            parser.add_argument(o.flag, dest=o.field, action="store_true", help=o.help)
        else:
            parser.add_argument(o.flag, dest=o.field, type=PARSE[o.kind], default=default,
                                metavar=o.metavar, choices=o.choices, help=o.help)


def config_values(args: argparse.Namespace) -> dict:
    """The RunConfig keyword arguments in parsed arguments."""
    return {o.field: getattr(args, o.field) for o in OPTIONS}
