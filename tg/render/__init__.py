"""Rendering at the edge: the progress bars and tables the commands print (rich, imported lazily)."""
