"""``bantin template``: write, approve and use an emergency template through the real CLI."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from domain.approvals import Role
from services.runtime import session
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import areas, drafts, templates, users

pytestmark = pytest.mark.integration


@pytest.fixture
def home(bantin_env: Path) -> Path:
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        users.add_user(s, username="bien-tap-tinh", full_name="Biên tập tỉnh", roles=[Role.EDITOR], area_code="84")
        users.add_user(s, username="duyet-tinh", full_name="Duyệt tỉnh", roles=[Role.APPROVER], area_code="84")
        users.add_user(s, username="duyet-xa", full_name="Duyệt xã", roles=[Role.APPROVER], area_code="29377")
    return bantin_env


def test_template_from_writing_to_a_fast_emergency_draft(home: Path) -> None:
    runner = CliRunner()
    text = home / "bao.txt"
    text.write_text("Cảnh báo bão số 9\nBão số 9 đang tiến gần đất liền. Bà con khẩn trương gia cố nhà cửa, "
                    "neo đậu tàu thuyền và di dời đến nơi an toàn theo hướng dẫn của chính quyền.", encoding="utf-8")
    out = runner.invoke(app, ["template", "add", str(text), "--name", "bao-so-9", "--area", "84",
                              "--as", "bien-tap-tinh"])
    assert out.exit_code == 0, out.output
    tpl_id = int(out.output.split()[1])
    refused = runner.invoke(app, ["template", "approve", str(tpl_id), "--as", "duyet-xa"])
    assert refused.exit_code != 0 and "province approver" in str(refused.exception)
    unused = runner.invoke(app, ["template", "use", str(tpl_id), "--area", "29377", "--as", "bien-tap-tinh"])
    assert unused.exit_code != 0 and "not approved" in str(unused.exception)
    assert runner.invoke(app, ["template", "approve", str(tpl_id), "--as", "duyet-tinh"]).exit_code == 0
    assert "approved by duyet-tinh" in runner.invoke(app, ["template", "list"]).output
    used = runner.invoke(app, ["template", "use", str(tpl_id), "--area", "29377", "--as", "bien-tap-tinh"])
    assert used.exit_code == 0, used.output
    draft_id = int(used.output.split()[2])
    with session() as s:
        rev = drafts.latest_revision(s, draft_id)
        assert rev.content.priority.value == "khan_cap" and rev.content.title == "Cảnh báo bão số 9"
    outside = runner.invoke(app, ["template", "use", str(tpl_id), "--area", "08", "--as", "bien-tap-tinh"])
    assert outside.exit_code != 0 and "only inside area 84" in str(outside.exception)
    with session() as s:  # the draft is linked to the template: its package takes the fast path
        link = templates.link_of(s, draft_id)
        assert link is not None and link.template_id == tpl_id
