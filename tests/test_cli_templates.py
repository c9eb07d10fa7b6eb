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


# (--as user, target area, allowed): the CLI answers as the web does, because the services decide
CLI_MATRIX = [
    ("bien-tap-xa", "29377", True),  # an editor of Đa Lộc, for Đa Lộc
    ("bien-tap-xa", "29380", False),  # ... not for Mỹ Chánh in the same district
    ("bien-tap-tinh", "29380", True),  # the province's editor covers every commune of it
    ("duyet-tinh", "29377", False),  # approvers do not write drafts
]


def test_cli_matrix_for_draft_submit_and_template_use(home: Path) -> None:
    from domain.errors import Forbidden

    runner = CliRunner()
    with session() as s:
        users.add_user(s, username="bien-tap-xa", full_name="Biên tập xã", roles=[Role.EDITOR], area_code="29377")
    text = home / "lu.txt"
    text.write_text("Cảnh báo lũ\nNước sông dâng cao, bà con vùng trũng thấp di dời đến nơi an toàn ngay trong "
                    "chiều nay theo hướng dẫn của chính quyền xã.", encoding="utf-8")
    out = runner.invoke(app, ["template", "add", str(text), "--name", "lu", "--area", "84", "--as", "bien-tap-tinh"])
    tpl_id = int(out.output.split()[1])
    assert runner.invoke(app, ["template", "approve", str(tpl_id), "--as", "duyet-tinh"]).exit_code == 0
    wrong = []
    for user, area, allowed in CLI_MATRIX:
        for args in (["draft", "submit", str(text), "--area", area, "--as", user],
                     ["template", "use", str(tpl_id), "--area", area, "--as", user]):
            result = runner.invoke(app, args)
            got = result.exit_code == 0
            if got != allowed or (not allowed and not isinstance(result.exception, Forbidden)):
                wrong.append((args, result.exit_code, repr(result.exception)))
    assert wrong == []
    with session() as s:
        authors = sorted({r.author for r in drafts.list_drafts(s, limit=50)})
    assert authors == ["bien-tap-tinh", "bien-tap-xa"]
