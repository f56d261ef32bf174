"""Decorators and metadata: what users write on their classes. Nothing here builds anything."""
