"""One test harness: real servers and fakes the tests talk to, processes they start, seed data, and
the scenario runbook. Nothing here is a test; every test module imports what it needs from here
(see README.md)."""
