"""REST API of icm: live snapshot, call control commands, CDR search (INT-1)."""
