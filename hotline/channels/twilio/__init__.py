"""Phone (Twilio voice with Chinese speech recognition) and SMS channels."""
