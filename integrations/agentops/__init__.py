"""BotWire for agentops (`pip install "botwire[agentops]"`)."""

from botwire._errors import require

require("agentops", "agentops")
