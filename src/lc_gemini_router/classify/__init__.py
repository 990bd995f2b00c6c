"""The Flash-Lite classifier: its bounded, injection-safe input and its scoring step."""
