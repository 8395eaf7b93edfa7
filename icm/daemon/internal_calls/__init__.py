"""Internal calls: an agent rings a colleague by agent ID (AG-8, AG-18)."""
