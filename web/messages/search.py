"""UI text for search."""

VI: dict[str, str] = {}
EN: dict[str, str] = {}
