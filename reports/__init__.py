"""Synthesis, place-and-route, activity and energy reports."""
