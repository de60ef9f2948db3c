from eproc_shared.migrations import run_env
from eproc_vendor.models import metadata

run_env(metadata)
