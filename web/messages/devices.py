"""UI text for devices."""

VI: dict[str, str] = {}
EN: dict[str, str] = {}
