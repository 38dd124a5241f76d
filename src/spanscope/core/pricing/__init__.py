"""What model calls cost: price books, the user's overrides, and pricing a span."""
