"""The ``structure`` quantity: Sérsic index, effective radius and axis ratio, with a classical fit beside it."""
