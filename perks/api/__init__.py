"""The JSON API (``/api/v1``) for the HR system, the tills and payroll: tokens, endpoints."""
