"""Feedback: ratings of used perks and redeemed staff purchases."""
