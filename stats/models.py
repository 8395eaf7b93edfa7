"""Models of stats (filled by later issues)."""
