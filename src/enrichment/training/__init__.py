"""Training and evaluation of the shipped heads (``scrm models train|evaluate``). Needs the ``train`` extra."""
