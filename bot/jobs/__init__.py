"""Job listings: the catalogue, its import and demo data, and search."""
