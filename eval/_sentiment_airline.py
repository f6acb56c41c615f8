"""A hand-made smoke set for eval/sentiment.py: 40 airline-style customer-service tweets.

Written by the developer of the back-ends (so NOT an independent benchmark and never a claim), in
the style of complaint tweets to airlines: delays, cancellations, lost bags, hold times, rude
agents, plus questions (neutral) and thanks (positive). Gold labels were fixed when the texts were
written, before any back-end scored them; the set is not used for training or tuning.
"""

from __future__ import annotations

NEGATIVE = [
    "@airline flight delayed 3 hours and no one at the gate can tell us anything",
    "@airline you cancelled my flight again. third time this month.",
    "Been on hold for 2 hours. Still no answer. @airline",
    "@airline lost my bag on a direct flight. How is that even possible",
    "@airline the agent at the desk was incredibly rude to my elderly mother",
    "@airline still waiting for my refund from March",
    "@airline thanks for nothing. Stuck in Denver overnight with no hotel voucher",
    "@airline your app keeps crashing when I try to check in",
    "@airline 45 minutes on the tarmac with no AC and no explanation",
    "@airline nobody called back like you promised",
    "@airline missed my connection because of your delay and now the next flight is tomorrow",
    "@airline why do you charge $50 for a bag and then lose it",
    "@airline I've been transferred 4 times and nobody can help me",
    "@airline seat was broken and the crew didn't care",
    "@airline worst customer service I have ever experienced",
    "@airline flight cancelled, rebooked two days later. Unacceptable.",
    "@airline gate agent yelled at passengers for asking questions",
    "@airline the wifi never works on your planes and you still charge for it",
    "@airline 3rd delay today. Really?",
    "@airline my luggage arrived damaged and the claim form link is dead",
    "@airline can't get through to anyone, phone line just hangs up",
    "@airline paid for extra legroom, got a middle seat by the toilet",
    "@airline your website charged me twice for the same ticket",
    "@airline boarding was chaos, no one knew which line to stand in",
    "@airline DM'd you 3 days ago, no response",
    "@airline our flight has been sitting at the gate for an hour, crew says they are waiting on paperwork",
]
NEUTRAL = [
    "@airline what's the baggage allowance for international flights?",
    "@airline is flight 1234 to Boston on time tonight?",
    "@airline can I change my seat after check-in?",
    "@airline do you fly to Lisbon in the winter?",
    "@airline I need to add my frequent flyer number to a booking, how do I do that",
    "@airline just landed in Chicago",
    "@airline what time does the check-in desk open at JFK",
]
POSITIVE = [
    "@airline thank you for getting me on an earlier flight, really appreciate it",
    "@airline the crew on flight 455 were fantastic, so friendly",
    "@airline lost bag found and delivered to my hotel within hours. great job",
    "@airline smooth flight and landed 20 minutes early 👍",
    "@airline quick response on DM and the issue is fixed, thanks!",
    "@airline love the new seats in economy",
    "@airline the agent in Dallas sorted out my rebooking in minutes. Thank you!",
]
TEXTS = NEGATIVE + NEUTRAL + POSITIVE
GOLD = ["negative"] * len(NEGATIVE) + ["neutral"] * len(NEUTRAL) + ["positive"] * len(POSITIVE)
