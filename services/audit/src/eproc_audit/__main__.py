from eproc_audit.settings import AuditSettings
from eproc_shared.serve import run

run("eproc_audit.main:create_app", AuditSettings())
