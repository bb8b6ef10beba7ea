"""Evaluator cards: what each metric means, declared by its evaluator, read by the report.

Why a module of its own, without torch: evaluators declare `MetricSpec`s next to their code; the
runner stores them in run.json; the report (which must not import torch) reads them back through
`Cards` to find each metric's direction, column group, help, interval kind and section.

    cards = Cards(manifest.evaluator_cards); cards.spec("denoise_mse_mask").group
"""
from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass, fields

INTERVALS = ("", "mean", "clusters", "auroc")
CLUSTER_SCORES = ("purity", "acc", "nmi", "ari")  # bench.report.intervals scores each
UNITS = ("image", "subset", "pair", "sample")


@dataclass(frozen=True)
class MetricSpec:
    """What one metric (or a family, `denoise_mse_<kind>`) means, declared beside its code, and
    checked when it is declared: a spec the report could not honour fails at import, naming it.

    interval: how the report puts a 95% interval on it by resampling the test images, from the
      per-image outcomes the evaluator returns (`EvalResult.per_image`):
      "mean"     the metric is the mean of the per-image values (errors, 0/1 correctness)
      "clusters" the per-image values are cluster ids, scored against the labels by `score`
      "auroc"    the per-image values are anomaly scores of normal then outlier images
      ""         none (the help says why)
    unit: what one outcome of a "mean" metric is: a test image (their count must equal the test
      set's, so outcomes pair across models), an image of a fixed subset of the test set, the
      same for every model (UMAP's 5,000), a pair of test images (interpolation), or a
      generated sample (independent across models: resampled, not paired).
    """
    name: str
    _: KW_ONLY
    higher_is_better: bool
    help: str
    group: str = "other"          # leaderboard column group, or the task's table
    headline: bool = False        # counts in the leaderboard's rank column
    verdict: str = ""             # the job this metric answers in the report's verdict
    diagnostic: bool = False      # describes a picture or a sanity check: never bold or ranked
    cheap: bool = False           # cheap enough to evaluate at training checkpoints
    interval: str = ""
    score: str = ""               # for interval "clusters": purity, acc, nmi or ari
    unit: str = "image"

    def __post_init__(self):
        def wrong(why: str):
            raise ValueError(f"MetricSpec {self.name!r}: {why}")
        if not isinstance(self.higher_is_better, bool):
            wrong(f"higher_is_better must be True or False, got {self.higher_is_better!r}")
        if self.interval not in INTERVALS:
            wrong(f"interval must be one of {INTERVALS}, got {self.interval!r}")
        if (self.interval == "clusters") != bool(self.score):
            wrong("a 'clusters' interval needs score= (and only it takes one)")
        if self.score and self.score not in CLUSTER_SCORES:
            wrong(f"score must be one of {CLUSTER_SCORES}, got {self.score!r}")
        if self.unit not in UNITS:
            wrong(f"unit must be one of {UNITS}, got {self.unit!r}")
        if self.headline and self.diagnostic:
            wrong("a diagnostic metric cannot be a headline")

    def matches(self, metric: str) -> bool:
        return re.fullmatch(re.sub(r"<[^>]+>", r"[A-Za-z0-9_]+", self.name), metric) is not None


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the evaluator's report section: `draw` is "module:function", a function of
    the report's showcase cells that returns PNG bytes or None; it must not import torch."""
    path: str
    draw: str
    caption: str


class Cards:
    """The evaluator cards of one run (run.json's "evaluator_cards"), queried by metric name."""

    def __init__(self, cards: dict[str, dict] | None):
        # by each evaluator's declared `order` (run.json stores the cards with sorted keys)
        self.cards = dict(sorted((cards or {}).items(), key=lambda kv: (kv[1].get("order", 50), kv[0])))
        names = {f.name for f in fields(MetricSpec)}
        self._specs = [(evaluator, MetricSpec(**{k: v for k, v in m.items() if k in names}))
                       for evaluator, card in self.cards.items() for m in card.get("metrics", [])]

    def spec(self, metric: str) -> MetricSpec:
        """The declared spec of `metric`; an undeclared one (an old run) is an "other" column."""
        for _, spec in self._specs:
            if spec.matches(metric):
                return spec
        return MetricSpec(metric, higher_is_better=True, help="", group="other")

    def declared(self) -> list[str]:
        """Every declared metric name (patterns included), in declaration order."""
        return [spec.name for _, spec in self._specs]

    def evaluator_of(self, metric: str) -> str | None:
        return next((e for e, spec in self._specs if spec.matches(metric)), None)

    def task_of(self, metric: str) -> str:
        """The task section `metric` belongs to, or '' for a leaderboard column."""
        return self.cards.get(self.evaluator_of(metric) or "", {}).get("task", "")

    def tasks(self) -> dict[str, list[str]]:
        """Task section -> the evaluators that contribute to it, in card order."""
        out: dict[str, list[str]] = {}
        for name, card in self.cards.items():
            if card.get("task"):
                out.setdefault(card["task"], []).append(name)
        return out
