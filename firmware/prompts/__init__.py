"""Audio the box speaks: default prompts, the owner's greetings and music on hold."""
