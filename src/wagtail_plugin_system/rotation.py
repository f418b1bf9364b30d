"""Key rotation: re-encrypt stored configuration with the first ``FIELD_ENCRYPTION_KEY``.

To rotate, put the new key first and keep the old one after it::

    FIELD_ENCRYPTION_KEY = [NEW_KEY, OLD_KEY]

then run ``manage.py pluginrotatekeys``. Once it reports no row left on an old
key, the old key can be removed. Rows are handled in batches, each in its own
transaction with the rows locked, so the command is safe to interrupt and to
run again; plaintext never leaves the process while it runs.

The instances' revisions (Wagtail's revision table) hold the configuration as
the same kind of token; they are re-encrypted the same way, after the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Case, F, Value, When
from wagtail.models import Revision

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
    #: The same counts for the instances' revisions.
    revisions_total: int = 0
    revisions_rotated: int = 0
    revisions_current: int = 0
    failed_revision_ids: list[int] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failed_ids)

    @property
    def revisions_failed(self) -> int:
        return len(self.failed_revision_ids)


def rotate_keys(
    *, dry_run: bool = False, batch_size: int = 500, using: str = DEFAULT_DB_ALIAS
) -> RotationReport:
    """Re-encrypt every instance's configuration, and its revisions', not on the first key.

    ``dry_run`` counts what would change and writes nothing. Rows that no
    configured key can decrypt are left as they are and listed in
    :attr:`RotationReport.failed_ids` (revisions in
    :attr:`RotationReport.failed_revision_ids`).
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
    _rotate_revisions(report, dry_run=dry_run, batch_size=batch_size, using=using)
    return report


def _rotate_revisions(
    report: RotationReport, *, dry_run: bool, batch_size: int, using: str
) -> None:
    """Re-encrypt the configuration token each revision of an instance holds."""
    content_type = ContentType.objects.db_manager(using).get_for_model(PluginInstance)
    revisions = Revision.objects.using(using).filter(base_content_type=content_type)
    ids = list(revisions.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        with transaction.atomic(using=using):
            rows = revisions.filter(pk__in=batch).only("pk", "content").order_by("pk")
            if not dry_run:
                rows = rows.select_for_update()
            for revision in rows:
                content = revision.content
                stored = content.get("config") if isinstance(content, dict) else None
                if not isinstance(stored, str) or not stored:
                    continue
                report.revisions_total += 1
                try:
                    token = rotate_token(stored)
                except (InvalidToken, ValueError):
                    report.failed_revision_ids.append(revision.pk)
                    continue
                if token is None:
                    report.revisions_current += 1
                    continue
                report.revisions_rotated += 1
                if not dry_run:
                    # Only the token changes; the revision is otherwise kept as it was.
                    Revision.objects.using(using).filter(pk=revision.pk).update(
                        content={**content, "config": token}
                    )
