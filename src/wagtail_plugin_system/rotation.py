"""Key rotation: re-encrypt stored configuration with the first ``FIELD_ENCRYPTION_KEY``.

To rotate, put the new key first and keep the old one after it::

    FIELD_ENCRYPTION_KEY = [NEW_KEY, OLD_KEY]

then run ``manage.py pluginrotatekeys``. Once it reports no row left on an old
key, the old key can be removed. Rows are handled in batches, each in its own
transaction with the rows locked, so the command is safe to interrupt and to
run again; plaintext never leaves the process while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Case, F, Value, When

from .fields import Ciphertext, get_crypter, rotate_token
from .models import PluginInstance

__all__ = ["RotationReport", "rotate_keys"]


@dataclass
class RotationReport:
    """Counts of a rotation run."""

    dry_run: bool
    total: int = 0
    rotated: int = 0
    current: int = 0
    failed_ids: list[int] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failed_ids)


def rotate_keys(
    *, dry_run: bool = False, batch_size: int = 500, using: str = DEFAULT_DB_ALIAS
) -> RotationReport:
    """Re-encrypt every instance's configuration that is not on the first key.

    ``dry_run`` counts what would change and writes nothing. Rows that no
    configured key can decrypt are left as they are and listed in
    :attr:`RotationReport.failed_ids`.
    """
    get_crypter()  # fail early, with the setting's own error, when no key is configured
    report = RotationReport(dry_run=dry_run)
    field = PluginInstance._meta.get_field("config")
    ids = list(
        PluginInstance.objects.using(using)
        .exclude(config=None)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        with transaction.atomic(using=using):
            rows = (
                PluginInstance.objects.using(using)
                .filter(pk__in=batch)
                .only("pk", "config")
                .order_by("pk")
            )
            if not dry_run:
                rows = rows.select_for_update()
            changed: list[When] = []
            for row in rows:
                stored = row.__dict__.get("config")
                if not isinstance(stored, Ciphertext):
                    continue
                report.total += 1
                try:
                    token = rotate_token(stored.token)
                except (InvalidToken, ValueError):
                    report.failed_ids.append(row.pk)
                    continue
                if token is None:
                    report.current += 1
                    continue
                report.rotated += 1
                changed.append(When(pk=row.pk, then=Value(Ciphertext(token), output_field=field)))
            if changed and not dry_run:
                # One UPDATE per batch, writing tokens as they are (no decrypt, no re-encrypt).
                PluginInstance.objects.using(using).filter(pk__in=batch).update(
                    config=Case(*changed, default=F("config"))
                )
    return report
