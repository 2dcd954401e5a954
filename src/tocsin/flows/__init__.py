"""Flows: the one place where a change in one domain starts or stops work in another.

Declaring an incident, changing its status or severity, giving someone its Incident Commander
role, acknowledging or resolving an alert, and answering a page from the page itself each touch
two domains: the incident or alert, and its paging. The domain packages make their own change
and nothing else; the functions here make the change and then say what it does to paging. Every
edge (API, console, CLI, demo, the alert pipeline) calls these for those verbs, so a reader finds
every cross-domain consequence in this package.
"""
