from eproc_contract.settings import ContractSettings
from eproc_shared.serve import run

run("eproc_contract.main:create_app", ContractSettings())
