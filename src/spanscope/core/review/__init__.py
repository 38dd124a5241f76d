"""Human review: scores, labels and comments given in Spanscope, label sets, export, review walks."""
