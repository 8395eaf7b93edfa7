"""Models of fax (filled by later issues)."""
