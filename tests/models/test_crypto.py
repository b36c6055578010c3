import pytest
from cryptography.fernet import Fernet

from models.crypto import Vault, VaultError


def test_rotation_reencrypts_under_the_new_key_and_old_tokens_still_open() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Vault([old]).seal({"access_token": "t"})
    both = Vault([new, old])
    assert both.open(token) == {"access_token": "t"}
    rotated = both.rotate(token)
    assert Vault([new]).open(rotated) == {"access_token": "t"}
    with pytest.raises(VaultError):
        Vault([old]).open(rotated)


def test_a_wrong_key_is_a_clear_error_not_a_crash() -> None:
    token = Vault([Fernet.generate_key().decode()]).seal("secret")
    with pytest.raises(VaultError, match="does not decrypt"):
        Vault([Fernet.generate_key().decode()]).open(token)


def test_no_key_is_refused() -> None:
    with pytest.raises(VaultError, match="STOCKSYNC_ENCRYPTION_KEY"):
        Vault([])
