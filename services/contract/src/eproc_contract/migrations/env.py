from eproc_contract.models import metadata
from eproc_shared.migrations import run_env

run_env(metadata)
