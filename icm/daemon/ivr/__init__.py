"""The IVR feature: one outbound-socket session per caller running a published flow."""
