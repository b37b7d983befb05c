"""Backup and restore of the service's database (`vitalwatch db backup|restore`)."""
