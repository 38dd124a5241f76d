"""Qt-free renderings of stored values for people: numbers, durations, costs and payloads."""
