"""Reaching an Assistants API: the one client layer commands use."""
