"""Models of recording (filled by later issues)."""
