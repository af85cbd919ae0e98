"""rf_sweep experiment."""
