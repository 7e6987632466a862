import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).parent / "vectors"


def load_vector(name: str):
    return json.loads((VECTORS / name).read_text())


@pytest.fixture
def vector():
    return load_vector
