"""Triage, queues, SLA and escalation (issue: triage). Models arrive with that work."""
