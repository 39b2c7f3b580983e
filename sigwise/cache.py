"""The cache used when ``REDIS_URL`` is unset: Django's database cache, with an atomic ``incr``.

The API throttles (``sigwise/throttling.py``) count requests with ``cache.incr``. Redis
adds atomically; Django's ``DatabaseCache`` inherits ``BaseCache.incr``, a ``get`` and
then a ``set``, so two workers incrementing one counter at once both read N and both
write N + 1: a client sending concurrent requests is counted as fewer than it sent
(six threads' 240 increments of one key counted as 47 in ``sigwise/tests/test_cache.py``),
and each ``set`` also moved the counter's expiry to the default timeout. Here the read
and the write happen under the counter row's lock, in one transaction, and the expiry
stays as it was.
"""

from __future__ import annotations

import base64
import pickle

from django.core.cache.backends import db
from django.db import connections, router, transaction
from django.utils.timezone import now


class DatabaseCache(db.DatabaseCache):
    """Django's ``DatabaseCache`` (same table, same encoding) whose ``incr`` and ``decr``
    lose no concurrent update."""

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        cache_key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        table = connection.ops.quote_name(self._table)
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            # An entry is live until its ``expires`` has passed, as DatabaseCache.get reads it.
            cursor.execute(
                f"SELECT value FROM {table} WHERE cache_key = %s AND expires >= %s FOR UPDATE",  # noqa: S608
                [cache_key, now()],
            )
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(row[0].encode())) + delta  # noqa: S301 (our own table, as Django's get)
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(f"UPDATE {table} SET value = %s WHERE cache_key = %s", [encoded, cache_key])  # noqa: S608
        return value
