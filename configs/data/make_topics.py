#!/usr/bin/env python
"""Writes ``topics.csv``: 400 short English sentences on four topics (sport, cooking, weather,
computers), 100 each, for the offline text example (configs/text.jsonc).

Written for erasure (public domain, like the rest of its example data): each sentence is a
template filled with words drawn from the topic's own lists and a list shared by all topics, by
a seeded generator, so the file is the same on every machine (tests/data/test_text_example.py
regenerates it and compares). Some sentences borrow a word of another topic, so the task is easy
but not trivial.

    python configs/data/make_topics.py [OUT.csv]
"""
from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

TOPICS = {
    "sport": {
        "subjects": ["the striker", "our coach", "the goalkeeper", "the home team", "the captain",
                     "a young sprinter", "the referee", "the defender", "the visiting side",
                     "the tennis player"],
        "verbs": ["scored", "missed", "defended", "celebrated", "trained for", "lost",
                  "won", "argued about", "prepared for", "watched"],
        "objects": ["the penalty", "the final match", "a late goal", "the championship",
                    "the relay race", "the second half", "the league title", "a long rally",
                    "the free kick", "the marathon"],
    },
    "cooking": {
        "subjects": ["the chef", "my grandmother", "the baker", "a hungry student", "the cook",
                     "our neighbour", "the pastry chef", "the waiter", "my brother",
                     "the kitchen team"],
        "verbs": ["baked", "chopped", "seasoned", "stirred", "roasted", "tasted", "simmered",
                  "served", "burnt", "mixed"],
        "objects": ["the onions", "a chocolate cake", "the tomato soup", "fresh bread",
                    "the garlic sauce", "a pot of rice", "the vegetables", "the pasta dough",
                    "a spicy curry", "the apple pie"],
    },
    "weather": {
        "subjects": ["the forecast", "a cold front", "the storm", "heavy clouds", "the wind",
                     "a warm breeze", "the morning fog", "the thunder", "the rain",
                     "the weather service"],
        "verbs": ["brought", "predicted", "covered", "swept over", "cooled", "soaked",
                  "warned about", "cleared", "flooded", "darkened"],
        "objects": ["the valley", "the coast", "snow in the mountains", "the whole city",
                    "a sunny afternoon", "the northern hills", "the harbour", "the fields",
                    "a week of frost", "the river banks"],
    },
    "computers": {
        "subjects": ["the programmer", "the new laptop", "our server", "the compiler",
                     "a junior developer", "the database", "the operating system",
                     "the network card", "the test suite", "the graphics driver"],
        "verbs": ["crashed during", "compiled", "installed", "debugged", "deployed",
                  "rebooted after", "encrypted", "downloaded", "updated", "optimised"],
        "objects": ["the kernel module", "the software update", "a memory leak",
                    "the source code", "the backup files", "the web page", "a slow query",
                    "the firmware", "the login screen", "the hard drive"],
    },
}
TIMES = ["yesterday", "on monday", "this morning", "last night", "again", "at noon", "today",
         "before dinner", "after lunch", "all week"]
TEMPLATES = ["{s} {v} {o} {t}.", "{t} {s} {v} {o}.", "i heard that {s} {v} {o} {t}.",
             "{s} {v} {o}, and {s2} {v2} {o2}.", "everyone said {s} {v} {o} {t}."]
PER_TOPIC = 100
BORROW = 0.1  # share of sentences whose second clause comes from another topic


def sentences(seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    names = sorted(TOPICS)
    for topic in names:
        words = TOPICS[topic]
        for _ in range(PER_TOPIC):
            other = TOPICS[rng.choice(names)] if rng.random() < BORROW else words
            text = rng.choice(TEMPLATES).format(
                s=rng.choice(words["subjects"]), v=rng.choice(words["verbs"]),
                o=rng.choice(words["objects"]), t=rng.choice(TIMES),
                s2=rng.choice(other["subjects"]), v2=rng.choice(other["verbs"]),
                o2=rng.choice(other["objects"]))
            rows.append((text[0].upper() + text[1:], topic))
    rng.shuffle(rows)
    return rows


def write(path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        out = csv.writer(file, lineterminator="\n")
        out.writerow(["text", "topic"])
        out.writerows(sentences())


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("topics.csv"))
