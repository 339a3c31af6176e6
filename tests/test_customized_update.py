"""A project its owner customized updates without a conflict, and stays green.

For each data type: the previous release (tests/versions.py: from this repository's git
history, or the working tree until a release has files of the user's) is copied without
--trust, committed, customized as tests/customizations.py scripts it (another architecture
with its own options, a callback, preprocessing fitted on the training split, a dependency,
a README section, files of the user's own) and committed; then `copier update` to the
working tree plus a scripted next release that changes every file of the template's,
without --trust. No conflict marker, no .rej file, every customization still as the user
left it and in effect (the user's own test, which the rendered suite runs, trains with
their options), every file of the template's updated, and the rendered suite green.

And the rule that makes it so: no release changes a file of the user's (copier.yml's
`_skip_if_exists` names them) but through a migration. `user_file_changes` compares a
release's rendering of those files with the working tree's, and fails here when they differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest

from tests import customizations, shared_modules
from tests.helpers import (
    choice_values,
    copy_version,
    is_users,
    read_answers,
    run_rendered_suite,
    run_ruff,
    tail,
    type_folder,
)
from tests.versions import (
    RELEASE_COMMITS,
    USER_FILES_SINCE,
    commit_all,
    conflicted_files,
    current_template,
    init_project_repo,
    project_files,
    release,
    release_from_history,
    replace_once,
    status,
    unmerged_paths,
    write_snapshot,
)

PACKAGE = "mine"
ANSWERS = {"project_name": "mine", "package_name": PACKAGE}
NEXT = "99.0.0"
# What the scripted next release puts at the top of every Python file of the template's.
NEXT_MARK = "# Changed by the next release.\n"
# And the lines it changes where the user's own lines sit right beside them.
SKLEARN = ('"scikit-learn>=1.4",  # the demo dataset', '"scikit-learn>=1.5",  # the demo dataset')
# The resume tests (by name) that stop train's processes with signals or full disks: what
# they check is how the template's machinery writes files and stops (two thirds of the
# resume tests' minutes), which the customizations do not touch, and which the covering
# set's suites check for every data type. A test renamed runs again: never fewer.
PROCESS_STOPS = ("sigkill", "ctrl_c_or_sigterm", "full_and_read_only_disks")
# Likewise the other tests marked resume outside tests/test_resume.py: the run lock, the note
# on changed code, the stop at a NaN loss and at a batch that fails (the template's own).
RUN_MACHINERY = ("holds_the_lock", "changed_code", "nan_loss", "fails_mid_epoch")
UPDATE_SENTENCE = "release changes and whether an update needs anything from you."
UPDATE_SENTENCE_NEXT = "release changes and whether an update asks anything of you."


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def previous_release() -> str | None:
    """The newest release with files of the user's, or None before there is one."""
    versions = [v for v in RELEASE_COMMITS if version_key(v) >= version_key(USER_FILES_SINCE)]
    return max(versions, key=version_key, default=None)


def template_python_files(repo: Path) -> list[Path]:
    """The template's own Python files in `repo` (rendered .py, the user's excluded)."""
    found = []
    for path in sorted((repo / "template").rglob("*")):
        name = path.name.removesuffix(".jinja")
        relative = path.relative_to(repo / "template").as_posix()
        if path.is_file() and name.endswith(".py") and "/custom/" not in f"/{relative}":
            found.append(path)
    return found


def make_next_release(repo: Path) -> None:
    """Turn a snapshot of the working tree into a next release that changes every Python
    file of the template's and the lines beside the user's own in pyproject.toml and the
    README: the update must carry all of it in, and leave every file of the user's alone."""
    for path in template_python_files(repo):
        text = path.read_text(encoding="utf-8")
        # An empty expression after the mark: a leading `{#-` or `{%-` would eat its newline.
        mark = NEXT_MARK + "{{ '' }}" if text.startswith("{") else NEXT_MARK
        path.write_text(mark + text, encoding="utf-8")
    replace_once(repo / "template" / "pyproject.toml.jinja", *SKLEARN)
    replace_once(repo / "template" / "README.md.jinja", UPDATE_SENTENCE, UPDATE_SENTENCE_NEXT)


