"""Usage tabs of the main window: the Dashboard and the model comparison."""
