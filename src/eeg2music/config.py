"""Validate the science configuration against its JSON schema, and a site profile for unfilled placeholders,
reporting the first problem as one line."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from eeg2music.errors import InputError


def check_config(config: dict[str, Any], schema_path: Path, source: str = "config/config.yaml") -> None:
    """Raise :class:`InputError` naming the offending key, its value and the rule it breaks."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(source, f"{key}: {err.message}{more}",
                         f"fix it; {Path(schema_path).name} describes every field")


PLACEHOLDER = re.compile(r"<fill in[^>]*>")


def profile_from_argv(argv: list[str]) -> Path | None:
    """The profile folder Snakemake was started with (``--profile X`` / ``--profile=X`` / $SNAKEMAKE_PROFILE)."""
    for i, arg in enumerate(argv):
        if arg == "--profile" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--profile="):
            return Path(arg.split("=", 1)[1])
    env = os.environ.get("SNAKEMAKE_PROFILE")
    return Path(env) if env else None


def check_profile(profile: Path | None) -> None:
    """Refuse a site profile that still holds a ``<fill in: …>`` placeholder, naming the key."""
    if profile is None:
        return
    path = profile / "config.yaml" if profile.is_dir() else profile
    if not path.exists():
        return
    values = yaml.safe_load(path.read_text()) or {}

    def walk(node: Any, key: str) -> str | None:
        if isinstance(node, dict):
            for k, v in node.items():
                found = walk(v, f"{key}.{k}" if key else str(k))
                if found:
                    return found
        elif isinstance(node, str) and PLACEHOLDER.search(node):
            return f"{key} = {node!r}"
        return None

    found = walk(values, "")
    if found:
        raise InputError(path, f"unfilled placeholder {found}", "fill it in (see README, Running on WCSS)")