@pytest.fixture(scope="module")
def template(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A template repository: the previous release, then NEXT (working tree + next release)."""
    repo = tmp_path_factory.mktemp("template") / "repo"
    previous = previous_release()
    if previous is None:
        # Before the first release with files of the user's: the working tree stands for it.
        previous = USER_FILES_SINCE
        current_template(repo, previous)
    else:
        release_from_history(repo, previous)
    write_snapshot(repo)
    make_next_release(repo)
    return release(repo, NEXT), previous


@dataclass(frozen=True)
class Updated:
    project: Path
    data_type: str
    before: dict[str, bytes]  # every file of the customized project, as committed
    customized: customizations.Customized


def copy_and_update(template: Path, previous: str, dest: Path, data_type: str) -> Updated:
    copy_version(template, dest, previous, **ANSWERS, data_type=data_type)
    init_project_repo(dest)
    customized = customizations.customize(dest, PACKAGE, data_type)
    commit_all(dest, "My changes")
    before = project_files(dest)
    copier.run_update(
        str(dest), defaults=True, overwrite=True, vcs_ref=NEXT, unsafe=False, quiet=True
    )
    return Updated(dest, data_type, before, customized)


@pytest.fixture(scope="module", params=choice_values("data_type"))
def updated(
    request: pytest.FixtureRequest,
    template: tuple[Path, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Updated:
    repo, previous = template
    dest = tmp_path_factory.mktemp(request.param) / "project"
    return copy_and_update(repo, previous, dest, request.param)


def test_the_update_arrives_without_a_conflict(updated: Updated) -> None:
    assert read_answers(updated.project)["_commit"] == NEXT
    assert conflicted_files(updated.project) == []
    assert unmerged_paths(updated.project) == []
    assert not [line for line in status(updated.project).splitlines() if line.endswith(".rej")]


def test_every_file_of_the_users_is_as_they_left_it(updated: Updated) -> None:
    after = project_files(updated.project)
    for name, text in updated.customized.files.items():
        assert after[name].decode() == text, name
    users = [name for name in updated.before if is_users(name)]
    assert len(users) >= 6, users
    for name in users:
        assert after[name] == updated.before[name], f"the update changed {name}, the user's"


def test_every_file_of_the_templates_took_the_release(updated: Updated) -> None:
    """Each Python file of the template's now starts with the next release's mark."""
    after = project_files(updated.project)
    python = [name for name in after if name.endswith(".py") and not is_users(name)]
    assert len(python) > 20
    unchanged = [name for name in python if not after[name].decode().startswith(NEXT_MARK)]
    assert unchanged == []


def test_lines_beside_the_users_took_the_release_and_kept_theirs(updated: Updated) -> None:
    pyproject = (updated.project / "pyproject.toml").read_text(encoding="utf-8")
    assert SKLEARN[1] in pyproject and SKLEARN[0] not in pyproject
    marker_line = pyproject.index(customizations.DEPENDENCY_MARKER)
    assert pyproject[pyproject.index("\n", marker_line) + 1 :].startswith(
        customizations.DEPENDENCY + "]\n"
    )
    readme = (updated.project / "README.md").read_text(encoding="utf-8")
    assert UPDATE_SENTENCE_NEXT in readme
    assert readme.endswith(customizations.README_MARKER + customizations.README_SECTION)


@pytest.mark.slow
def test_the_updated_project_passes_its_own_checks(updated: Updated) -> None:
    """The rendered suite, the user's own test of their changes among it (tests/custom/):
    their options, callback and preprocessing reach a run. Tests marked resume and
    distributed run in the covering set's suites (test_covering_set.py) for every data type;
    here the arrays project runs those marked resume too, with the user's callback kept
    across a resume, less those that stop train's processes by signals or full disks
    (PROCESS_STOPS) and the other machinery (RUN_MACHINERY). The shared test modules that
    depend on no file of the user's run in the covering suites, not here."""
    lint = run_ruff(updated.project, "check")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    array = updated.data_type == "array"
    done = run_rendered_suite(
        updated.project,
        ignore=shared_modules.unreached_by_the_user(updated.project),
        resume=array,
        distributed=False,
        keyword=f"not ({' or '.join(PROCESS_STOPS + RUN_MACHINERY)})" if array else None,
    )
    output = f"--- stdout (tail)\n{tail(done.stdout)}\n--- stderr (tail)\n{tail(done.stderr, 30)}"
    assert done.returncode == 0, f"the updated project's suite failed\n{output}"
    assert " passed" in done.stdout, output


# --- no release changes a file of the user's -----------------------------------------------


def user_files(template: Path, version: str, dest: Path, data_type: str) -> dict[str, bytes]:
    """The files of the user's that `version` of `template` renders for `data_type`."""
    copy_version(template, dest, version, **ANSWERS, data_type=data_type)
    return {name: data for name, data in project_files(dest).items() if is_users(name)}


def user_file_changes(
    old: Path, old_version: str, new: Path, new_version: str, work: Path
) -> list[str]:
    """Each file of the user's that the two versions render differently, for any data type."""
    changes = []
    for data_type in choice_values("data_type"):
        before = user_files(old, old_version, work / f"{data_type}-old", data_type)
        after = user_files(new, new_version, work / f"{data_type}-new", data_type)
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                changes.append(f"{data_type}: {name}")
    return changes


def test_no_file_of_the_users_changed_since_the_previous_release(
    home: Path, tmp_path: Path
) -> None:
    """A release may change a file of the user's only with a migration that carries their
    edits over and a CHANGELOG line that says so, and then this test names the change."""
    previous = previous_release()
    if previous is None:
        pytest.skip(f"no release with files of the user's yet ({USER_FILES_SINCE} is the first)")
    old = release_from_history(tmp_path / "old", previous)
    new = current_template(tmp_path / "new", NEXT)
    assert user_file_changes(old, previous, new, NEXT, tmp_path / "rendered") == []


def test_a_release_that_changes_a_file_of_the_users_is_caught(home: Path, tmp_path: Path) -> None:
    old = current_template(tmp_path / "old", "1.0.0")
    new = current_template(tmp_path / "new", "1.0.0")
    model = new / "template" / type_folder("images") / "src" / "{{package_name}}" / "custom"
    replace_once(model / "model.py", "MAX_FILTERS = 64", "MAX_FILTERS = 96")
    release(new, "1.1.0")
    changes = user_file_changes(old, "1.0.0", new, "1.1.0", tmp_path / "rendered")
    assert changes == [f"images: src/{PACKAGE}/custom/model.py"]


def test_the_readme_table_of_the_users_files_is_copier_s(default_project: Path) -> None:
    """The rendered README's table of the user's files names what `_skip_if_exists` keeps."""
    readme = (default_project / "README.md").read_text(encoding="utf-8")
    table = readme.split("| yours | what you change there |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE))
    package = read_answers(default_project)["package_name"]
    # custom/__init__.py says what the folder is: nothing to change there.
    files = {
        name
        for name in project_files(default_project)
        if is_users(name) and not name.endswith("custom/__init__.py")
    }
    folders = {name.rsplit("/", 1)[0] + "/" for name in files if name.startswith("tests/")}
    expected = {name for name in files if not name.startswith("tests/")} | folders
    assert listed == expected, (listed, expected)
    assert all(f"src/{package}/custom/" in name or name == "tests/custom/" for name in listed)
