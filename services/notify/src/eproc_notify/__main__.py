from eproc_notify.settings import NotifySettings
from eproc_shared.serve import run

run("eproc_notify.main:create_app", NotifySettings())
