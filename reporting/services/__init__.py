"""Writes of the reporting app: rollups (derived tables) and the cost model's rates."""
