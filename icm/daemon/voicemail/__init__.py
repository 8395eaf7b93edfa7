"""Voicemail in the daemon (IVR-7): phones' message-waiting lamps, and the one way to send a
caller into a mailbox (`entry.send_to_mailbox`)."""
