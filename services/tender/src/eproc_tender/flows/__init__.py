"""Use cases: each loads what it needs, asks the domain, writes the change and its events in one transaction."""
