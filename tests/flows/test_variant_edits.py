"""A person corrects a produced variant (text) or reads it (voice): only that variant is made again, the
package gets a new manifest that needs a new approval, and refusals leave everything as it was."""

import subprocess
from pathlib import Path

import pytest

from domain.approvals import Role
from domain.errors import ApprovalRefused, InvalidInput, NotFound
from domain.packages import AssetKind
from domain.users import Membership
from services import approvals
from services import variant_edits as edits
from services.runtime import object_store, session
from storage.repositories import audit, packages, users
from tests.flows.test_main_path import app, produce, submit, view  # noqa: F401 - fixture and helpers

pytestmark = [pytest.mark.flow, pytest.mark.integration]

SCRIPT = ("Kính thưa bà con nhân dân! UBND xã Đa Lộc thông báo: trạm y tế xã tiêm vắc xin sởi miễn phí cho trẻ "
          "từ 1 đến 5 tuổi, từ ngày 5 đến ngày 7 tháng 12 năm 2026. Trân trọng thông báo!")
BOARD = "Tiêm vắc xin sởi miễn phí cho trẻ 1-5 tuổi, ngày 5-7/12/2026, tại trạm y tế xã."


def revise(package_id: int, language: str) -> int:
    from flows.revise import revise_variant

    return revise_variant(package_id, language)


def assets(package_id: int, language: str) -> dict[str, dict]:
    v = next(x for x in view(package_id)["variants"] if x["language"] == language)
    return {f"{a['kind']}{a['meta'].get('page', '')}": a for a in v["assets"]}


def edit(package_id: int, script: str = SCRIPT, board: str = BOARD, who: str = "demo-editor") -> edits.Revision:
    with session() as s:
        return edits.edit_text(s, object_store(), edits.TextEdit(package_id, "vi", script, board, who))


