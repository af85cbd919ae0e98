"""Parts every experiment shares: run directory files, metrics, devices, seeding, data, progress."""
