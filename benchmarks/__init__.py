"""Training, benchmark and results scripts for the weightspace packages (not published; needs Lightning)."""
