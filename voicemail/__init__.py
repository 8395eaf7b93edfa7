"""Voicemail (IVR-7): mailboxes per agent, queue and department, their messages, the mailbox
page, message-waiting on the phones, delivery by email, retention."""
