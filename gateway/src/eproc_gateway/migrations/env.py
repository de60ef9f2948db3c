from eproc_gateway.models import metadata
from eproc_shared.migrations import run_env

run_env(metadata)
