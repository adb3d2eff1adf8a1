"""Speed: the bench and its levers."""
