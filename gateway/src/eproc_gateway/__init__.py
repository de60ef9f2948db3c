"""API gateway of the open e-procurement platform: the one front door for users and outside systems."""
