"""Listening to the people: ratings, the feedback box, surveys and eNPS."""
