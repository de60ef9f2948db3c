"""Fixtures of the vendor service tests (helpers live in vendor_test_support, importable by the test modules)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from vendor_test_support import auth_env, issuer, service

__all__ = ["auth_env", "issuer", "service"]
