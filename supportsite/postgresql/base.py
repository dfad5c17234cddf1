"""The database backend (ENGINE "supportsite.postgresql"): django-prometheus' PostgreSQL wrapper
(statement counts, durations and errors), whose connection parameters are built once per pool.

Why: with OPTIONS["pool"], Django takes each connection from the pool and never reads the
parameters it builds at every connect (each request returns its connection to the pool), and
django-prometheus makes a new cursor class for them each time. Profiled under load (32 clients,
every question new, py-spy --gil): 4% of the server's CPU. Without a pool nothing changes.
"""

from __future__ import annotations

from django_prometheus.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    _params_pool = None
    _params: dict | None = None

    def get_connection_params(self):
        pool = self._connection_pools.get(self.alias)
        if pool is None:  # no pool (yet): Django's own parameters, which make the pool
            return super().get_connection_params()
        if pool is not self._params_pool:
            # Only get_new_connection() receives them, and it takes a pooled connection instead.
            self._params, self._params_pool = super().get_connection_params(), pool
        return self._params
