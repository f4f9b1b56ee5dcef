"""Perks catalog, eligibility, code pools, claims, redemption and fair draws."""
