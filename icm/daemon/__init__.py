"""The CTI server (the icm daemon): one process per switch that owns the live call model.

`wiring` builds it; `dispatcher` routes each domain event type to the feature handlers that
registered for it; `outbox` persists everything the features write, bounded and retried.
`freeswitch/` is the one switch adapter (ESL in, rendered domain commands out); each other
sub-package is one feature: `acd`, `ivr`, `consults`, `callbacks`, `campaigns`, `recording`,
`supervision`, and `calls` (the CDR store and call control).
"""
