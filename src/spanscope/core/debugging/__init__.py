"""Stepping through one stored trace: its tree, the current step, breakpoints, costs per subtree."""
