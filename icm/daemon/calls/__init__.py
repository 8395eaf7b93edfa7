"""Calls: the CDR store and supervisors' and API call control (hang-up, transfer, hold …)."""
