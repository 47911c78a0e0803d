"""Level 3: mediation case files (issue: mediation). Models arrive with that work."""
