"""HTTP routes of the vendor service; thin: the rules live in eproc_vendor.domain."""
