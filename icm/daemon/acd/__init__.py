"""The ACD feature: queues, agents, offers, agent call control and the queues' live figures."""
