"""Fax store and fax<->email (later issues)."""
