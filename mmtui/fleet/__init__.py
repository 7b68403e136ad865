"""Instructor fleet commands: the same engine over many attendee accounts at once."""
