"""Surveys cxchange collects itself: public links per unit, the respondent's form, employee pulses."""
