"""Fixtures of the notify service tests (helpers live in notify_test_support, importable by the test modules)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from notify_test_support import auth_env, issuer, mailbox

__all__ = ["auth_env", "issuer", "mailbox"]
