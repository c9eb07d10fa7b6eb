"""The loudspeaker frame's announcer: the station of the target area, configurable per area.

Only an approver of the area (or an admin) may rename its station, like the area's other profile settings;
every change is in the audit log.
"""

from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.framing import announcer_for, key_instruction, station_of, validate_station
from engines import script_fit, summarize
from engines.registry import ModelEntry
from engines.speaking_rate import speaking_rate
from prompts import Prompt
from services import auth
from settings import Settings
from storage.repositories import areas, audit, stations, users


def announcer(session: Session, area_codes: list[str], *, requesting_unit: str = "") -> str:
    """Who opens the bulletin: the (configured or derived) station of a single target area, else the
    requesting unit, else the generic station."""
    known = [areas.get_area(session, code) for code in area_codes]
    return announcer_for(known, stations.stations_of(session, list(area_codes)), fallback=requesting_unit)


def station(session: Session, area_code: str) -> tuple[str, bool]:
    """An area's station name and whether it is configured (False: derived from the area's name)."""
    configured = stations.stations_of(session, [area_code]).get(area_code)
    return (configured, True) if configured else (station_of(areas.get_area(session, area_code)), False)


def set_station(session: Session, *, area_code: str, name: str | None, username: str) -> str:
    """Configure (or with None reset to the derived name) the station of an area.

    Returns:
        The station name now in effect.

    Raises:
        InvalidInput: the user is not an approver of the area (nor an admin), or the name is not one line.
        NotFound: unknown area or user.
    """
    area = areas.get_area(session, area_code)
    user = users.get_user(session, username)
    if not (auth.can(session, user, "package.approve", area_codes=[area_code]) or auth.can(session, user, "admin")):
        raise InvalidInput(f"{username} may not rename the station of area {area_code} (needs an approver there)")
    clean = validate_station(name) if name is not None else None
    stations.set_station(session, area_code=area_code, station_name=clean, actor=username)
    audit.record(session, actor=username, action="area.station_set", entity="area", entity_id=area_code,
                 station_name=clean)
    return clean or station_of(area)


def framed_summary(model: ModelEntry | None, body: str, prompt: Prompt, frame: dict[str, str],
                   settings: Settings) -> summarize.Summary:
    """Summarise to the slot left by the frame, filling it: the framed script's estimate, at the configured
    voice's measured rate (:func:`engines.speaking_rate.speaking_rate`), lands between ``FILL_SHARE`` of the
    slot and the slot when whole sentences allow; else the fullest script under the slot, or the shortest one
    over it (at most ``STRETCH_SHARE`` of the slot) when that overruns by less than the other falls short.

    An urgent frame (``"key"`` in ``frame``) repeats the key instruction: the first order in the text
    (:func:`domain.framing.key_instruction`) is kept in the script and its seconds are taken off the slot a
    second time for the repetition; ``frame["key"]`` is set to it. Abstractive backends get the same slot.
    """
    rate = speaking_rate(settings)
    key = ""
    if "key" in frame:
        frame["key"] = key = key_instruction(summarize.split_sentences(body))
    frame_seconds = summarize.speech_seconds(prompt.render(body="", **frame), rate=rate)
    max_seconds = max(settings.script_seconds - frame_seconds, 10.0)
    min_seconds = script_fit.FILL_SHARE * settings.script_seconds - frame_seconds
    if model is None or model.backend == "extractive":
        summary = summarize.summarize(body, max_seconds=max_seconds, board_lines=settings.board_lines,
                                      rate=rate, keep=key, min_seconds=min_seconds,
                                      stretch_seconds=script_fit.STRETCH_SHARE * settings.script_seconds)
    else:
        summary = summarize.summarize_with(model, body, max_seconds=max_seconds, board_lines=settings.board_lines,
                                           max_new_tokens=settings.summary_max_tokens, rate=rate)
    if key and key not in summary.script:  # a generated summary, or a key too long for the slot
        frame["key"] = key_instruction(summarize.split_sentences(summary.script))
    return summary
