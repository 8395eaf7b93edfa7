"""Supervision (SV-1…SV-14, ICM-8): roles and scope of team leaders, controls on agents and
calls, and the audit log of every supervisor action."""
