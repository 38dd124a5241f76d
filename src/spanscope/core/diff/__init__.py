"""What one run did differently from another: traces aligned step by step, conversations word by word."""
