"""Locate the data files shipped in ``resources/`` whether installed or run from a checkout."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Path of a file under ``resources/`` (the package directory; editable or installed)."""
    return Path(str(files("resources").joinpath(*parts)))
