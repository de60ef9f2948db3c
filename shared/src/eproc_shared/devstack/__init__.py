"""Development stack: the embedded broker and the launcher behind `make run` (not used in production)."""
