"""Full-text search over every span in a store: the query language, the lazy index, the search."""
