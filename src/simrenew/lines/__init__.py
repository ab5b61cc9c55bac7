"""The line registry: registration, lifecycle, number pool."""
