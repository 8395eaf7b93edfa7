"""The supervision feature: monitoring (listen, whisper, barge), live figures, alarms."""
