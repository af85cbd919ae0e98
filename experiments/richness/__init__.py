"""richness experiment."""
