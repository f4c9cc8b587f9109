"""Population health: features, published indices, the risk model, tiers and segments."""

__all__: list[str] = []
