"""Teams and team membership."""
