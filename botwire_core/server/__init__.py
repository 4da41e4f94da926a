"""The BotWire reference server (``pip install "botwire[server]"``)."""
