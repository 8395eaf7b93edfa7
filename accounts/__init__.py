"""Sign-in protection: the client address, the shared brute-force limiter and its lock-outs."""
