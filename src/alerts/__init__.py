"""Alerts: detectors over scored posts, incidents, routing and delivery channels."""
