"""Reading a user's TOML file, with one clear ConfigError per way it can fail.

Why one place: the run file (`--config`) and the tuning ranges (`--tune-ranges`) are both user
input, and a missing, unreadable or malformed file must read the same way for both.

    raw = load_toml("sweep.toml", "config file")
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from bench.errors import ConfigError


def load_toml(path: str | Path, what: str) -> dict:
    """The parsed file, or ConfigError naming it as `what` (e.g. "config file", "--tune-ranges")."""
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} {path} is a directory, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None
