"""The robot's conversation, without ROS: understanding, session state machine, phrases.

- config.py    phrases, intents, procedures and services from config/*.yaml, checked
- nlu.py       what an utterance means (intent, service, procedure, codes)
- manager.py   the per-visitor state machine: events in, effects out
- messages.py  the events and effects
- text.py      folding (no diacritics) and reading codes digit by digit
"""
