"""Decrypting django-plugin-system's configurations, the way it stored them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from .import_report import SeedImportError
from .seed_tables import SeedInstance

__all__ = ["Decrypter", "Undecryptable", "decrypt_all"]


class Undecryptable(Exception):
    """A stored configuration that the configured keys do not decrypt (no details kept)."""


class Decrypter:
    """django-plugin-system's scheme: each leaf of the JSON document is a Fernet token."""

    def __init__(self) -> None:
        try:
            from cryptography.fernet import InvalidToken
            from encrypted_fields.fields import EncryptedJSONField
        except ImportError:
            raise SeedImportError(
                _(
                    "Decrypting django-plugin-system's configurations needs "
                    "django-fernet-encrypted-fields. Install it with: pip install "
                    "'wagtail-plugin-system[import]'"
                )
            ) from None
        missing = [name for name in ("SECRET_KEY", "SALT_KEY") if not getattr(settings, name, "")]
        if missing:
            raise SeedImportError(
                _(
                    "%(names)s is not set. django-plugin-system derived its encryption keys "
                    "from SECRET_KEY and SALT_KEY (and SECRET_KEY_FALLBACKS): set them to the "
                    "values the project used with django-plugin-system while you import."
                )
                % {"names": " and ".join(missing)}
            )
        self.invalid_token = InvalidToken
        self.fernet = EncryptedJSONField().f

    def decrypt(self, stored: str | None) -> Any:
        if stored is None:
            return None
        try:
            document = json.loads(stored)
        except ValueError:
            raise Undecryptable from None
        value = self._leaves(document)
        # A configuration saved empty is stored as the encrypted text "None".
        return None if value == "None" else value

    def _leaves(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._leaves(data) for key, data in value.items()}
        if isinstance(value, list):
            return [self._leaves(data) for data in value]
        if not isinstance(value, str):
            raise Undecryptable
        try:
            return self.fernet.decrypt(value.encode("utf-8")).decode("utf-8")
        except (self.invalid_token, UnicodeError, ValueError, TypeError):
            raise Undecryptable from None


def decrypt_all(instances: Iterable[SeedInstance]) -> tuple[dict[str, Any], set[str]]:
    configs: dict[str, Any] = {}
    undecryptable: set[str] = set()
    decrypter: Decrypter | None = None
    for instance in instances:
        key = str(instance.pk)
        if instance.config is None:
            configs[key] = None
            continue
        if decrypter is None:
            decrypter = Decrypter()
        try:
            configs[key] = decrypter.decrypt(instance.config)
        except Undecryptable:
            undecryptable.add(key)
    return configs, undecryptable
