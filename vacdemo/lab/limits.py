"""What a student may ask of the lab's black-box attacker (torch-free: the page's controls read it too)."""
QUERIES = 1000  # Square Attack's default query budget
MAX_QUERIES = 10_000  # the most a student may ask for (under Advanced)
