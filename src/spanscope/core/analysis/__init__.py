"""What the stored model calls add up to: usage, latency and cost per group and over time."""
