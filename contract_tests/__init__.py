"""Schemathesis contract suites that hold a target — the real app in-process, the mock in-process or
a live URL — to the OpenAPI document.

``profile`` reads the run's size and phases from ``AUTHSPEC_CONTRACT_*``; ``targets`` builds the
targets and their code sources (``mailbox``); ``auth`` logs in through the email-code flow;
``tracker`` remembers which tokens belong to which session; ``checks`` are our checks on top of
Schemathesis' own; ``schema`` loads the document for a target; ``stateful`` is the link-following
state machine; ``differential`` replays scripted scenarios against the real app and the mock.
The test modules (``test_*.py``) are the suite itself; ``runner`` is what ``authspec contract`` runs.
"""
