"""The seed notice (Cẩm Thủy, 2023) and the units/assignments curated from it."""
