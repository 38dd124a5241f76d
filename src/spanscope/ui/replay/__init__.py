"""Replay a model call: its recorded request, edited, sent to an endpoint the user picks, and the
answer shown beside the original and stored as a trace linked to it."""
