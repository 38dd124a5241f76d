"""File > Connect to Server…: a team's trace server browsed page by page (browser.py, its table model
trace_table.py), each trace fetched into the server's local cache store when opened (tasks.py, on
workers) and shown in the main window; a running trace polled while shown (poll.py)."""
