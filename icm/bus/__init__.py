"""The Redis bus between icm and the rest: sequenced state events, live snapshots, commands."""
