"""UserStore (users.json) and `callbox passwd`."""

import io
import json
import stat

import pytest

from webui_helpers import FAST_HASHER
from firmware.webui.users import UserError, UserStore, passwd_command


def test_set_password_creates_user_and_verifies(empty_users):
    user = empty_users.set_password("anna", "long-password", "owner")
    assert user.is_owner and user.generation == 1
    assert empty_users.verify("anna", "long-password") == user
    assert empty_users.verify("anna", "wrong-password") is None
    assert empty_users.verify("nobody", "long-password") is None


def test_file_is_private_json_with_argon2_hashes(empty_users):
    empty_users.set_password("anna", "long-password", "staff", "101")
    mode = stat.S_IMODE(empty_users.path.stat().st_mode)
    assert mode == 0o600
    data = json.loads(empty_users.path.read_text())
    record = data["users"]["anna"]
    assert record["hash"].startswith("$argon2id$")
    assert "long-password" not in empty_users.path.read_text()
    assert record["role"] == "staff" and record["extension"] == "101"
    assert [p.name for p in empty_users.path.parent.iterdir() if p.name.startswith(".users")] == []


def test_password_change_bumps_generation_and_ends_sessions(empty_users):
    first = empty_users.set_password("anna", "long-password", "owner")
    assert empty_users.load_session_id(first.get_id()) == first
    second = empty_users.set_password("anna", "other-password", "owner")
    assert second.generation == 2
    assert empty_users.load_session_id(first.get_id()) is None
    assert empty_users.verify("anna", "long-password") is None   # no stale cache entry


def test_another_process_writing_is_seen(tmp_path):
    panel = UserStore(tmp_path, hasher=FAST_HASHER)
    assert not panel.has_users()
    UserStore(tmp_path, hasher=FAST_HASHER).set_password("anna", "long-password", "owner")
    assert panel.has_users() and panel.verify("anna", "long-password")


def test_a_path_to_users_json_works_too(tmp_path):
    store = UserStore(tmp_path / "users.json", hasher=FAST_HASHER)
    store.set_password("anna", "long-password", "owner")
    assert (tmp_path / "users.json").exists() and store.data_dir == tmp_path


@pytest.mark.parametrize("name, password, role, extension, field", [
    ("", "long-password", "owner", None, "user"),
    ("a b", "long-password", "owner", None, "user"),
    ("x" * 33, "long-password", "owner", None, "user"),
    ("anna", "short", "owner", None, "password"),
    ("anna", "x" * 201, "owner", None, "password"),
    ("anna", "long-password", "boss", None, "role"),
    ("anna", "long-password", "staff", None, "extension"),
    ("anna", "long-password", "staff", "1a", "extension"),
])
def test_bad_users_are_refused(empty_users, name, password, role, extension, field):
    with pytest.raises(UserError) as caught:
        empty_users.set_password(name, password, role, extension)
    assert caught.value.field == field
    assert not empty_users.has_users()


def test_first_run_setup_only_once(empty_users):
    empty_users.set_password("anna", "long-password", "owner", only_if_empty=True)
    with pytest.raises(UserError):
        empty_users.set_password("eve", "long-password", "owner", only_if_empty=True)
    assert [u.name for u in empty_users.all()] == ["anna"]


class Pipe(io.StringIO):
    def isatty(self):
        return False


def test_passwd_one_line(tmp_path, capsys):
    assert passwd_command(tmp_path, "anna", "owner", None, Pipe("long-password\n")) == 0
    assert UserStore(tmp_path).verify("anna", "long-password")
    assert "anna" in capsys.readouterr().out


def test_passwd_same_line_twice_and_staff(tmp_path):
    assert passwd_command(tmp_path, "sam", "staff", "101", Pipe("pass-word-1\npass-word-1\n")) == 0
    user = UserStore(tmp_path).get("sam")
    assert user.role == "staff" and user.extension == "101"


@pytest.mark.parametrize("text, role, extension, message", [
    ("pass-word-1\npass-word-2\n", "owner", None, "differ"),
    ("", "owner", None, "no password"),
    ("short\n", "owner", None, "at least 8"),
    ("pass-word-1\n", "staff", None, "extension"),
])
def test_passwd_errors_go_to_stderr(tmp_path, capsys, text, role, extension, message):
    assert passwd_command(tmp_path, "anna", role, extension, Pipe(text)) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "users.json").exists()


def test_passwd_bad_name(tmp_path, capsys):
    assert passwd_command(tmp_path, "../etc", "owner", None, Pipe("long-password\n")) == 1
    assert "user" in capsys.readouterr().err
