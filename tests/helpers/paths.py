"""Where the repository, the tests and their vector files are, whatever folder a test sits in."""

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
VECTORS = TESTS / "vectors"
REGRESSIONS = TESTS / "regressions"


def load_vector(name: str) -> Any:
    """The parsed JSON of ``tests/vectors/NAME``."""
    return json.loads((VECTORS / name).read_text())
