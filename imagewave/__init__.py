"""imagewave: a picture in, the music of its sounds out."""
