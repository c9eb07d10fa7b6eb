"""UI text per feature: each module here defines ``VI`` and ``EN`` dicts merged into web.i18n.MESSAGES."""
