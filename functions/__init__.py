"""The assistant backend: services behind the Cloud Functions in `main.py`."""
