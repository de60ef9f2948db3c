"""Fixtures of the tender tests (helpers live in tender_test_support, importable by the test modules)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from tender_test_support import issuer, tender

__all__ = ["issuer", "tender"]
