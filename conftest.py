pytest_plugins = ["eproc_shared.testing"]
