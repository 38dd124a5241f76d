"""Remote sources: a team's trace servers (Phoenix, MLflow, Tempo, Jaeger, Langfuse), browsed on the
server and fetched trace by trace into a local cache store. One client module per server kind, each
declaring its `ServerSpec`; what a server returns is read by the format readers' own code."""
