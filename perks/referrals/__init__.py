"""Referral links, clicks and order attribution."""
