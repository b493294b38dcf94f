"""The market-study platform of seed 000: keys, profiles, surveys, chat rooms, PIN authentication, matching."""
