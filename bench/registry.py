"""One small generic registry, shared by models and evaluators.

Why: a decorator on the builder is the whole act of adding a model (timm, torchvision), so there
is no central list to forget to edit. Names are unique (a duplicate fails at import), listing takes
fnmatch wildcards, and an unknown name answers with "did you mean ...?".

    MODELS = Registry("model")
    @MODELS.register("conv_ae", description="...")
    def conv_ae(input_shape, latent_dim): ...
"""
from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable


class UnknownNameError(KeyError):
    """An unknown registry name; the message lists close matches and every available name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class DuplicateNameError(ValueError):
    """Two entries tried to register the same name."""


@dataclass(frozen=True)
class Entry:
    name: str
    builder: Callable[..., Any]
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


class Registry:
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, *, description: str = "", **meta: Any):
        """Decorator: register `builder` under `name` with a one-line description and metadata."""
        def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
            self.add(Entry(name, builder, description or _first_line(builder.__doc__), meta))
            return builder
        return decorator

    def add(self, entry: Entry) -> None:
        if entry.name in self._entries:
            old = self._entries[entry.name].builder
            raise DuplicateNameError(
                f"{self.kind} {entry.name!r} is already registered by "
                f"{old.__module__}.{old.__qualname__}")
        self._entries[entry.name] = entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(sorted(self._entries))}"

    def names(self, include: Iterable[str] | str = "*", exclude: Iterable[str] | str = ()) -> list[str]:
        """Registered names matching any `include` pattern and no `exclude` pattern, in
        registration order. A pattern that matches nothing is an error, so a typo never silently
        selects an empty grid (or leaves nothing out)."""
        include = [include] if isinstance(include, str) else list(include)
        exclude = [exclude] if isinstance(exclude, str) else list(exclude)
        for pattern in include + exclude:
            if not _is_wildcard(pattern) and pattern not in self._entries:
                raise UnknownNameError(self.unknown_message(pattern))
            if not fnmatch.filter(self._entries, pattern):  # a wildcard typo: an empty selection
                raise UnknownNameError(f"the pattern {pattern!r} matches no {self.kind}. "
                                       f"Available: {', '.join(sorted(self._entries))}")
        return [n for n in self._entries
                if any(fnmatch.fnmatchcase(n, p) for p in include)
                and not any(fnmatch.fnmatchcase(n, p) for p in exclude)]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def load_entry_points(group: str, kind: str, errors: list[str]) -> None:
    """Import every installed package's entry point of `group` (each registers itself); a broken
    one is logged and appended to `errors`, never raised, so it cannot take the others down."""
    import logging
    from importlib import metadata

    for ep in metadata.entry_points(group=group):
        try:
            ep.load()
        except Exception as exc:
            message = f"{kind} plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            logging.getLogger(__name__).error("%s", message)
            errors.append(message)


def _is_wildcard(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc and doc.strip() else ""
