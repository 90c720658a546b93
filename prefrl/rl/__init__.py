"""Adapters between prefrl's core and gymnasium / stable-baselines3 / MuJoCo rendering."""
