"""Storefront products, orders, checkout and order redemption."""
