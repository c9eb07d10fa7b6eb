"""The warm worker (deployments/warm.py) against a real Prefect server: two produce runs taken from the
``production`` queue execute in the worker's own process, one after the other, and the models they use load
once. The worker runs in this test process, so the engines' loaders can be counted directly."""

import asyncio
import os
from pathlib import Path

import pytest

from domain.drafts import DraftContent
from domain.languages import parse_languages
from domain.packages import PackageStatus
from domain.priority import Priority
from services.runtime import session
from storage.repositories import drafts, packages
from tests.orchestration.stack import deployment_ids, pause, prefect_server, register, runs

pytestmark = [pytest.mark.flow, pytest.mark.integration, pytest.mark.slow]

BODIES = ("Trạm y tế xã tiêm vắc xin sởi cho trẻ em từ 9 đến 24 tháng tuổi vào sáng thứ Bảy. "
          "Phụ huynh mang theo sổ tiêm chủng và thẻ bảo hiểm y tế của trẻ.",
          "Điện lực huyện cắt điện để bảo dưỡng đường dây từ 7 giờ đến 11 giờ sáng Chủ nhật. "
          "Các hộ dân chủ động sắp xếp công việc và giữ an toàn khi điện được đóng lại.")


def test_two_produce_runs_in_one_warm_worker_load_the_models_once(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.warm import serve
    from engines import summarize, vi_tokenize
    from tasks.runs import start_deployment

    with prefect_server(tmp_path) as api:
        register(api, tmp_path)
        ids = deployment_ids(api)
        for name in ("due", "program", "reports"):  # only the two runs below reach the production queue
            pause(api, ids[name])
        monkeypatch.setenv("PREFECT_API_URL", api)
        draft_ids = []
        with session() as s:
            for n, body in enumerate(BODIES):
                rev = drafts.create_draft(s, content=DraftContent(
                    title=f"Thông báo {n + 1}", body=body, area_codes=("29377",), languages=parse_languages("vi"),
                    priority=Priority.THUONG), author="demo-editor")
                draft_ids.append(rev.draft_id)
        run_ids = [start_deployment("produce", {"draft_id": d}, username="demo-editor") for d in draft_ids]
        summarize._tokenizer.cache_clear()
        vi_tokenize._tokenizers.cache_clear()
        with temporary_settings({PREFECT_API_URL: api}):
            for _ in range(10):  # a limit of 1: each poll takes one run and waits for it (a busy server's
                asyncio.run(serve(1, run_once=True))  # failed poll is simply polled again)
                by_id = {r["id"]: r for r in runs(api, flow_runs={"id": {"any_": run_ids}})}
                if all(r["state_type"] in ("COMPLETED", "FAILED", "CRASHED") for r in by_id.values()):
                    break

    assert [by_id[i]["state_type"] for i in run_ids] == ["COMPLETED", "COMPLETED"]
    assert {by_id[i]["infrastructure_pid"] for i in run_ids} == {str(os.getpid())}  # no child process
    with session() as s:
        assert [[p.status for p in packages.packages_of_draft(s, d)] for d in draft_ids] == \
            [[PackageStatus.IN_REVIEW], [PackageStatus.IN_REVIEW]]
    # Each loader ran once for the two runs: the second run found the segmenter and tokenizer loaded.
    assert summarize._tokenizer.cache_info().misses == 1
    assert summarize._tokenizer.cache_info().hits >= 1
    assert vi_tokenize._tokenizers.cache_info().misses == 1
