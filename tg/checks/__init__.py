"""Health and doctor checks: each one a small unit with a name, a verdict and details."""
