"""Validate the science configuration against its JSON schema, reporting the first problem as one line."""

from __future__ import annotations

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
