"""The emulator core: moto served over HTTP on loopback, whatever it emulates.

server.py starts and stops the sandbox, saves and restores its state (persistence.py) and
writes sandbox.env; app.py is the WSGI application every request goes through (auth.py checks
its signature, protocol.py reads it and shapes AWS errors); extension.py declares the hooks an
AWS behaviour (../behaviours/) plugs in with. account_image.py copies a seeded account into new
attendee accounts; timing.py holds the durations the behaviours simulate.
"""
