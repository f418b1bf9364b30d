"""The encrypted JSON field that stores plugin configuration.

:class:`EncryptedJSONField` keeps a whole JSON document, keys and values, as
one Fernet token in a text column, with the keys of Django's
``FIELD_ENCRYPTION_KEY`` setting as django-encrypted-model-fields defines it:
one key, or a list whose first key encrypts and whose other keys only decrypt.
Tokens are the same as that package's (Fernet, through
:class:`~cryptography.fernet.MultiFernet`), so values written by its
``EncryptedTextField`` (holding JSON text) read back here. Keys are parsed
here rather than through that package's module, which builds its own crypter
when imported and would pre-empt the clearer errors below.

Rules:

* The database only ever holds ciphertext. Serializers (``dumpdata``) write
  the ciphertext too.
* Decryption is lazy: rows load without it and decrypt on first access of the
  attribute, so listing rows costs no cryptography.
* A value no configured key can decrypt raises
  :class:`~wagtail_plugin_system.core.exceptions.ConfigDecryptionError` on access.
  It is never returned as data, never re-encrypted, and saving the row writes
  the stored token back unchanged.
* A value that decrypts but is not JSON text raises
  :class:`~wagtail_plugin_system.core.exceptions.ConfigFormatError` on access,
  and is kept the same way.
* Limits: a configuration is at most :data:`MAX_CONFIG_BYTES` of JSON text
  (1 MiB, UTF-8) with containers nested at most :data:`MAX_CONFIG_DEPTH` (32)
  deep. A stored value beyond them (written by another program) raises
  :class:`~wagtail_plugin_system.core.exceptions.ConfigFormatError` on access,
  and is kept, like any unreadable value; a token too long to hold such a value
  is refused before it is decrypted, and text nested too deep for the parser
  never reaches the rest of the code. Saving a value beyond them raises
  :class:`~wagtail_plugin_system.core.exceptions.ConfigEncodingError` naming
  the limit.
* A missing or malformed ``FIELD_ENCRYPTION_KEY`` makes reading raise
  :class:`~wagtail_plugin_system.core.exceptions.ConfigDecryptionError` (saying
  what is wrong with the setting), as a key that does not fit does: pages and
  the admin skip the value instead of failing. In a list of keys, a malformed
  one is left out and the others still decrypt. Writing needs a valid first key
  and raises :class:`~django.core.exceptions.ImproperlyConfigured` without one.
* A decrypted JSON object is a :class:`StoredJSON` dict. Django templates call
  callables, and calling it gives only what its model's ``public_config()``
  returns (nothing when the model has none), so ``{{ row.config }}`` and
  ``{{ row.config.token }}`` never print a secret. Its ``repr()`` and ``str()``
  show the keys and hide every value, so a log line, a debug page or an error
  report's local variables do not show them either.
* Keys are read when used, so ``override_settings(FIELD_ENCRYPTION_KEY=...)``
  and key rotation work without a restart.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .config_limits import (
    LIMITS,
    MAX_CONFIG_BYTES,
    MAX_CONFIG_DEPTH,
    MAX_TOKEN_LENGTH,
    TOO_DEEP,
    deeper_than,
    find_non_json,
)
from .core.exceptions import ConfigDecryptionError, ConfigEncodingError, ConfigFormatError
from .core.masking import MaskedConfig

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

__all__ = [
    "KEY_SETTING",
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "Ciphertext",
    "EncryptedJSONField",
    "StoredJSON",
    "decrypt_text",
    "encrypt_text",
    "get_crypter",
    "key_setting_problem",
    "rotate_token",
    "writing_problem",
]

KEY_SETTING = "FIELD_ENCRYPTION_KEY"

GENERATE_HINT = (
    'Generate a key with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())" and keep it out of source control '
    "(for example, read it from an environment variable)."
)


def _configured_keys() -> tuple[str | bytes, ...]:
    raw = getattr(settings, KEY_SETTING, None)
    if raw is None or raw == "" or raw == b"":
        raise ImproperlyConfigured(f"{KEY_SETTING} is not set. {GENERATE_HINT}")
    keys = list(raw) if isinstance(raw, list | tuple) else [raw]
    if not keys:
        raise ImproperlyConfigured(f"{KEY_SETTING} is an empty list. {GENERATE_HINT}")
    if not all(isinstance(key, str | bytes) for key in keys):
        raise ImproperlyConfigured(
            f"{KEY_SETTING} must be a key string or a list of key strings. {GENERATE_HINT}"
        )
    return tuple(keys)


@functools.lru_cache(maxsize=8)
def _build(keys: tuple[str | bytes, ...]) -> tuple[MultiFernet, Fernet]:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            where = f"Key number {position} of {KEY_SETTING}" if len(keys) > 1 else KEY_SETTING
            raise ImproperlyConfigured(
                f"{where} is not a valid Fernet key ({exc}). {GENERATE_HINT}"
            ) from None
    return MultiFernet(fernets), fernets[0]


def _crypters() -> tuple[MultiFernet, Fernet]:
    return _build(_configured_keys())


@functools.lru_cache(maxsize=8)
def _build_for_reading(keys: tuple[str | bytes, ...]) -> tuple[MultiFernet | None, str | None]:
    """A crypter of the keys that parse, and what is wrong with the others (or ``None``)."""
    fernets: list[Fernet] = []
    problems: list[str] = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            where = f"key number {position} of {KEY_SETTING}" if len(keys) > 1 else KEY_SETTING
            problems.append(f"{where} is not a valid Fernet key ({exc})")
    problem = None
    if problems:
        problem = f"{'; '.join(problems)[:1].upper()}{'; '.join(problems)[1:]}. {GENERATE_HINT}"
    return (MultiFernet(fernets) if fernets else None), problem


def _reading_crypter() -> tuple[MultiFernet | None, str | None]:
    """The crypter reads use: never raises for a bad setting, says what is wrong instead."""
    try:
        keys = _configured_keys()
    except ImproperlyConfigured as exc:
        return None, str(exc)
    return _build_for_reading(keys)


def key_setting_problem() -> str | None:
    """What is wrong with ``FIELD_ENCRYPTION_KEY`` (missing, malformed), or ``None``.

    Never raises; the text names no key.
    """
    return _reading_crypter()[1]


def get_crypter() -> MultiFernet:
    """The :class:`~cryptography.fernet.MultiFernet` for the current ``FIELD_ENCRYPTION_KEY``.

    Raises :class:`~django.core.exceptions.ImproperlyConfigured`, with a hint
    on generating a key, when the setting is missing or malformed.
    """
    return _crypters()[0]


def _encrypting_fernet() -> Fernet:
    """The first key: the one that encrypts. Malformed later keys do not stop writing."""
    keys = _configured_keys()
    return _build(keys[:1])[1]


def writing_problem() -> str | None:
    """Why values cannot be encrypted now (the first key is missing or malformed), or ``None``.

    Never raises; the text names no key.
    """
    try:
        _encrypting_fernet()
    except ImproperlyConfigured as exc:
        return str(exc)
    return None


def encrypt_text(text: str) -> str:
    """Encrypt ``text`` with the first key of ``FIELD_ENCRYPTION_KEY``.

    Raises :class:`~django.core.exceptions.ImproperlyConfigured` when that key
    is missing or malformed.
    """
    return _encrypting_fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    """Decrypt a token with any key of ``FIELD_ENCRYPTION_KEY``.

    Raises :class:`cryptography.fernet.InvalidToken` when no key fits.
    """
    return get_crypter().decrypt(token.encode("ascii")).decode("utf-8")


def rotate_token(token: str) -> str | None:
    """Re-encrypt ``token`` with the first key; ``None`` when it already uses it.

    Raises :class:`cryptography.fernet.InvalidToken` when no key fits.
    """
    crypter, primary = _crypters()
    data = token.encode("ascii")
    try:
        primary.decrypt(data)
    except InvalidToken:
        return crypter.rotate(data).decode("ascii")
    return None


class Ciphertext:
    """A stored value that has not been decrypted (yet, or at all).

    It holds the token exactly as read from the database, so a row whose
    value cannot be decrypted saves back unchanged. Its ``repr()`` never shows
    the token.
    """

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "<Ciphertext>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ciphertext) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


class StoredJSON(MaskedConfig):
    """A decrypted JSON object: a plain, writable dict, except in templates.

    It is a :class:`~wagtail_plugin_system.core.masking.MaskedConfig`: Django's
    templates call whatever is callable before looking into it, and calling
    this dict returns only what its model instance's ``public_config()`` gives
    (an empty dict when the model defines none). So ``{{ row.config }}`` and
    ``{{ row.config.token }}`` never print a secret, however a template reached
    the row. Its ``repr()`` hides the values, as
    :class:`~wagtail_plugin_system.PluginConfig`'s does. Copies and pickles of it
    are plain dicts.
    """

    __slots__ = ("_owner",)

    def __init__(self, value: Any = (), owner: models.Model | None = None) -> None:
        super().__init__(value)
        self._owner = owner

    def public(self) -> dict[str, Any]:
        public = getattr(self._owner, "public_config", None)
        return dict(public()) if callable(public) else {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


def _where(instance: models.Model | None) -> str:
    """Which row an error is about (made only for errors: the name is translated)."""
    return "" if instance is None else f" of {instance._meta.verbose_name} {instance.pk}"


class EncryptedJSONDescriptor(DeferredAttribute):
    """Decrypts the stored token on first access and keeps the result on the instance."""

    field: EncryptedJSONField

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Ciphertext):
            value = self.field.decrypt(value, instance)
            instance.__dict__[self.field.attname] = value
        if type(value) is dict:
            value = StoredJSON(value, owner=instance)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedJSONField(models.TextField):  # type: ignore[type-arg]
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    """A JSON document stored as one encrypted token.

    JSON types round-trip exactly (``True`` stays a bool, ``5`` an int). A
    value JSON cannot hold exactly (a ``Decimal``, a ``date``, a set...)
    raises :class:`~wagtail_plugin_system.core.exceptions.ConfigEncodingError`
    when the row is saved. The field is not editable in model forms: the
    admin builds configuration forms from the plugin's declared form.
    """

    descriptor_class = EncryptedJSONDescriptor
    description = "A JSON document stored encrypted"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        return name, path, args, kwargs

    # -- reading ------------------------------------------------------------------

    def from_db_value(
        self, value: str | None, expression: object, connection: BaseDatabaseWrapper
    ) -> Ciphertext | None:
        return None if value is None else Ciphertext(value)

    def to_python(self, value: Any) -> Any:
        """A string is a stored token (as ``dumpdata`` writes it); anything else is data."""
        if isinstance(value, str):
            return Ciphertext(value)
        return value

    def decrypt(self, value: Ciphertext, instance: models.Model | None = None) -> Any:
        """Decrypt and parse a stored token; raise a clear error when that cannot be done.

        :class:`ConfigDecryptionError` when no configured key fits or the key
        setting is missing or malformed; :class:`ConfigFormatError` when the
        token decrypts to something that is not JSON text.
        """
        instance_id = instance.pk if instance is not None else None
        if len(value.token) > MAX_TOKEN_LENGTH:
            raise self._beyond_limits(_where(instance), "is larger than")
        crypter, key_problem = _reading_crypter()
        data: bytes | None = None
        if crypter is not None:
            try:
                data = crypter.decrypt(value.token.encode("ascii"))
            except (InvalidToken, UnicodeError, ValueError, TypeError):
                data = None
        if data is None:
            where = _where(instance)
            if key_problem is not None and crypter is None:
                raise ConfigDecryptionError(
                    f"The stored {self.verbose_name}{where} cannot be decrypted: {key_problem} "
                    f"Fix the setting; the stored value is kept unchanged.",
                    instance_id=instance_id,
                )
            hint = f" Also, {key_problem[:1].lower()}{key_problem[1:]}" if key_problem else ""
            raise ConfigDecryptionError(
                f"The stored {self.verbose_name}{where} cannot be decrypted with any key in "
                f"{KEY_SETTING}. If the key was changed, put the key it was encrypted with back "
                f"as a later entry of {KEY_SETTING} (the first key encrypts, the others only "
                f"decrypt) and run 'manage.py pluginrotatekeys'. The stored value is kept "
                f"unchanged.{hint}",
                instance_id=instance_id,
            )
        if len(data) > MAX_CONFIG_BYTES:
            raise self._beyond_limits(_where(instance), "is larger than")
        try:
            parsed = json.loads(data.decode("utf-8"))
        except RecursionError:
            raise self._beyond_limits(_where(instance), "is nested deeper than") from None
        except ValueError:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
            raise ConfigFormatError(
                f"The stored {self.verbose_name}{_where(instance)} decrypts, but is not JSON "
                f"text (it may have been written by another field or program). Save the "
                f"configuration again (in the admin, its edit form offers the fields empty); "
                f"until then it is not used. The stored value is kept unchanged.",
                instance_id=instance_id,
            ) from None
        if deeper_than(parsed, MAX_CONFIG_DEPTH):
            raise self._beyond_limits(_where(instance), "is nested deeper than")
        return parsed

    def _beyond_limits(self, where: str, how: str) -> ConfigFormatError:
        return ConfigFormatError(
            f"The stored {self.verbose_name}{where} {how} a configuration may be "
            f"({LIMITS}; it may have been written by another program). Save the "
            f"configuration again (in the admin, its edit form offers the fields empty); until "
            f"then it is not used. The stored value is kept unchanged."
        )

    # -- writing ------------------------------------------------------------------

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # Read the raw value: an undecrypted (or undecryptable) token is saved as is.
        return model_instance.__dict__.get(self.attname)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, Ciphertext):
            return value.token
        return encrypt_text(self.encode(value))

    def encode(self, value: Any) -> str:
        """The JSON text of ``value``; raises when JSON cannot hold it exactly.

        Also raises :class:`ConfigEncodingError` beyond the limits: nested more
        than :data:`MAX_CONFIG_DEPTH` deep, or more than :data:`MAX_CONFIG_BYTES`
        of JSON text.
        """
        name = self.verbose_name.capitalize()
        problem = find_non_json(value)
        if problem is not None:
            path, kind = problem
            if kind == TOO_DEEP:
                raise ConfigEncodingError(
                    f"{name} value is nested deeper than the limit at {path} ({LIMITS}). "
                    f"Store less deeply nested data."
                )
            raise ConfigEncodingError(
                f"{name} value at {path or 'the top level'} is a "
                f"{kind}, which JSON cannot store exactly. Convert it to a string, number, "
                f"boolean, list or dict first (PluginConfiguration.clean_config() does this for "
                f"form data)."
            )
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise ConfigEncodingError(
                f"{name} value holds a string with a lone surrogate, which UTF-8 cannot store. "
                f"Remove it, or decode the text it came from correctly."
            ) from None
        if size > MAX_CONFIG_BYTES:
            raise ConfigEncodingError(
                f"{name} value is {size} bytes of JSON, larger than the limit ({LIMITS}). "
                f"Store large data elsewhere (a file, a model of its own) and keep a reference "
                f"to it in the configuration."
            )
        return text

    def value_from_object(self, obj: models.Model) -> Any:
        """Generic introspection (serializers, form helpers) gets the stored form, not data."""
        if self.attname not in obj.__dict__:
            obj.refresh_from_db(fields=[self.attname])
        value = obj.__dict__.get(self.attname)
        if value is None or isinstance(value, Ciphertext):
            return value
        token = self.get_prep_value(value)
        return Ciphertext(token) if token is not None else None

    def value_to_string(self, obj: models.Model) -> str:
        """Serializers (``dumpdata``) get the ciphertext, never the plaintext."""
        value = self.value_from_object(obj)
        return value.token if isinstance(value, Ciphertext) else ""
