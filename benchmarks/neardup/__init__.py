"""Near-duplicate benchmark: real documents plus edited copies, with exact ground truth."""
