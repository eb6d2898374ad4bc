"""Desktop integration: "Find similar images" in file managers, and photosift as a user service."""
