"""Which whole sentences make a loudspeaker script that fills its slot: an exact fit (a knapsack in tenths of a
second) of the ranked sentences between a floor and the slot, with a bounded overrun when whole sentences
leave no set inside, and the best sentence saying when kept whenever it costs no fill.

Measured on espeak-ng audio of the intake corpus (benchmarks/quality.py), this keeps every script within
±10 % of its 30, 45 and 60 s slots; choosing the best set under the slot alone left scripts up to 27 % short.
"""

from __future__ import annotations

import math

# Per second of speech: among near-equal choices, the one that uses the time is preferred (a 60 s slot
# should carry about 60 s of news), but never with a fragment.
FILL_WEIGHT = 0.1
# A script fills at least this share of its slot when some set of whole sentences can: among the sets that
# do, the best one is read (a 60 s slot should carry about 60 s of news, not 45 s of the three best sentences).
FILL_SHARE = 0.95
# When no set fills that share without going over, the script may run up to this share of the slot past it, if
# it overruns by less than the fullest set falls short: whole sentences are coarse, and a few seconds over
# beats a bulletin that ends 20 % early.
STRETCH_SHARE = 0.08
MAX_CANDIDATES = 60  # sentences considered for the script, best first (keeps the exact fit fast)


def fit(values: list[float], seconds: list[float], budget: float, floor: float = 0.0,
        stretch: float = 0.0) -> tuple[list[int], bool]:
    """Indexes maximising ``sum(value + FILL_WEIGHT * seconds)`` with ``floor <= sum(seconds) <= budget``
    (exact, in tenths of a second). When no set fills that window: the fullest set under ``budget``, or the
    shortest set over it (within ``budget + stretch``) when that one overruns by less than the other falls
    short. Returns the indexes and whether they fill the window."""
    cap, top, low = int(budget * 10), int((budget + stretch) * 10), floor * 10
    costs = [math.ceil(t * 10) for t in seconds]
    best: dict[int, tuple[float, tuple[int, ...]]] = {0: (0.0, ())}  # per total length: the best set of that length
    for i, (value, cost) in enumerate(zip(values, costs, strict=True)):
        gain = value + FILL_WEIGHT * seconds[i]
        for used, (total, chosen) in list(best.items()):
            new = used + cost
            if new <= top and (new not in best or best[new][0] < total + gain):
                best[new] = (total + gain, (*chosen, i))
    window = [used for used in best if low <= used <= cap]
    filled = bool(window)
    if not filled:  # whole sentences cannot fill the window: the nearer of the fullest set and the least overrun
        under = max(used for used in best if used <= cap)
        over = min((used for used in best if used > cap), default=None)
        window = [over if over is not None and over - cap < cap - under else under]
    total, chosen = max((best[used] for used in window), key=lambda x: (round(x[0], 9), -len(x[1])))
    return sorted(chosen), filled


def pick(scores: list[float], seconds: dict[int, float], ranked: list[int], forced: list[int], budget: float,
          floor: float, stretch: float) -> tuple[list[int], bool]:
    """The ``forced`` sentences and the best of the others (see :func:`fit`), and whether they fill the window."""
    candidates = sorted(i for i in ranked[:MAX_CANDIDATES] if i not in forced)
    used = sum(seconds[i] for i in forced)
    chosen, filled = fit([scores[i] for i in candidates], [seconds[i] for i in candidates], budget - used,
                          floor - used, stretch)
    return sorted([candidates[j] for j in chosen] + forced), filled


def choose(scores: list[float], seconds: dict[int, float], ranked: list[int], forced: list[int], dated: int | None,
           budget: float, floor: float, stretch: float) -> list[int]:
    """The script's sentence indexes: the ``forced`` ones and the best of the others (:func:`pick`), with the
    ``dated`` sentence (the best saying when) added when a script with it fills the window, or, when neither
    fills it, comes at least as near the slot.
    """
    picked, filled = pick(scores, seconds, ranked, forced, budget, floor, stretch)
    if dated is None or dated in picked or seconds[dated] + sum(seconds[i] for i in forced) > budget:
        return picked
    with_date, fills = pick(scores, seconds, ranked, [*forced, dated], budget, floor, stretch)

    def miss(chosen: list[int]) -> float:  # seconds from the slot, as fit compares them
        return abs(budget - sum(seconds[i] for i in chosen))

    return with_date if fills or (not filled and miss(with_date) <= miss(picked)) else picked
