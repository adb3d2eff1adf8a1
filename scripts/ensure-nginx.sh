#!/usr/bin/env bash
# `make serve` and the proxy test put Debian's nginx in front of the app's replicas.
exec "$BASH" "${BASH_SOURCE[0]%/*}/ensure-tool.sh" "${VACDEMO_NGINX:-/usr/sbin/nginx}" nginx VACDEMO_NGINX "the replicas behind a proxy"
