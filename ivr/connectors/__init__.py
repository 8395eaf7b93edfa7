"""Data-access connectors for IVR lookup nodes (IVR-3): SQL, HTTP JSON and Python entry
points, each with a time-out and a circuit breaker (see registry)."""
