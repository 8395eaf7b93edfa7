"""The IVR business engine's pure core (IVR-2): expressions now; the flow interpreter next.
No Django, gevent or sockets (import-linter)."""
