"""Celery tasks of the agents app (thin: each calls one function)."""

from celery import shared_task

from agents.callbacks import dispatch_due


@shared_task(name="agents.dispatch_due_callbacks", acks_late=True, ignore_result=True)
def dispatch_due_callbacks() -> int:
    """Hand the due scheduled call-backs to icm (AG-17); safe to run twice or at once: each
    row is leased to one worker (agents.callbacks)."""
    return dispatch_due()
