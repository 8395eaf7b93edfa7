"""StatServer: event capture and Celery aggregation into interval tables (later issues)."""
