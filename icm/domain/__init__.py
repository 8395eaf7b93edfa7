"""The pure core of icm: domain events, the live call model, commands. No I/O, no frameworks."""
