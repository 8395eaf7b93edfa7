"""The campaigns feature: outbound dialling (predictive, progressive, preview) and AMD."""
