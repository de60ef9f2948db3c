from eproc_shared.serve import run
from eproc_vendor.settings import VendorSettings

run("eproc_vendor.main:create_app", VendorSettings())
