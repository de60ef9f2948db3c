"""Fixtures of the tender tests (helpers live in tender_test_support, importable by the test modules).

Most tests share one running service per database backend (``tender_service``), emptied before each test. A test
runs on SQLite only unless it is marked ``@pytest.mark.databases("sqlite", "postgres")``: those whose behaviour
depends on the database (locking and concurrency, deadlines and time-driven transitions, the whole flows' SQL).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tender_test_support import issuer, tender, tender_service

__all__ = ["issuer", "tender", "tender_service"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "databases(*names): database backends a tender test runs on (default sqlite)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tender_service" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("databases")
    names = marker.args if marker else ("sqlite",)
    params = [pytest.param(n, marks=pytest.mark.postgres) if n == "postgres" else n for n in names]
    metafunc.parametrize("tender_service", params, indirect=True, scope="session")
