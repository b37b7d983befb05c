"""Alarms: the pure engine (engine/), its store, the evaluating service and the routes."""
