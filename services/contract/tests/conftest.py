"""Fixtures of the contract service tests (helpers live in contract_test_support, importable by the test modules)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from contract_test_support import service

__all__ = ["service"]
