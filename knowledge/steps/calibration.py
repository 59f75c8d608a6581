"""The thresholds of the Q&A, calibrated on tests/data/devset.yaml with bench/bench_qa.py (see README, "问答")."""

from __future__ import annotations

# When is the best hit trusted (else 没找到)?
MIN_SCORE = 4.0            # a best hit below this needs a match in an indicator's name
MIN_COVERAGE = 0.5         # share of the question's content words found in the best hit
LONG_QUESTION = 6          # content words from which a question counts as long and rambling
LONG_EVIDENCE = 8.0        # a long question needs coverage × score of at least this
RICH_SCORE = 120.0         # a score this high needs only a fifth of the words covered

# The search.
OTHER_SYSTEM_MARGIN = 4.0  # another system's hit must beat the deployment's by this factor
RERANK = 10                # the first hits are reordered by how much of the question they cover
COVERAGE_FLOOR = 0.3

# The answer.
TIE_RATIO = 0.92           # second hit this close to the first → ask which one was meant
MAX_HITS = 8
PLAN_MIN_SCORE = 1.5       # a plan passage must share at least this much (idf) with the question
