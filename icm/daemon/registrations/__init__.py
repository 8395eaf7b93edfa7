"""Phone registrations (ICM-1): which extensions can be rung, from the switch's events."""
