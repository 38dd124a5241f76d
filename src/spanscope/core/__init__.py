"""Everything but the windows, free of Qt: reading (formats, conventions, the receiver), storing (store),
and what is done with stored spans (analysis, debugging, diff, evaluation, search, review). See
docs/architecture.md for the flow."""
