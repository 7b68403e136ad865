"""The emulator core: moto served over HTTP on loopback, whatever it emulates.

server.py starts and stops the sandbox, saves and restores its state (persistence.py) and
writes sandbox.env; app.py is the WSGI application every request goes through (auth.py checks
its signature, protocol.py reads it and shapes AWS errors); extension.py declares the hooks an
AWS behaviour (../behaviours/) plugs in with, seeder.py the hook that fills an account as it
begins (the workshop's, ../workshop/, is handed in by whoever builds the sandbox: the core
imports no fixture); account_share.py drops an account's share of the state; timing.py holds
the durations the behaviours simulate.
"""
