"""The ``bantin`` command line for operators."""
