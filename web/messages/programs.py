"""UI text for programs."""

VI: dict[str, str] = {}
EN: dict[str, str] = {}
