"""Departments, the employee directory, CSV import and offboarding."""
