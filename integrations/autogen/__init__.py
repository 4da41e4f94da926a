"""BotWire for autogen (`pip install "botwire[autogen]"`)."""

from botwire._errors import require

require("autogen_core", "autogen")
