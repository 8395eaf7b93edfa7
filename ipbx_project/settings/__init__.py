"""Settings package: base (shared, env-driven), dev, test and prod."""
