"""Board tops, host link and flashing."""
