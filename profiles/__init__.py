"""Model profiles: the measured or published numbers the planner optimises over."""

from profiles.catalog import CatalogError, load_catalog, load_catalog_data, with_load_costs
from profiles.schema import Catalog, ModelProfile, Provenance

__all__ = [
    "Catalog",
    "CatalogError",
    "ModelProfile",
    "Provenance",
    "load_catalog",
    "load_catalog_data",
    "with_load_costs",
]
