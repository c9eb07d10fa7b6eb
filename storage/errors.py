"""Storage errors."""


class StorageError(Exception):
    """An object store or database operation failed."""


class ObjectNotFound(StorageError):
    pass


class ChecksumMismatch(StorageError):
    """The bytes read back are not the bytes the key promises: corruption or tampering."""
