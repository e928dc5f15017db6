from pathlib import Path

import pytest

from hotline.config import load_config, parse_config
from hotline.errors import ConfigError

KEY = {"channels": {"app": {"api_key": "k" * 20}}}


def test_defaults_use_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    config = parse_config({**KEY, "data_dir": str(tmp_path)}, env={})
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    assert config.server.port == 8080


def test_enabled_channel_without_secret_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match=r"channels\.app\.api_key: .*HOTLINE_APP_API_KEY"):
        parse_config({}, env={})


def test_disabling_both_channels_needs_no_secret() -> None:
    config = parse_config(
        {"channels": {"app": {"enabled": False}, "letters": {"enabled": False}}}, env={}
    )
    assert not config.channels.app.enabled


def test_environment_substitution_and_default() -> None:
    raw = {"channels": {"app": {"api_key": "${APP_KEY}"}}, "data_dir": "${DIR:-/srv/hotline}"}
    config = parse_config(raw, env={"APP_KEY": "secret-from-env"})
    assert config.channels.app.api_key == "secret-from-env"
    assert config.data_dir == Path("/srv/hotline")


def test_missing_environment_variable_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"channels\.app\.api_key: environment variable NOPE"):
        parse_config({"channels": {"app": {"api_key": "${NOPE}"}}}, env={})


def test_environment_overrides_the_file() -> None:
    env = {
        "HOTLINE_DATABASE_URL": "postgresql+asyncpg://h@db/hotline",
        "HOTLINE_DATA_DIR": "/var/lib/hotline",
        "HOTLINE_PORT": "9090",
    }
    config = parse_config({**KEY, "server": {"port": 1234}}, env=env)
    assert config.database_url == "postgresql+asyncpg://h@db/hotline"
    assert config.data_dir == Path("/var/lib/hotline")
    assert config.server.port == 9090


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"server": {"port": "eighty"}}, r"server\.port: "),
        ({"server": {"port": 70000}}, r"server\.port: .*65535"),
        ({"server": {"prot": 1}}, r"server\.prot: .*not permitted"),
        ({"logging": {"level": "LOUD"}}, r"logging\.level: "),
        ({"channels": {"wechat": {"max_hold_days": 0}}}, r"channels\.wechat\.max_hold_days: .*0"),
        ([1, 2], r"must be a mapping"),
    ],
)
def test_bad_values_name_the_key(raw: object, message: str) -> None:
    if isinstance(raw, dict):
        raw = {**KEY, **raw}
    with pytest.raises(ConfigError, match=message):
        parse_config(raw, env={})


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "config.yml"
    broken.write_text("server: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken, env={})
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(tmp_path / "absent.yml", env={})


def test_the_shipped_config_file_is_valid() -> None:
    path = Path(__file__).resolve().parents[1] / "config.yml"
    config = load_config(path, env={"HOTLINE_APP_API_KEY": "x" * 20})
    assert config.channels.app.api_key == "x" * 20
    assert config.intake.timezone == "Asia/Shanghai"


LINK_BASE = "https://12345.example.gov.cn"


@pytest.mark.parametrize("secret", ["", "too-short-0123456789"])
def test_a_rating_link_without_a_strong_secret_refuses_to_start(secret: str) -> None:
    raw = {**KEY, "callbacks": {"link": {"base_url": LINK_BASE, "secret": secret}}}
    with pytest.raises(
        ConfigError, match=r"^callbacks\.link\.secret: .*HOTLINE_RATING_LINK_SECRET"
    ):
        parse_config(raw, env={})


def shipped_with_link(tmp_path: Path) -> Path:
    """The shipped config.yml with the rating link switched on."""
    shipped = (Path(__file__).resolve().parents[1] / "config.yml").read_text(encoding="utf-8")
    assert '    base_url: ""             # the public URL citizens open' in shipped
    path = tmp_path / "config.yml"
    path.write_text(
        shipped.replace('    base_url: ""             #', f"    base_url: {LINK_BASE}  #"),
        encoding="utf-8",
    )
    return path


def test_the_rating_link_is_off_by_default_and_its_secret_comes_from_the_environment(
    tmp_path: Path,
) -> None:
    from hotline.callbacks.setup import links_of

    path = Path(__file__).resolve().parents[1] / "config.yml"
    assert links_of(load_config(path, env={"HOTLINE_APP_API_KEY": "x" * 20})) is None
    env = {"HOTLINE_APP_API_KEY": "x" * 20, "HOTLINE_RATING_LINK_SECRET": "s" * 43}
    links = links_of(load_config(shipped_with_link(tmp_path), env=env))
    assert links is not None
    assert (links.base_url, links.secret) == (LINK_BASE, b"s" * 43)
    assert "s" * 43 not in repr(links)


def test_serve_refuses_to_start_with_the_rating_link_on_and_no_secret(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hotline.cli.main import cli

    env = {
        "HOTLINE_APP_API_KEY": "x" * 20,
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_RATING_LINK_SECRET": None,  # unset, whatever the shell running the tests has
    }
    config = str(shipped_with_link(tmp_path))
    result = CliRunner().invoke(cli, ["--config", config, "serve"], env=env)
    assert result.exit_code == 1
    assert "configuration error: callbacks.link.secret: callbacks.link.base_url is set" in (
        result.output
    )
    assert not (tmp_path / "data").exists()  # stopped before touching anything
