"""Audit service of the open e-procurement platform."""
