# Sourced by scripts/*: create .venv, install the locked dependencies and BotWire
# itself (editable, strict mode so mypy can follow it). Re-runs are quick: pip
# skips what is already installed.
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.botwire-lock
if [ ! -f "$stamp" ] || ! cmp -s requirements.lock "$stamp"; then
    .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.lock
    cp requirements.lock "$stamp"
fi
# Reinstalled every time: a strict editable install lists modules at install time.
.venv/bin/python -m pip install --disable-pip-version-check -q --no-deps \
    -e . --config-settings editable_mode=strict
