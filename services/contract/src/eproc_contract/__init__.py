"""Contract management service of the open e-procurement platform."""
