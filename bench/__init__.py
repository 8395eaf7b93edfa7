"""Benchmarks: `python -m bench` runs all, `python -m bench NAME` one; figures print as
`name: value unit`, one per line, so runs can be compared."""
