"""Composition root: the ``scrm`` command line. Builds each deployable's settings and wires the packages."""
