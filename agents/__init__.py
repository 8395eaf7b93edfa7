"""Agents, skills, work groups and the agent state log (ICM-6); the agent desktop and wallboard later."""
