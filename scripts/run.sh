#!/usr/bin/env bash
# Set up (if needed) and start the app.
#   GLM4_HOST (default 127.0.0.1; 0.0.0.0 to listen on every interface), GLM4_PORT (default 8501).
# Extra arguments go to `streamlit run`; app settings are GLM4_* variables (see README).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh

host="${GLM4_HOST:-127.0.0.1}"
port="${GLM4_PORT:-8501}"
shown="$host"
[[ "$host" == "0.0.0.0" || "$host" == "::" ]] && shown="localhost"
echo "Open http://$shown:$port in a browser (Ctrl+C stops the app)." >&2
.venv/bin/python -m glm4_app.auth check-address "$host" || true  # loud when open without login
# Behind an authenticating proxy the trusted-proxy check must see the proxy's own address, not
# the client uvicorn would take from X-Forwarded-For (README, Hosting: sign-in through a proxy).
[[ "${GLM4_AUTH:-}" == "header" ]] && export FORWARDED_ALLOW_IPS="${FORWARDED_ALLOW_IPS-}"
exec .venv/bin/streamlit run app.py \
    --server.headless true \
    --server.address "$host" \
    --server.port "$port" \
    --browser.gatherUsageStats false \
    "$@"
