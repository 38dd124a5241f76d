"""Replaying recorded model calls on another endpoint or model, and storing what came back."""
