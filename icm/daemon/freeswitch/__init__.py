"""The FreeSWITCH adapter: the only place that knows ESL framing and FreeSWITCH command syntax."""
