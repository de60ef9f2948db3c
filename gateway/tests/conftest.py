"""Fixtures of the gateway tests (helpers live in gw_test_support, importable by the test modules)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gw_test_support import clock, make_stack, postgres_url

__all__ = ["clock", "make_stack", "postgres_url"]
