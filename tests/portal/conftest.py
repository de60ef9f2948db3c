"""The portal tests' helpers (portal_data) are importable by the test modules; `stack` is tests/conftest.py's."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
