"""The consultations feature: consult, warm and blind transfer, conference between agents."""
