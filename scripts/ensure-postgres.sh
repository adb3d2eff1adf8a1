#!/usr/bin/env bash
# The class wall's tests run a real PostgreSQL server (Debian's postgresql, about 40 MB), started by a pytest fixture.
exec "$BASH" "${BASH_SOURCE[0]%/*}/ensure-tool.sh" "/usr/bin/pg_ctlcluster" postgresql VACDEMO_PG_BINDIR "the class wall's PostgreSQL tests"
