"""IVR flows: versioned definitions now; the interpreter and data-access connectors later."""
