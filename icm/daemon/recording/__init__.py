"""The recording feature: policies, supervisors' orders, pause/resume, live listen."""
