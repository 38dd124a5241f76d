"""Datasets from traces: chosen spans written as evaluation records (ours, Inspect's, OpenAI evals').

`selection` says which spans (ids, traces, a search filter) and reads them page by page, `records`
turns one span into a record (input, expected answer, metadata, link back), `formats` writes a
record as one line of a format, and `export` streams a selection into a file or a stream.
"""
