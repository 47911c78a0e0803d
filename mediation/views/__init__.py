"""Mediation views: `staff` (mediators, managers' read-only window) and `public` (no
account: published opinions, comments, departments' answers)."""
