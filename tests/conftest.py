"""Shared fixtures."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real landscapes in ../shared/data; skips when that folder is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED}: real-landscape tests skipped")
    return SHARED
