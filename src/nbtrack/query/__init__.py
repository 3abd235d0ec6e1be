"""The query layer: filters, orderings and the runs DataFrame."""
