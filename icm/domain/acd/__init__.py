"""The ACD core (R-1…R-10): agent states, queues of media-neutral contacts, routing
strategies and the event-driven dispatcher. Pure: no Django, gevent, sockets or clocks."""
