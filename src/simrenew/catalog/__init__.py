"""The catalog: operators, number ranges, plans, packages, promotions, payment methods; the
catalog file loader."""
