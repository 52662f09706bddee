"""The test tiers: a module without a tier marker fails collection; `gpu` tests skip without CUDA."""

from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace

import pytest

pytestmark = pytest.mark.unit

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
markers =
    unit: in-process
    integration: real processes
    e2e: chimera up
    gpu: needs a CUDA device
"""
UNIT = "import pytest\npytestmark = pytest.mark.unit\ndef test_unit(): pass\n"
INTEGRATION = "import pytest\npytestmark = pytest.mark.integration\ndef test_integration(): pass\n"
BARE = "def test_bare(): pass\n"
GPU = "import pytest\npytestmark = [pytest.mark.unit, pytest.mark.gpu]\ndef test_gpu(): pass\n"


@pytest.fixture
def root_conftest(request: pytest.FixtureRequest) -> ModuleType:
    """The repository's root conftest, which holds the marker hooks, to load into inner runs."""
    plugin = request.config.pluginmanager.get_plugin(str(request.config.rootpath / "conftest.py"))
    assert isinstance(plugin, ModuleType)
    return plugin


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


@pytest.mark.parametrize("args", [(), ("-m", "unit")], ids=["all", "only-unit"])
def test_a_module_without_a_tier_fails_collection_by_name(
    project: pytest.Pytester, root_conftest: ModuleType, args: tuple[str, ...]
) -> None:
    project.makepyfile(test_bare=BARE, test_tiered=UNIT)
    result = project.runpytest_inprocess(*args, plugins=[root_conftest])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: tests without a tier marker*: test_bare.py"])


def test_tiered_modules_collect_and_select_by_tier(
    project: pytest.Pytester, root_conftest: ModuleType
) -> None:
    project.makepyfile(test_unit=UNIT, test_integration=INTEGRATION)
    result = project.runpytest_inprocess("-m", "unit", plugins=[root_conftest])
    result.assert_outcomes(passed=1, deselected=1)


def test_gpu_tests_skip_with_the_reason_when_torch_is_missing(
    project: pytest.Pytester, root_conftest: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    project.makepyfile(test_gpu=GPU)
    result = project.runpytest_inprocess("-rs", plugins=[root_conftest])
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*needs a CUDA device*"])


@pytest.mark.parametrize(("available", "outcome"), [(False, "skipped"), (True, "passed")])
def test_gpu_tests_run_only_where_torch_sees_cuda(
    project: pytest.Pytester,
    root_conftest: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    available: bool,
    outcome: str,
) -> None:
    torch = SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: available))
    monkeypatch.setitem(sys.modules, "torch", torch)
    project.makepyfile(test_gpu=GPU)
    result = project.runpytest_inprocess(plugins=[root_conftest])
    result.assert_outcomes(**{outcome: 1})
