# Sourced by scripts/*: create .venv, install the locked dependencies and BotWire
# itself (editable, strict mode so mypy can follow it). Re-runs are quick: the
# lock is installed again only when requirements.lock changed.
PYTHON=${PYTHON:-python3}

_pip() {
    # Some machines list local package folders that do not exist; pip warns about
    # each of them once per package. Keep the output readable, keep pip's status.
    .venv/bin/python -m pip --disable-pip-version-check -q "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.botwire-lock
if [ ! -f "$stamp" ] || ! cmp -s requirements.lock "$stamp"; then
    _pip install -r requirements.lock
    cp requirements.lock "$stamp"
fi
# Reinstalled every time: a strict editable install lists modules at install time.
_pip install --no-deps -e . --config-settings editable_mode=strict
