"""BotWire for langchain (`pip install "botwire[langchain]"`)."""

from botwire._errors import require

require("langchain_core", "langchain")