def tone(path: Path, *, seconds: float, volume: float, codec: str = "libopus") -> Path:
    """A speech-like modulated tone over noise at ``volume`` (0 is digital silence, 40 clips), encoded as the
    phones' browsers do: WebM/Opus (Android Chrome) or MP4/AAC (iOS Safari)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}",
                    "-f", "lavfi", "-i", f"anoisesrc=color=pink:duration={seconds}:amplitude=0.02",
                    "-filter_complex", f"[0][1]amix=inputs=2,volume='{volume}*(0.6+0.4*sin(2*PI*3*t))':eval=frame",
                    "-ar", "48000", "-ac", "1", "-c:a", codec, str(path)], check=True)
    return path


def test_an_edit_respeaks_only_its_variant_and_needs_a_new_approval(app: Path) -> None:  # noqa: F811
    first = produce(submit("vi"))
    before = view(first)
    with session() as s:
        approvals.approve_package(s, package_id=first, username="demo-approver")
        assert packages.get_package(s, first).status == "approved"

    long_board = "\n".join([BOARD] * 8)
    r = edit(first, board=long_board)
    assert r.budget is not None and r.budget.board_over and r.budget.board_lines == 16
    assert not r.budget.script_over
    assert revise(r.package_id, "vi") == r.package_id
    after = view(r.package_id)
    assert [run["flow"] for run in after["flow_runs"]] == ["revise"]
    assert revise(r.package_id, "vi") == r.package_id and view(r.package_id) == after  # a second run: no change
    assert view(first)["status"] == "superseded"
    assert after["status"] == "in_review" and after["manifest_hash"] != before["manifest_hash"]
    a = assets(r.package_id, "vi")
    store = object_store()
    assert store.get_bytes(a["script"]["key"]).decode() == SCRIPT
    assert store.get_bytes(a["board_text"]["key"]).decode() == long_board  # over budget, not cut
    assert a["board_text"]["meta"]["board_over_budget"] is True
    spoken = store.get_bytes(a["speech_text"]["key"]).decode()
    assert "Ủy ban nhân dân xã Đa Lộc" in spoken and "năm hai nghìn không trăm hai mươi sáu" in spoken
    old_audio = assets(first, "vi")["audio"]
    assert a["audio"]["key"] != old_audio["key"] and a["audio"]["meta"]["synthetic"] is True
    assert abs(a["audio"]["meta"]["output_i"] - (-16.0)) <= 0.5
    assert len([k for k in a if k.startswith("slide")]) >= 2  # sixteen lines need more than one slide
    with session() as s:
        assert approvals.approval_state(s, r.package_id).approved_by == ()  # the old approval does not carry
        entry = [e for e in audit.entries(s, entity="package", entity_id=r.package_id)
                 if e.action == "variant.text_edited"][-1]
        assert entry.actor == "demo-editor"
        assert "+Tiêm vắc xin sởi miễn phí" in entry.detail["diff"] and "-" in entry.detail["diff"]
        assert entry.detail["board_over_budget"] is True
        approvals.approve_package(s, package_id=r.package_id, username="demo-approver")


def test_a_rerun_of_production_keeps_the_edit(app: Path) -> None:  # noqa: F811
    draft_id = submit("vi")
    first = produce(draft_id)
    r = edit(first)
    with session() as s:  # the revise run crashed before the end: production resumes it
        packages.get_package(s, r.package_id).status = "failed"
    assert produce(draft_id) == r.package_id
    assert object_store().get_bytes(assets(r.package_id, "vi")["script"]["key"]).decode() == SCRIPT


def test_edits_are_refused_with_a_reason_and_change_nothing(app: Path) -> None:  # noqa: F811
    with session() as s:
        users.add_user(s, username="km-only", full_name="Dịch giả tiếng Khmer", password="dich-khmer-2026",
                       memberships=[Membership(Role.TRANSLATOR, "84", language="km")])
    first = produce(submit("vi,km"))
    with pytest.raises(InvalidInput, match="both"):
        edit(first, board="  ")
    with pytest.raises(InvalidInput, match="nothing was changed"):
        with session() as s:
            script, board = edits.current_texts(s, object_store(), first, "vi")
        edit(first, script=script, board=board)
    with pytest.raises(ApprovalRefused, match="may not change"):
        edit(first, who="km-only")
    with session() as s, pytest.raises(ApprovalRefused, match="no text yet"):
        edits.edit_text(s, object_store(), edits.TextEdit(first, "km", SCRIPT, BOARD, "demo-editor"))
    with session() as s, pytest.raises(NotFound):
        edits.edit_text(s, object_store(), edits.TextEdit(first, "ede", SCRIPT, BOARD, "demo-editor"))
    assert view(first)["status"] == "in_review"
    with session() as s:
        pkg = packages.get_package(s, first)
        pkg.status = "published"
    with pytest.raises(ApprovalRefused, match="'published'; it can be changed only"):
        edit(first)
    with session() as s:
        assert len(packages.packages_of_draft(s, packages.get_package(s, first).draft_id)) == 1


def test_an_approver_may_correct_before_approving_but_another_approves(app: Path) -> None:  # noqa: F811
    with session() as s:
        users.add_user(s, username="duyet-2", full_name="Người duyệt 2", roles=[Role.APPROVER], area_code="84",
                       password="duyet-hai-2026")
    first = produce(submit("vi"))
    r = edit(first, who="demo-approver")
    revise(r.package_id, "vi")
    with session() as s, pytest.raises(ApprovalRefused):
        approvals.approve_package(s, package_id=r.package_id, username="demo-approver")
    with session() as s:
        approvals.approve_package(s, package_id=r.package_id, username="duyet-2")


def test_a_persons_voice_replaces_the_synthetic_one_and_bad_takes_are_refused(app: Path, tmp_path: Path) -> None:  # noqa: F811
    first = produce(submit("vi"))
    kept = assets(first, "vi")["audio"]
    for path, reason in ((tone(tmp_path / "silent.webm", seconds=6, volume=0), "silent"),
                         (tone(tmp_path / "long.webm", seconds=400, volume=3), "at most"),
                         (tone(tmp_path / "loud.webm", seconds=6, volume=40), "clipped")):
        with session() as s, pytest.raises(InvalidInput, match=reason):
            edits.record_voice(s, object_store(), edits.VoiceRecording(first, "vi", path, "demo-editor"))
    assert view(first)["status"] == "in_review" and assets(first, "vi")["audio"] == kept  # nothing lost
    with session() as s:
        r = edits.record_voice(s, object_store(), edits.VoiceRecording(
            first, "vi", tone(tmp_path / "take.m4a", seconds=8, volume=3, codec="aac"), "demo-editor"))
    revise(r.package_id, "vi")
    a = assets(r.package_id, "vi")
    assert a["audio"]["meta"]["synthetic"] is False and 7.5 < a["audio"]["meta"]["duration_s"] < 8.5
    assert abs(a["audio"]["meta"]["output_i"] - (-16.0)) <= 0.5
    assert a["script"]["key"] == assets(first, "vi")["script"]["key"]  # the text is unchanged
    with session() as s:
        raw = packages.get_asset(s, package_id=r.package_id, language="vi", kind=AssetKind.RAW_SPEECH)
        assert raw is not None and raw.meta["recorded_by"] == "demo-editor"

    # The words change after the take: the new words are spoken by the machine again, not the old take.
    r2 = edit(r.package_id)
    revise(r2.package_id, "vi")
    assert assets(r2.package_id, "vi")["audio"]["meta"]["synthetic"] is True


def test_the_cli_edits_and_records_a_variant_and_says_when_it_is_off_its_slot(app: Path, tmp_path: Path) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from cli.main import app as cli

    first = produce(submit("vi"))
    long_script = " ".join(["Bà con chú ý nghe thông báo của Ủy ban nhân dân xã Đa Lộc."] * 20)  # about 90 s
    (tmp_path / "script.txt").write_text(long_script, encoding="utf-8")
    out = CliRunner().invoke(cli, ["package", "edit", str(first), "--lang", "vi", "--script-file",
                                   str(tmp_path / "script.txt"), "--as", "demo-editor"])
    assert out.exit_code == 0, out.output
    assert "OVER BUDGET (kept as written)" in out.output and "needs a new approval" in out.output
    edited = int(out.output.split("package ", 1)[1].split(" ", 1)[0])
    assert view(edited)["status"] == "in_review"
    assert object_store().get_bytes(assets(edited, "vi")["script"]["key"]).decode() == long_script  # not cut
    warning = next(v for v in view(edited)["variants"] if v["language"] == "vi")["length_warning"]
    assert warning["code"] == "long" and warning["seconds"] > 66 and warning["whole"] is False
    shown = CliRunner().invoke(cli, ["package", "show", str(edited)])
    assert "over its 60 s slot. Shorten the script. / Bản tin đọc hết" in shown.output

    take = tone(tmp_path / "take.m4a", seconds=8, volume=3, codec="aac")
    out = CliRunner().invoke(cli, ["package", "record", str(edited), "--lang", "vi", "--file", str(take),
                                   "--as", "demo-editor"])
    assert out.exit_code == 0, out.output
    recorded = int(out.output.split("package ", 1)[1].split(" ", 1)[0])
    assert recorded != edited and view(recorded)["status"] == "in_review"
    assert assets(recorded, "vi")["audio"]["meta"]["synthetic"] is False
    warning = next(v for v in view(recorded)["variants"] if v["language"] == "vi")["length_warning"]
    assert warning["code"] == "short" and warning["whole"] is False  # a person read 8 s of a 60 s slot
