"""The outbound dialer's pure core (issue 9): retry rules, calling windows, pacing, how many
calls to place, and a simulation that drives them. No Django, no I/O, no clock of its own."""
