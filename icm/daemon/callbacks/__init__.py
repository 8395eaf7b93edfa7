"""The booked call-backs feature: a due call-back rings its agent, then the customer."""
