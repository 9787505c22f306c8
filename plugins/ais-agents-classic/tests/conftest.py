from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["ais.testing"]


def _shared_data() -> Path:
    """The project's market data: $AIS_TEST_DATA, else shared/data beside the repository."""
    if "AIS_TEST_DATA" in os.environ:
        return Path(os.environ["AIS_TEST_DATA"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = _shared_data()
    if not path.is_dir():
        pytest.skip(f"the shared market data is not at {path} (set AIS_TEST_DATA)")
    return path
