"""Vietnamese number reading: integers, decimals and digit strings as an announcer says them.

The rules are the standard northern/official ones used on the radio:

* ``mười`` for 10-19, ``mươi`` for the tens from 20 up;
* ``mốt`` for a final 1 after ``mươi`` (21 → hai mươi mốt) but ``một`` after ``mười`` (11);
* ``lăm`` for a final 5 after ``mười``/``mươi`` (15, 25) but ``năm`` after ``linh`` (105);
* ``tư`` for a final 4 after ``mươi`` (24 → hai mươi tư) but ``bốn`` after ``mười`` (14);
* ``linh`` (not ``lẻ``) when the tens digit is 0 (101 → một trăm linh một);
* ``không trăm`` for an inner group whose hundreds digit is 0 (1005 → một nghìn không trăm linh năm);
* groups ``nghìn``/``triệu``/``tỷ``; all-zero groups are skipped, never read as ``không nghìn``.

Everything here is pure and deterministic.
"""

from __future__ import annotations

DIGITS: tuple[str, ...] = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_GROUP_NAMES: tuple[str, ...] = ("", "nghìn", "triệu")
_BILLION = 1_000_000_000


def _ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts "٣" and "²", which int() or DIGITS would then misread.
    return text.isascii() and text.isdigit()


def read_digits(digits: str) -> str:
    """Read a digit string one digit at a time, as for phone numbers and codes.

    Args:
        digits: Only the characters ``0``-``9``.

    Returns:
        The digit names joined by spaces, e.g. ``"0294"`` → ``"không hai chín bốn"``.

    Raises:
        ValueError: ``digits`` is empty or holds a non-digit.
    """
    if not _ascii_digits(digits):
        raise ValueError(f"not a digit string: {digits!r}")
    return " ".join(DIGITS[int(d)] for d in digits)


def _units_after_tens(unit: int) -> str:
    # After "mươi" (20 and up) the final digit takes its colloquial-official form.
    return {1: "mốt", 4: "tư", 5: "lăm"}.get(unit, DIGITS[unit])


def _three_digits(n: int, full: bool) -> str:
    """Read 0 < n < 1000; ``full`` forces ``không trăm``/``linh`` for an inner group."""
    hundreds, rest = divmod(n, 100)
    tens, unit = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if unit:
            # "linh" only makes sense after a hundreds word: 5 alone is "năm", 105 is "một trăm linh năm".
            words += ["linh", DIGITS[unit]] if words else [DIGITS[unit]]
    elif tens == 1:
        words.append("mười")
        if unit:
            words.append("lăm" if unit == 5 else DIGITS[unit])
    else:
        words += [DIGITS[tens], "mươi"]
        if unit:
            words.append(_units_after_tens(unit))
    return " ".join(words)


def _below_billion(n: int, full: bool) -> str:
    """Read 0 < n < 10**9 as triệu/nghìn/unit groups; ``full`` when an earlier group was spoken."""
    groups = [(n // 1_000_000) % 1000, (n // 1000) % 1000, n % 1000]
    words: list[str] = []
    for index, group in enumerate(groups):
        if group == 0:
            continue
        spoken = bool(words) or full
        words.append(_three_digits(group, spoken))
        name = _GROUP_NAMES[2 - index]
        if name:
            words.append(name)
    return " ".join(words)


def number_to_words(n: int) -> str:
    """Read an integer in Vietnamese words.

    Args:
        n: Any integer; negatives are read with ``âm``.

    Returns:
        The words, e.g. ``2026`` → ``"hai nghìn không trăm hai mươi sáu"``.
    """
    if n < 0:
        return "âm " + number_to_words(-n)
    if n == 0:
        return DIGITS[0]
    if n < _BILLION:
        return _below_billion(n, full=False)
    # Above a billion the count of tỷ is itself a number (nghìn tỷ, triệu tỷ), read recursively.
    billions, rest = divmod(n, _BILLION)
    head = number_to_words(billions) + " tỷ"
    return f"{head} {_below_billion(rest, full=True)}" if rest else head


def decimal_to_words(text: str) -> str:
    """Read a Vietnamese-formatted number: dots group thousands, a comma marks decimals.

    A fraction of one or two digits with no leading zero is read as a number (``2,25`` → ``hai
    phẩy hai mươi lăm``, as announcers say rates); any other fraction is read digit by digit so no
    digit is lost (``2,05`` → ``hai phẩy không năm``).

    Args:
        text: E.g. ``"1.250.000"``, ``"2,5"``, ``"-3"``.

    Returns:
        The number in words.

    Raises:
        ValueError: ``text`` is not such a number.
    """
    negative = text.startswith(("-", "−"))
    body = text[1:] if negative else text
    whole, _, fraction = body.partition(",")
    whole = whole.replace(".", "")
    if not _ascii_digits(whole) or (fraction and not _ascii_digits(fraction)):
        raise ValueError(f"not a number: {text!r}")
    words = number_to_words(int(whole))
    if fraction:
        if len(fraction) <= 2 and not fraction.startswith("0"):
            words += " phẩy " + number_to_words(int(fraction))
        else:
            words += " phẩy " + read_digits(fraction)
    return ("âm " + words) if negative else words
