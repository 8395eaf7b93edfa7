"""Agents, skills, work groups and the agent state log (ICM-6); desktop and wallboard later."""
