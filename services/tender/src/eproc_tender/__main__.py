from eproc_shared.serve import run
from eproc_tender.settings import TenderSettings

run("eproc_tender.main:create_app", TenderSettings())
