"""Fixtures of the audit service tests (helpers live in audit_test_support, importable by the test modules)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from audit_test_support import issuer, log_db, service, verifier_pool

__all__ = ["issuer", "log_db", "service", "verifier_pool"]
