"""vlm: image → scene document."""
