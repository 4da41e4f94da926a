# Sourced by scripts/test: make sure Debian's chromium is there for the web UI's browser
# tests (tests/ui). Playwright brings its driver but no browser, and no browser is
# downloaded from anywhere but the distribution's packages. Installs it (quietly, once)
# when it is missing and this is root on a machine with apt-get; otherwise the browser
# tests skip, saying why.
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/lib/chromium/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing chromium (Debian package) for the browser tests"
        { apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                chromium; } >/tmp/botwire-chromium-install.log 2>&1 \
            || echo "chromium could not be installed (see /tmp/botwire-chromium-install.log);" \
                "the browser tests will be skipped" >&2
    else
        echo "chromium is missing and cannot be installed here (needs root and apt-get);" \
            "the browser tests will be skipped" >&2
    fi
fi
