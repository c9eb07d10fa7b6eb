import pytest

from domain.signatures import (
    SignatureInvalid,
    generate_key,
    key_from_private,
    sign_document,
    verify_document,
)


def test_signed_document_verifies_and_any_change_is_refused() -> None:
    key = generate_key()
    doc = sign_document(key, {"schema": "x/1", "items": [{"sha256": "ab", "size": 3}], "title": "Bão số 3"})
    assert verify_document(doc, {key.key_id: key.public}) == key.key_id
    tampered = {**doc, "items": [{"sha256": "ab", "size": 4}]}
    with pytest.raises(SignatureInvalid):
        verify_document(tampered, {key.key_id: key.public})


def test_unknown_key_unsigned_and_other_algorithm_are_refused() -> None:
    key, other = generate_key(), generate_key()
    doc = sign_document(key, {"a": 1})
    with pytest.raises(SignatureInvalid, match="untrusted"):
        verify_document(doc, {other.key_id: other.public})
    with pytest.raises(SignatureInvalid, match="not signed"):
        verify_document({"a": 1}, {key.key_id: key.public})
    with pytest.raises(SignatureInvalid, match="algorithm"):
        verify_document({**doc, "signature": {**doc["signature"], "alg": "none"}}, {key.key_id: key.public})


def test_rotation_keeps_old_signatures_verifiable_while_both_keys_are_trusted() -> None:
    old, new = generate_key(), generate_key()
    trusted = {old.key_id: old.public, new.key_id: new.public}
    assert verify_document(sign_document(old, {"n": 1}), trusted) == old.key_id
    assert verify_document(sign_document(new, {"n": 1}), trusted) == new.key_id
    assert key_from_private(old.private).public == old.public
