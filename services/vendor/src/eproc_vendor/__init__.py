"""Vendor qualification service of the open e-procurement platform."""
