"""simrenew: renews prepaid SIM lines of Kuwaiti mobile operators."""
