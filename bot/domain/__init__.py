"""Domain rules: pure functions and value objects, free of I/O so they test fast."""
