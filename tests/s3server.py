"""Placeholder: the SeaweedFS fixtures (written with the storage layer)."""
