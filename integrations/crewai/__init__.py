"""BotWire for crewai (`pip install "botwire[crewai]"`)."""

from botwire._errors import require

require("crewai", "crewai")
